"""``build_signals``: run signal builders by name through capsa's registry."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from capsa.errors import ValidationError
from capsa_optim.signals.builders import BUILTIN_BUILDERS
from capsa_optim.signals.signal import OptimSignal, as_optim_signal


def build_signals(
    trace: Mapping[str, Any],
    meta: Any,
    *,
    builders: Iterable[str] | None = None,
    extra: Iterable[str] = (),
    decoder: Any = None,
    truth: Any = None,
) -> dict[str, OptimSignal]:
    """Build signals from a trace with registered builders (built-ins by default).

    :param trace: a :class:`~capsa_optim.Trace` or a mapping of channel arrays.
    :param meta: the run's :class:`~capsa_optim.RunMeta` (or its mapping).
    :param builders: builder names to run (default: the five built-ins).
    :param extra: more builder names, e.g. from a third-party plugin.
    :param decoder: ``theta (T, D) -> {name: (T, ...)}``, optional.
    :param truth: true values by leaf name, or a flat true θ, optional.
    :raises UnknownSignalBuilderError: a name no installed plugin provides.
    :raises ValidationError: two builders producing the same signal name.
    """
    from capsa.plugins import get_registry

    registry = get_registry()
    names = list(BUILTIN_BUILDERS if builders is None else builders) + list(extra)
    out: dict[str, OptimSignal] = {}
    origin: dict[str, str] = {}
    for name in names:
        builder = registry.signal_builder(name)
        produced = builder.build(trace, meta, decoder=decoder, truth=truth)
        if not isinstance(produced, Mapping):
            raise ValidationError(
                f"signal builder {name!r} returned {type(produced).__name__}, not a mapping"
            )
        for signal_name, signal in produced.items():
            if signal_name in out:
                raise ValidationError(
                    f"signal {signal_name!r} is produced by both {origin[signal_name]!r} and "
                    f"{name!r}"
                )
            out[signal_name] = as_optim_signal(signal_name, signal)
            origin[signal_name] = name
    return out
