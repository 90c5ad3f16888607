"""Checks that a payload can be written as JSON, naming the offending field.

Two flavours:

- **strict** (``fit.json``, ``eval.json``, ``run_summary.json``, capsa
  manifests): what capsa's ``json`` format writes; NaN and infinity are
  refused, as JSON has no such numbers.
- **seed** (runs inventories): what Python's :mod:`json` writes, which the
  seed's readers parse; NaN and infinity are allowed (``NaN``,
  ``Infinity``), because :func:`~capsa_dimred.build_record` fills missing
  metrics with nan by design.

Both accept ``dict`` (string keys only), ``list``, ``tuple``, ``str``,
``int``, ``float``, ``bool``, ``None`` and numpy scalars and arrays (stored
as numbers and nested lists). Anything else raises
:class:`~capsa.errors.ValidationError` naming its path, e.g.
``fit_payload.config.callback``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from capsa.errors import ValidationError

_SCALARS = (str, int, bool, type(None))


def _is_numpy(value: object) -> bool:
    return type(value).__module__ == "numpy"


def to_plain(value: Any) -> Any:
    """Return ``value`` with numpy scalars and arrays turned into Python values (no checks)."""
    if _is_numpy(value):
        if hasattr(value, "tolist"):
            return value.tolist()
        return value.item()
    if isinstance(value, Mapping):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    return value


def check_json(value: Any, where: str, *, allow_nonfinite: bool = False) -> None:
    """Raise :class:`ValidationError` at the first part of ``value`` JSON cannot hold.

    :param where: the name of the value for messages (``"fit_payload"``).
    :param allow_nonfinite: accept NaN and infinity (seed-format inventories).
    """
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, float):
            if not allow_nonfinite and not math.isfinite(item):
                raise ValidationError(
                    f"{path} is {item!r}: JSON cannot hold NaN or infinity "
                    "(use None for a missing value)"
                )
        elif isinstance(item, _SCALARS):
            continue
        elif isinstance(item, Mapping):
            for key, sub in item.items():
                if not isinstance(key, str):
                    raise ValidationError(
                        f"{path} has the key {key!r} of type {type(key).__name__}; "
                        "JSON object keys must be strings"
                    )
                stack.append((sub, f"{path}.{key}"))
        elif isinstance(item, list | tuple):
            stack.extend((sub, f"{path}[{i}]") for i, sub in enumerate(item))
        elif _is_numpy(item) and hasattr(item, "dtype"):
            if item.dtype.hasobject or item.dtype.kind not in "biufU":
                raise ValidationError(
                    f"{path} is a numpy value of dtype {item.dtype}, which JSON cannot hold"
                )
            stack.append((to_plain(item), path))
        else:
            raise ValidationError(
                f"{path} is a {type(item).__module__}.{type(item).__qualname__}, "
                "which is not JSON-serialisable (use dict, list, str, int, float, bool or None)"
            )


def check_mapping(value: object, where: str) -> Mapping[str, Any]:
    """Return ``value`` when it is a mapping; raise :class:`ValidationError` naming it."""
    if not isinstance(value, Mapping):
        raise ValidationError(f"{where} must be a dict, got {type(value).__name__}")
    return value
