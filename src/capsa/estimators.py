"""Protocols for curvature estimators and signal builders.

Only the contracts live in the core; implementations come from plugins
(``capsa-optim``). Arrays are typed ``Any`` so that the core never imports
numpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class CurvatureEstimate:
    """What a curvature estimator returns.

    :ivar diagonal: 1-D array of length D, the estimated diagonal curvature.
    :ivar metadata: JSON-safe facts needed to reproduce the estimate
        (estimator name, probes, seed, damping ...).
    :ivar stderr: optional 1-D array of per-entry standard errors.
    """

    diagonal: Any
    metadata: dict[str, Any] = field(default_factory=dict)
    stderr: Any = None


@runtime_checkable
class CurvatureEstimator(Protocol):
    """A named estimator of the diagonal of a curvature operator at ``theta``."""

    name: str

    def estimate(self, theta: Any, **inputs: Any) -> CurvatureEstimate:
        """Estimate diag(curvature) at the flat parameter vector ``theta``.

        ``inputs`` are estimator specific (a gradient function, a
        Hessian-vector product, a Jacobian, per-sample gradients, a seed ...).
        """
        ...


@dataclass(frozen=True)
class Signal:
    """A named, unit-bearing time series ready to plot.

    :ivar values: array of shape (T,) or (T, k).
    :ivar unit: physical unit (``"uas"``, ``"1"``).
    :ivar panel: optional plot panel (group) the series belongs to.
    :ivar steps: optional array of step indices aligned with ``values``.
    """

    values: Any
    unit: str = "1"
    panel: str | None = None
    steps: Any = None


@runtime_checkable
class SignalBuilder(Protocol):
    """A named builder from an optimizer trace (+ metadata) to signals."""

    name: str

    def build(
        self,
        trace: Any,
        meta: Any,
        *,
        decoder: Any = None,
        truth: Any = None,
    ) -> dict[str, Signal]:
        """Build signals from ``trace`` and ``meta`` (optionally a decoder and truth values)."""
        ...
