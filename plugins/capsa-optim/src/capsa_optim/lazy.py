"""Registered stand-ins that import an estimator or signal builder on first use.

Plugin discovery (``capsa plugins``, the first registry lookup) builds the
registry; registering the real estimator and builder classes would import
the signal and curvature modules there (about 20 ms). These stand-ins carry
only the name and import ``module:Class`` when first asked to compute.
"""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # capsa.estimators imports dataclasses: not at discovery
    from capsa.estimators import CurvatureEstimate, Signal


class _Deferred:
    """Holds ``module:Class`` and builds one instance of it when first needed."""

    def __init__(self, name: str, target: str):
        self.name = name
        """The registered name."""
        self._target = target
        self._real: Any = None
        self._lock = threading.Lock()

    def real(self) -> Any:
        """The actual estimator or builder (imported and instantiated once)."""
        if self._real is None:
            with self._lock:
                if self._real is None:
                    module, _, cls = self._target.partition(":")
                    self._real = getattr(importlib.import_module(module), cls)()
        return self._real

    def __getattr__(self, attr: str) -> Any:
        # Anything else (docs, options, helpers) comes from the real object.
        return getattr(self.real(), attr)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} -> {self._target}>"


class DeferredEstimator(_Deferred):
    """A :class:`capsa.estimators.CurvatureEstimator` imported on first :meth:`estimate`."""

    def estimate(self, theta: Any, **inputs: Any) -> CurvatureEstimate:
        """Run the real estimator."""
        result: CurvatureEstimate = self.real().estimate(theta, **inputs)
        return result


class DeferredBuilder(_Deferred):
    """A :class:`capsa.estimators.SignalBuilder` imported on first :meth:`build`."""

    def build(
        self, trace: Any, meta: Any, *, decoder: Any = None, truth: Any = None
    ) -> dict[str, Signal]:
        """Run the real builder."""
        result: dict[str, Signal] = self.real().build(trace, meta, decoder=decoder, truth=truth)
        return result


ESTIMATORS = {
    "hutchinson": "capsa_optim.curvature.hutchinson:Hutchinson",
    "exact_hessian_diag": "capsa_optim.curvature.exact_hessian:ExactHessianDiag",
    "ema_grad2": "capsa_optim.curvature.ema_grad2:EmaGrad2",
    "empirical_fisher": "capsa_optim.curvature.empirical_fisher:EmpiricalFisher",
    "gn_diag": "capsa_optim.curvature.gauss_newton:GaussNewtonDiag",
}
"""Registered estimator name -> ``module:Class``."""

BUILDERS = {
    "optim.loss": "capsa_optim.signals.builders:LossSignals",
    "optim.theta": "capsa_optim.signals.builders:ThetaSignals",
    "optim.norms": "capsa_optim.signals.builders:NormSignals",
    "optim.vector_summary": "capsa_optim.signals.builders:VectorSummarySignals",
    "optim.error_vs_truth": "capsa_optim.signals.builders:ErrorSignals",
}
"""Registered signal-builder name -> ``module:Class``."""
