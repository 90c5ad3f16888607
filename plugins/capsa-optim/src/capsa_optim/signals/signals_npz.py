"""``signals.npz``: one self-contained file of signals.

Each signal is an array keyed by its fully-qualified name, whose unit is
part of the name by convention (``binary.x_error_uas``). Steps, when a
signal has its own, are stored under ``<name>@steps``. One extra key,
:data:`META_KEY`, holds a JSON string (a 0-d unicode array) with the schema
name and version and, per signal, unit, scale, labels, kind, panel and
source. ``numpy.load`` reads it all::

    import json, numpy as np
    with np.load("signals.npz") as f:
        meta = json.loads(str(f["_signals_meta"]))
        x_err = f["binary.x_error_uas"]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from capsa.errors import IncompatibleVersionError, IntegrityError
from capsa_optim.signals.signal import OptimSignal, check_signals

META_KEY = "_signals_meta"
"""The npz key of the embedded JSON metadata."""

STEPS_SUFFIX = "@steps"
"""Suffix of the key holding a signal's own steps."""

SIGNALS_SCHEMA = "capsa.optim.signals"
"""Schema name written in the embedded metadata."""

SIGNALS_SCHEMA_VERSION = 1
"""Schema version written in the embedded metadata."""


def encode_signals(signals: Mapping[str, Any]) -> dict[str, Any]:
    """The arrays of ``signals.npz`` for a mapping of name to Signal (checked first)."""
    import numpy as np

    checked = check_signals(signals)
    arrays: dict[str, Any] = {}
    described: dict[str, Any] = {}
    for name, sig in checked.items():
        arrays[name] = sig.values
        if sig.steps is not None:
            arrays[name + STEPS_SUFFIX] = np.asarray(sig.steps, dtype=np.int64)
        described[name] = {
            "unit": sig.unit,
            "scale": sig.scale,
            "labels": list(sig.labels),
            "kind": sig.kind,
            "panel": sig.panel,
            "source": sig.source,
            "has_steps": sig.steps is not None,
        }
    doc = {
        "schema": SIGNALS_SCHEMA,
        "schema_version": SIGNALS_SCHEMA_VERSION,
        "signals": described,
    }
    arrays[META_KEY] = np.array(msgspec.json.encode(doc).decode("utf-8"))
    return arrays


class _Described(msgspec.Struct):
    unit: str = "1"
    scale: float = 1.0
    labels: list[str] = msgspec.field(default_factory=list)
    kind: str = "scalar"
    panel: str | None = None
    source: str | None = None
    has_steps: bool = False


class _SignalsDoc(msgspec.Struct):
    schema: str
    schema_version: int
    signals: dict[str, _Described]


def decode_signals(
    arrays: Mapping[str, Any], *, where: str = "signals.npz"
) -> dict[str, OptimSignal]:
    """Read signals back from the arrays of a ``signals.npz`` (lazy mappings welcome).

    A file without the metadata key (written by other code) still loads:
    every array becomes a signal whose unit is guessed from its name.
    """
    import numpy as np

    from capsa_optim.signals.units import split_unit

    if META_KEY not in arrays:
        out: dict[str, OptimSignal] = {}
        for name in arrays:
            if name.endswith(STEPS_SUFFIX):
                continue
            values = np.asarray(arrays[name])
            steps_key = name + STEPS_SUFFIX
            out[name] = OptimSignal(
                values=values,
                unit=split_unit(name)[1],
                steps=np.asarray(arrays[steps_key]) if steps_key in arrays else None,
                kind="components" if values.ndim == 2 else "scalar",
            )
        return out
    try:
        doc = msgspec.json.decode(str(np.asarray(arrays[META_KEY])), type=_SignalsDoc)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise IntegrityError(f"{where}: the embedded metadata is not valid: {exc}") from None
    if doc.schema != SIGNALS_SCHEMA:
        raise IntegrityError(f"{where}: metadata schema {doc.schema!r} is not {SIGNALS_SCHEMA!r}")
    if doc.schema_version > SIGNALS_SCHEMA_VERSION:
        raise IncompatibleVersionError(
            f"{where} is signals schema version {doc.schema_version}, newer than this "
            f"capsa-optim reads ({SIGNALS_SCHEMA_VERSION}); upgrade capsa-optim"
        )
    result: dict[str, OptimSignal] = {}
    for name, desc in doc.signals.items():
        if name not in arrays:
            raise IntegrityError(f"{where}: metadata lists signal {name!r} but no array holds it")
        steps = None
        if desc.has_steps:
            if name + STEPS_SUFFIX not in arrays:
                raise IntegrityError(f"{where}: steps of signal {name!r} are missing")
            steps = np.asarray(arrays[name + STEPS_SUFFIX])
        result[name] = OptimSignal(
            values=np.asarray(arrays[name]),
            unit=desc.unit,
            panel=desc.panel,
            steps=steps,
            scale=desc.scale,
            labels=tuple(desc.labels),
            kind=desc.kind,
            source=desc.source,
        )
    return result
