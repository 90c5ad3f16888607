"""The signal type capsa-optim produces.

The core :class:`~capsa.estimators.Signal` plus the presentation facts plotting
needs (scale, component labels, kind).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from capsa.errors import ValidationError
from capsa.estimators import Signal

SIGNAL_KINDS = ("scalar", "components", "norm", "rms", "error_vs_truth")
"""What a series is: one scalar, the components of a vector, a norm or RMS
summary of a vector, or an error against a true value."""


@dataclass(frozen=True)
class OptimSignal(Signal):
    """A :class:`capsa.estimators.Signal` with presentation metadata.

    :ivar scale: factor already applied to the values (``1e6`` for as -> µas).
    :ivar labels: one label per component for ``(T, k)`` values.
    :ivar kind: one of :data:`SIGNAL_KINDS`.
    :ivar source: what it was derived from (IndexMap entry, trace channel).
    """

    scale: float = 1.0
    labels: tuple[str, ...] = ()
    kind: str = "scalar"
    source: str | None = None


def check_signal_name(name: Any) -> str:
    r"""A signal name: no ``/``, ``\``, ``@`` or NUL, not starting with ``_`` or ``.``."""
    if not isinstance(name, str) or not name or name.startswith(("_", ".")):
        raise ValidationError(
            f"signal names must be non-empty str not starting with '_' or '.', got {name!r}"
        )
    if any(c in name for c in "/\\@\x00"):
        raise ValidationError(f"signal name {name!r} must not contain '/', '\\', '@' or NUL")
    return name


def as_optim_signal(name: str, signal: Any) -> OptimSignal:
    """Check one signal (any core ``Signal``) and return it as an :class:`OptimSignal`.

    :raises ValidationError: values not numeric of shape (T,) or (T, k),
        steps not aligned, labels not matching k, unknown kind.
    """
    import numpy as np

    check_signal_name(name)
    if not isinstance(signal, Signal):
        raise ValidationError(
            f"signal {name!r} must be a capsa.estimators.Signal, got {type(signal).__name__}"
        )
    values = np.asarray(signal.values)
    if values.dtype.hasobject or values.dtype.kind not in "biuf" or values.ndim not in (1, 2):
        raise ValidationError(
            f"signal {name!r}: values must be real numbers of shape (T,) or (T, k), got "
            f"shape {values.shape} dtype {values.dtype}"
        )
    steps = None if signal.steps is None else np.asarray(signal.steps)
    if steps is not None and (steps.shape != values.shape[:1] or steps.dtype.kind not in "iu"):
        raise ValidationError(
            f"signal {name!r}: steps must be integers of shape {values.shape[:1]}, got "
            f"shape {steps.shape} dtype {steps.dtype}"
        )
    if not isinstance(signal.unit, str):
        raise ValidationError(f"signal {name!r}: unit must be a str, got {signal.unit!r}")
    if isinstance(signal, OptimSignal):
        if signal.kind not in SIGNAL_KINDS:
            raise ValidationError(
                f"signal {name!r}: kind must be one of {list(SIGNAL_KINDS)}, got {signal.kind!r}"
            )
        if signal.labels and (values.ndim != 2 or len(signal.labels) != values.shape[1]):
            raise ValidationError(
                f"signal {name!r}: {len(signal.labels)} labels for values of shape {values.shape}"
            )
        if not np.isfinite(signal.scale):
            raise ValidationError(f"signal {name!r}: scale must be finite, got {signal.scale}")
        return OptimSignal(
            values=values,
            unit=signal.unit,
            panel=signal.panel,
            steps=steps,
            scale=float(signal.scale),
            labels=tuple(signal.labels),
            kind=signal.kind,
            source=signal.source,
        )
    return OptimSignal(
        values=values,
        unit=signal.unit,
        panel=signal.panel,
        steps=steps,
        kind="components" if values.ndim == 2 else "scalar",
    )


def check_signals(signals: Mapping[str, Any]) -> dict[str, OptimSignal]:
    """Check a mapping of signal name to Signal; return them as :class:`OptimSignal`."""
    if not isinstance(signals, Mapping):
        raise ValidationError(
            f"signals must be a mapping of name to Signal, got {type(signals).__name__}"
        )
    return {name: as_optim_signal(name, sig) for name, sig in signals.items()}
