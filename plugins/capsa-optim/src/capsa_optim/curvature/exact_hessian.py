"""``exact_hessian_diag``: diag(H) from D Hessian-vector products with the unit vectors.

The reference the stochastic estimators are checked against: exact (up to
the HVP's own accuracy; a finite-difference HVP records its step), at the
cost of D HVPs (2·D gradient calls with finite differences), batched when
the operator allows it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from capsa.errors import ValidationError
from capsa.estimators import CurvatureEstimate
from capsa_optim.curvature.inputs import DEFAULT_FD_STEP, HvpOperator, as_theta


class ExactHessianDiag:
    """The exact Hessian diagonal (registered as ``exact_hessian_diag``)."""

    name: str = "exact_hessian_diag"
    curvature_type: ClassVar[str] = "hessian"
    method: ClassVar[str] = "exact_hessian_diag"

    def estimate(
        self,
        theta: Any,
        *,
        hvp: Callable[..., Any] | None = None,
        hessian: Any = None,
        grad_fn: Callable[[Any], Any] | None = None,
        grad: Callable[[Any], Any] | None = None,
        batch_size: int | None = None,
        batched: bool | None = None,
        fd_step: float = DEFAULT_FD_STEP,
        hvp_takes_theta: bool | None = None,
        **inputs: Any,
    ) -> CurvatureEstimate:
        """Compute diag(H)_i = (H e_i)_i for every i.

        The inputs are those of ``hutchinson``: exactly one of ``hvp``
        (``hvp(v)`` or ``hvp(theta, v)``, batched over unit vectors when it
        allows it), ``hessian``, or ``grad_fn`` (alias ``grad``; central
        differences of step ``fd_step``, recorded in the metadata);
        ``hvp_takes_theta`` overrides the form read from the signature.
        """
        import numpy as np

        if inputs:
            raise ValidationError(f"exact_hessian_diag: unknown input(s) {sorted(inputs)}")
        x = as_theta(theta, self.name)
        op = HvpOperator(
            x,
            self.name,
            hvp=hvp,
            hessian=hessian,
            grad_fn=grad_fn,
            grad=grad,
            fd_step=fd_step,
            batched=batched,
            hvp_takes_theta=hvp_takes_theta,
        )
        dim = x.shape[0]
        batch = op.batch_size(batch_size, dim)
        diagonal = np.empty(dim)
        for start in range(0, dim, batch):
            stop = min(start + batch, dim)
            units = np.zeros((dim, stop - start))
            units[np.arange(start, stop), np.arange(stop - start)] = 1.0
            columns = op.apply(units)
            diagonal[start:stop] = columns[np.arange(start, stop), np.arange(stop - start)]
        metadata: dict[str, Any] = {
            "estimator": self.name,
            "method": self.method,
            "curvature_type": self.curvature_type,
            "dim": int(dim),
            "batch_size": batch,
            **op.metadata(),
        }
        return CurvatureEstimate(diagonal=diagonal, metadata=metadata)
