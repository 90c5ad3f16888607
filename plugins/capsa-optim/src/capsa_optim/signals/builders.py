"""The built-in signal builders (registered through ``capsa_register_signal_builders``).

Each is a pure function of (trace, meta, decoder, truth): nothing is mutated
and the same arguments give the same signals.

========================  ==============================================================
``optim.loss``            ``loss``
``optim.theta``           one signal per θ leaf (IndexMap entry or decoded quantity),
                          components for vector leaves
``optim.norms``           ``grad_norm``, ``step_norm``, ``base_lr`` when traced
``optim.vector_summary``  ``<leaf>_rms_<unit>`` and ``<leaf>_norm_<unit>`` of vector leaves
``optim.error_vs_truth``  ``<leaf>_error_<unit>`` with automatic unit scaling (µas, nm,
                          ppm of the true value); only with ``truth``
========================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from capsa.errors import ValidationError
from capsa_optim.signals.leaves import iter_leaves, truth_values
from capsa_optim.signals.signal import OptimSignal
from capsa_optim.signals.units import conversion, error_unit, split_unit, with_tag

BUILTIN_BUILDERS = (
    "optim.loss",
    "optim.theta",
    "optim.norms",
    "optim.vector_summary",
    "optim.error_vs_truth",
)
"""Names of the built-in builders, in the order :func:`build_signals` runs them."""


def _steps(trace: Mapping[str, Any]) -> Any:
    import numpy as np

    return np.asarray(trace["step"]) if "step" in trace else None


def _labels(name: str, shape: tuple[int, ...]) -> tuple[str, ...]:
    import numpy as np

    if len(shape) <= 1:
        return tuple(f"{name}[{i}]" for i in range(int(np.prod(shape)) if shape else 1))
    return tuple(f"{name}[{','.join(map(str, idx))}]" for idx in np.ndindex(*shape))


class LossSignals:
    """``loss`` (panel ``loss``)."""

    name: str = "optim.loss"

    def build(
        self, trace: Any, meta: Any, *, decoder: Any = None, truth: Any = None
    ) -> dict[str, OptimSignal]:
        """Build the loss signal."""
        import numpy as np

        return {
            "loss": OptimSignal(
                values=np.asarray(trace["loss"][...], dtype=np.float64),
                unit="1",
                panel="loss",
                steps=_steps(trace),
                kind="scalar",
                source="trace.loss",
            )
        }


class ThetaSignals:
    """One signal per θ leaf; vector leaves as components with labels."""

    name: str = "optim.theta"

    def build(
        self, trace: Any, meta: Any, *, decoder: Any = None, truth: Any = None
    ) -> dict[str, OptimSignal]:
        """Build per-leaf signals."""
        out: dict[str, OptimSignal] = {}
        steps = _steps(trace)
        for leaf in iter_leaves(trace, meta, decoder):
            out[leaf.name] = OptimSignal(
                values=leaf.values,
                unit=split_unit(leaf.name)[1],
                panel=leaf.block,
                steps=steps,
                labels=_labels(leaf.name, leaf.shape) if leaf.is_vector else (),
                kind="components" if leaf.is_vector else "scalar",
                source=leaf.name,
            )
        return out


class NormSignals:
    """``grad_norm``, ``step_norm`` and ``base_lr`` (panel ``optimizer``) when traced."""

    name: str = "optim.norms"

    def build(
        self, trace: Any, meta: Any, *, decoder: Any = None, truth: Any = None
    ) -> dict[str, OptimSignal]:
        """Build the optimizer diagnostics present in the trace."""
        import numpy as np

        out: dict[str, OptimSignal] = {}
        for channel, kind in (("grad_norm", "norm"), ("step_norm", "norm"), ("base_lr", "scalar")):
            if channel in trace:
                out[channel] = OptimSignal(
                    values=np.asarray(trace[channel][...], dtype=np.float64),
                    unit="1",
                    panel="optimizer",
                    steps=_steps(trace),
                    kind=kind,
                    source=f"trace.{channel}",
                )
        return out


class VectorSummarySignals:
    """RMS and Euclidean norm over the components of each vector leaf."""

    name: str = "optim.vector_summary"

    def build(
        self, trace: Any, meta: Any, *, decoder: Any = None, truth: Any = None
    ) -> dict[str, OptimSignal]:
        """Build ``<leaf>_rms_<unit>`` and ``<leaf>_norm_<unit>`` for every vector leaf."""
        import numpy as np

        out: dict[str, OptimSignal] = {}
        steps = _steps(trace)
        for leaf in iter_leaves(trace, meta, decoder):
            if not leaf.is_vector:
                continue
            unit = split_unit(leaf.name)[1]
            norm = np.linalg.norm(leaf.values, axis=1)
            rms = norm / np.sqrt(leaf.values.shape[1])
            for tag, values in (("rms", rms), ("norm", norm)):
                out[with_tag(leaf.name, tag)] = OptimSignal(
                    values=values,
                    unit=unit,
                    panel=leaf.block,
                    steps=steps,
                    kind=tag,
                    source=leaf.name,
                )
        return out


class ErrorSignals:
    """Errors against truth, scaled to the unit they are read in.

    :param units: leaf name -> error unit, overriding the automatic choice
        (angles -> ``uas``, lengths -> ``nm``, no unit -> ``ppm`` of the true value).
    :param names: leaf name -> signal name, overriding ``<leaf>_error_<unit>``
        (e.g. ``{"binary.x_position_as": "binary.x_error_uas"}``).
    """

    name: str = "optim.error_vs_truth"

    def __init__(
        self,
        *,
        units: Mapping[str, str] | None = None,
        names: Mapping[str, str] | None = None,
    ):
        self.units = dict(units or {})
        self.names = dict(names or {})

    def build(
        self, trace: Any, meta: Any, *, decoder: Any = None, truth: Any = None
    ) -> dict[str, OptimSignal]:
        """Build one error signal per leaf that has a true value (none without truth)."""
        import numpy as np

        if truth is None:
            return {}
        true = truth_values(truth, meta, decoder)
        out: dict[str, OptimSignal] = {}
        steps = _steps(trace)
        seen: set[str] = set()
        for leaf in iter_leaves(trace, meta, decoder):
            if leaf.name not in true:
                continue
            seen.add(leaf.name)
            ref = np.asarray(true[leaf.name], dtype=np.float64).reshape(-1)
            width = leaf.values.shape[1] if leaf.is_vector else 1
            if ref.shape[0] != width:
                raise ValidationError(
                    f"truth for {leaf.name!r} has {ref.shape[0]} values, the leaf has {width}"
                )
            own = split_unit(leaf.name)[1]
            unit = self.units.get(leaf.name) or error_unit(own)
            estimate = leaf.values if leaf.is_vector else leaf.values[:, None]
            diff = estimate - ref[None, :]
            if unit in ("ppm", "ppb", "pct") and own == "1":
                factor = {"ppm": 1e6, "ppb": 1e9, "pct": 1e2}[unit]
                if (ref == 0).any():
                    unit, scale, values = own, 1.0, diff
                else:
                    scale, values = factor, factor * diff / ref[None, :]
            else:
                scale = conversion(own, unit) if own != "1" else 1.0
                values = scale * diff
            name = self.names.get(leaf.name) or with_tag(leaf.name, "error", unit)
            out[name] = OptimSignal(
                values=values if leaf.is_vector else values[:, 0],
                unit=unit,
                panel=f"{leaf.block} error",
                steps=steps,
                scale=scale,
                labels=_labels(leaf.name, leaf.shape) if leaf.is_vector else (),
                kind="error_vs_truth",
                source=leaf.name,
            )
        unknown = sorted(set(true) - seen)
        if unknown:
            raise ValidationError(
                f"truth names unknown leaves {unknown[:5]}; leaves are the IndexMap entries "
                "(or the decoder's names)"
            )
        return out


def builtin_builders() -> list[Any]:
    """One instance of each built-in builder (for the registration hook)."""
    return [LossSignals(), ThetaSignals(), NormSignals(), VectorSummarySignals(), ErrorSignals()]
