"""Curvature estimation by name, through capsa's registry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from capsa.estimators import CurvatureEstimate, CurvatureEstimator

BUILTIN_NAMES = ("hutchinson", "exact_hessian_diag", "ema_grad2", "empirical_fisher", "gn_diag")
"""Names of the estimators capsa-optim registers."""

CURVATURE_TYPES = {
    "hutchinson": "hessian",
    "exact_hessian_diag": "hessian",
    "gn_diag": "gauss_newton",
    "empirical_fisher": "fisher",
    "ema_grad2": "grad2",
}
"""What each built-in estimator measures (decides the default learning-rate power)."""


def builtin_estimators() -> list[CurvatureEstimator]:
    """One instance of each built-in estimator (for the registration hook)."""
    from capsa_optim.curvature.ema_grad2 import EmaGrad2
    from capsa_optim.curvature.empirical_fisher import EmpiricalFisher
    from capsa_optim.curvature.exact_hessian import ExactHessianDiag
    from capsa_optim.curvature.gauss_newton import GaussNewtonDiag
    from capsa_optim.curvature.hutchinson import Hutchinson

    return [Hutchinson(), ExactHessianDiag(), EmaGrad2(), EmpiricalFisher(), GaussNewtonDiag()]


def estimate_curvature(name: str, theta: Any, **inputs: Any) -> CurvatureEstimate:
    """Look the estimator ``name`` up in capsa's registry and run it.

    Third-party estimators registered through ``capsa_register_curvature_estimators``
    work the same way.

    :raises UnknownEstimatorError: no installed plugin provides ``name``.
    """
    from capsa.plugins import get_registry

    return get_registry().estimator(name).estimate(theta, **inputs)
