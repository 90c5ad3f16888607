"""The trace: what the optimizer directly produces, step by step.

Required: ``loss`` (T,) and ``theta`` (T, D). Optional generic channels:
``grad_norm``, ``step_norm``, ``base_lr`` (T,), ``accepted`` (T,) bool and
``step`` (T,) int (the optimizer step of each row when not every step is
logged; row ``t`` is step ``t`` otherwise). Any other channel is allowed if
its first axis has length T. The trace holds no parameter names: the θ
layout lives in ``meta.json`` (:class:`~capsa_optim.IndexMap`).

A :class:`Trace` is a read-only mapping of channel name to array. One
returned by :func:`capsa_optim.load_trace` is lazy: each channel is read on
first access, and for long (Zarr) traces ``trace.theta[:, k]`` reads only
the chunks holding column ``k``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from capsa.errors import ValidationError

REQUIRED = ("loss", "theta")
"""Channels every trace has."""

OPTIONAL = ("grad_norm", "step_norm", "base_lr", "accepted", "step")
"""The generic optional channels the seed names (plus ``step``)."""

_FLOAT_CHANNELS = ("loss", "theta", "grad_norm", "step_norm", "base_lr")


def _describe(value: Any) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"


def check_channel_name(name: Any) -> str:
    """A channel name is a non-empty identifier-like str that does not start with ``_``."""
    if not isinstance(name, str) or not name or name.startswith(("_", ".")):
        raise ValidationError(
            f"trace channel names must be non-empty str not starting with '_' or '.', got {name!r}"
        )
    if any(c in name for c in "/\\\x00"):
        raise ValidationError(f"trace channel name {name!r} must not contain '/', '\\' or NUL")
    return name


def _as_array(name: str, value: Any) -> Any:
    import numpy as np

    if value is None:
        raise ValidationError(f"trace channel {name!r} is None")
    try:
        array = value if isinstance(value, np.ndarray) else np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"trace channel {name!r} is not array-like: {exc}") from None
    if array.dtype.hasobject or array.dtype.kind not in "biuf":
        raise ValidationError(
            f"trace channel {name!r} has dtype {array.dtype}; only real numbers and booleans "
            f"are stored (got {_describe(value)})"
        )
    if isinstance(array, np.ma.MaskedArray):
        raise ValidationError(f"trace channel {name!r} is a masked array; pass .filled() values")
    return array


def normalize_channels(channels: Mapping[str, Any]) -> dict[str, Any]:
    """Check every channel and return them as numpy arrays (loss/theta first).

    :raises ValidationError: a missing ``loss``/``theta``, wrong ranks,
        inconsistent T across channels, non-numeric data, a non-increasing
        ``step`` channel.
    """
    import numpy as np

    if not isinstance(channels, Mapping):
        raise ValidationError(
            f"a trace must be a Trace or a mapping of channel name to array, got "
            f"{_describe(channels)}"
        )
    missing = [n for n in REQUIRED if n not in channels or channels[n] is None]
    if missing:
        raise ValidationError(f"trace: required channel(s) {missing} missing (loss and theta)")
    out: dict[str, Any] = {}
    loss = _as_array("loss", channels["loss"])
    if loss.ndim != 1:
        raise ValidationError(f"trace channel 'loss' must have shape (T,), got {loss.shape}")
    steps = loss.shape[0]
    theta = _as_array("theta", channels["theta"])
    if theta.ndim != 2:
        raise ValidationError(f"trace channel 'theta' must have shape (T, D), got {theta.shape}")
    if theta.shape[0] != steps:
        raise ValidationError(
            f"trace: theta has {theta.shape[0]} steps but loss has {steps} (inconsistent T)"
        )
    if theta.shape[1] == 0:
        raise ValidationError("trace: theta has D = 0 parameters")
    for name, array in (("loss", loss), ("theta", theta)):
        out[name] = array.astype(np.float64) if array.dtype.kind in "biu" else array
    for name, value in channels.items():
        check_channel_name(name)
        if name in REQUIRED or value is None:
            continue
        array = _as_array(name, value)
        if array.ndim == 0 or array.shape[0] != steps:
            raise ValidationError(
                f"trace channel {name!r} has shape {array.shape}; its first axis must be the "
                f"T = {steps} steps of loss (inconsistent T)"
            )
        if (name in _FLOAT_CHANNELS or name in ("accepted", "step")) and array.ndim != 1:
            raise ValidationError(f"trace channel {name!r} must have shape (T,), got {array.shape}")
        if name == "accepted":
            if array.dtype.kind != "b":
                if array.dtype.kind == "f" or not np.isin(array, (0, 1)).all():
                    raise ValidationError(
                        "trace channel 'accepted' must be booleans (or 0/1 integers)"
                    )
                array = array.astype(bool)
        elif name == "step":
            if array.dtype.kind not in "iu":
                raise ValidationError(f"trace channel 'step' must hold integers, got {array.dtype}")
            if steps and (array[0] < 0 or (np.diff(array) <= 0).any()):
                raise ValidationError(
                    "trace channel 'step' must be non-negative and strictly increasing"
                )
        elif name in _FLOAT_CHANNELS and array.dtype.kind in "biu":
            array = array.astype(np.float64)
        out[name] = array
    return out


class Trace(Mapping[str, Any]):
    """A run's trace: a read-only mapping of channel name to array.

    ``Trace(loss=..., theta=..., grad_norm=...)`` checks the channels at
    once (:class:`~capsa.errors.ValidationError` on bad input). Attribute
    access gives the generic channels (``None`` when absent).
    """

    def __init__(self, loss: Any, theta: Any, **channels: Any):
        self._arrays: Mapping[str, Any] = normalize_channels(
            {"loss": loss, "theta": theta, **channels}
        )
        self._names: tuple[str, ...] = tuple(self._arrays)
        self._cache: dict[str, Any] = {}

    @classmethod
    def from_mapping(cls, channels: Mapping[str, Any]) -> Trace:
        """Build (and check) a trace from a mapping of channel name to array."""
        if isinstance(channels, Trace):
            return channels
        normalized = normalize_channels(channels)
        loss, theta = normalized.pop("loss"), normalized.pop("theta")
        return cls(loss, theta, **normalized)

    @classmethod
    def lazy(cls, source: Mapping[str, Any], names: list[str] | None = None) -> Trace:
        """A trace over stored arrays, read on first access (no checks: the store verified them)."""
        trace = cls.__new__(cls)
        trace._arrays = source
        trace._names = tuple(names if names is not None else source)
        trace._cache = {}
        missing = [n for n in REQUIRED if n not in trace._names]
        if missing:
            from capsa.errors import IntegrityError

            raise IntegrityError(f"stored trace lacks the required channel(s) {missing}")
        return trace

    # -- mapping -----------------------------------------------------------------

    def __getitem__(self, name: str) -> Any:
        if name not in self._names:
            raise KeyError(name)
        cached = self._cache.get(name)
        if cached is None:
            cached = self._cache.setdefault(name, self._arrays[name])
        return cached

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    # -- the generic channels ------------------------------------------------------

    @property
    def loss(self) -> Any:
        """Loss per step, (T,)."""
        return self["loss"]

    @property
    def theta(self) -> Any:
        """θ per step, (T, D) (lazy for loaded long traces: slice it)."""
        return self["theta"]

    @property
    def grad_norm(self) -> Any:
        """Gradient norm per step, or None."""
        return self.get("grad_norm")

    @property
    def step_norm(self) -> Any:
        """Step norm per step, or None."""
        return self.get("step_norm")

    @property
    def base_lr(self) -> Any:
        """Base learning rate per step, or None."""
        return self.get("base_lr")

    @property
    def accepted(self) -> Any:
        """Accept/reject flag per step, or None."""
        return self.get("accepted")

    @property
    def num_steps(self) -> int:
        """T, the number of rows."""
        return int(self["loss"].shape[0])

    @property
    def dim(self) -> int:
        """D, the θ dimension."""
        return int(self["theta"].shape[1])

    @property
    def steps(self) -> Any:
        """Optimizer step of each row: the ``step`` channel, else ``arange(T)``."""
        import numpy as np

        if "step" in self._names:
            return np.asarray(self["step"])
        return np.arange(self.num_steps)

    @property
    def channels(self) -> list[str]:
        """Channel names, loss and theta first."""
        return list(self._names)

    def to_numpy(self) -> dict[str, Any]:
        """Every channel read fully into numpy arrays."""
        import numpy as np

        return {name: np.asarray(self[name][...]) for name in self._names}

    def __repr__(self) -> str:
        return f"<Trace channels={list(self._names)}>"
