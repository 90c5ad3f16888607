"""``gn_diag``: the Gauss-Newton diagonal diag(JᵀWJ) for least-squares losses.

For L(θ) = ½ Σₘ Wₘ rₘ(θ)² with residual Jacobian J (M, D), the
Gauss-Newton matrix is JᵀWJ and its diagonal Σₘ Wₘ Jₘᵢ². Never negative.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from capsa.errors import ValidationError
from capsa.estimators import CurvatureEstimate
from capsa_optim.curvature.inputs import as_theta


class GaussNewtonDiag:
    """Gauss-Newton diagonal (registered as ``gn_diag``)."""

    name: str = "gn_diag"
    curvature_type: ClassVar[str] = "gauss_newton"
    method: ClassVar[str] = "gn_diag"

    def estimate(
        self,
        theta: Any,
        *,
        jacobian: Any = None,
        weights: Any = None,
        **inputs: Any,
    ) -> CurvatureEstimate:
        """Compute Σₘ Wₘ Jₘᵢ².

        :param jacobian: the residual Jacobian (M, D), or a callable ``theta -> (M, D)``.
        :param weights: residual weights (M,) or a scalar (inverse variances); default 1.
        """
        import numpy as np

        if inputs:
            raise ValidationError(f"gn_diag: unknown input(s) {sorted(inputs)}")
        x = as_theta(theta, self.name)
        if jacobian is None:
            raise ValidationError("gn_diag: jacobian=(M, D) (or theta -> (M, D)) is required")
        source: Callable[[Any], Any] | None = jacobian if callable(jacobian) else None
        jac = np.asarray(source(x) if source is not None else jacobian, dtype=np.float64)
        dim = x.shape[0]
        if jac.ndim != 2 or jac.shape[1] != dim or jac.shape[0] == 0:
            raise ValidationError(
                f"gn_diag: jacobian must have shape (M >= 1, {dim}), got {jac.shape}"
            )
        if not np.isfinite(jac).all():
            raise ValidationError("gn_diag: jacobian holds NaN or infinity")
        if weights is None:
            diagonal = np.einsum("mi,mi->i", jac, jac)
            weighting = "unit"
        else:
            w = np.asarray(weights, dtype=np.float64)
            if w.ndim == 0:
                w = np.full(jac.shape[0], float(w))
            if w.shape != (jac.shape[0],):
                raise ValidationError(
                    f"gn_diag: weights must have shape ({jac.shape[0]},) or be a scalar, got "
                    f"{w.shape}"
                )
            if not np.isfinite(w).all() or (w < 0).any():
                raise ValidationError("gn_diag: weights must be finite and >= 0")
            diagonal = np.einsum("m,mi,mi->i", w, jac, jac)
            weighting = "given"
        return CurvatureEstimate(
            diagonal=diagonal,
            metadata={
                "estimator": self.name,
                "method": self.method,
                "curvature_type": self.curvature_type,
                "dim": int(dim),
                "residuals": int(jac.shape[0]),
                "weights": weighting,
            },
        )
