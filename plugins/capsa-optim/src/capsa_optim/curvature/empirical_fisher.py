"""``empirical_fisher``: diag(GᵀG) from per-observation gradients.

With G the (N, D) matrix of per-observation gradients gₙ of a loss
Σₙ ℓₙ(θ), the empirical Fisher diagonal is Σₙ gₙ² (``reduction="sum"``,
the curvature scale of that loss) or its mean (``reduction="mean"``, for a
loss that averages). Never negative.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from capsa.errors import ValidationError
from capsa.estimators import CurvatureEstimate
from capsa_optim.curvature.inputs import as_theta

REDUCTIONS = ("sum", "mean")
"""How per-observation squares are combined."""


class EmpiricalFisher:
    """Empirical Fisher diagonal (registered as ``empirical_fisher``)."""

    name: str = "empirical_fisher"
    curvature_type: ClassVar[str] = "fisher"
    method: ClassVar[str] = "empirical_fisher"

    def estimate(
        self,
        theta: Any,
        *,
        per_sample_grads: Any = None,
        reduction: str = "sum",
        **inputs: Any,
    ) -> CurvatureEstimate:
        """Compute Σₙ gₙ² (or the mean) over the rows of ``per_sample_grads``.

        :param per_sample_grads: an (N, D) array, or a callable ``theta -> (N, D)``.
        :param reduction: ``"sum"`` (default) or ``"mean"``.
        """
        import numpy as np

        if inputs:
            raise ValidationError(f"empirical_fisher: unknown input(s) {sorted(inputs)}")
        x = as_theta(theta, self.name)
        if per_sample_grads is None:
            raise ValidationError("empirical_fisher: per_sample_grads=(N, D) is required")
        if reduction not in REDUCTIONS:
            raise ValidationError(
                f"empirical_fisher: reduction must be one of {list(REDUCTIONS)}, got {reduction!r}"
            )
        source: Callable[[Any], Any] | None = (
            per_sample_grads if callable(per_sample_grads) else None
        )
        g = np.asarray(source(x) if source is not None else per_sample_grads, dtype=np.float64)
        dim = x.shape[0]
        if g.ndim != 2 or g.shape[1] != dim or g.shape[0] == 0:
            raise ValidationError(
                f"empirical_fisher: per_sample_grads must have shape (N >= 1, {dim}), got {g.shape}"
            )
        if not np.isfinite(g).all():
            raise ValidationError("empirical_fisher: per_sample_grads holds NaN or infinity")
        diagonal = np.einsum("nd,nd->d", g, g)
        if reduction == "mean":
            diagonal /= g.shape[0]
        return CurvatureEstimate(
            diagonal=diagonal,
            metadata={
                "estimator": self.name,
                "method": self.method,
                "curvature_type": self.curvature_type,
                "dim": int(dim),
                "observations": int(g.shape[0]),
                "reduction": reduction,
            },
        )
