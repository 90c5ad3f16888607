"""An ill-conditioned weighted least-squares problem with a named θ layout (demo, docs, bench).

θ packs a binary's x/y position (arcsec), a plate scale (dimensionless) and
nine Zernike coefficients (nm). The design matrix scales the columns over
two decades each way, so the curvature diagonal spans about 1e-2..1e2
(condition number ≥ 1e4): one global learning rate is stuck between the
stiff and the weak directions, per-index rates are not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LeastSquaresProblem:
    """``loss(θ) = ½ Σₘ wₘ (A θ - b)ₘ²`` with known truth.

    :ivar design: A (M, D).
    :ivar target: b (M,).
    :ivar weights: w (M,).
    :ivar theta_true: the θ that generated b (before noise).
    :ivar theta0: the starting point.
    :ivar index_map: the θ layout.
    """

    design: Any
    target: Any
    weights: Any
    theta_true: Any
    theta0: Any
    index_map: Any

    def loss(self, theta: Any) -> float:
        """The weighted least-squares loss."""
        r = self.design @ theta - self.target
        return float(0.5 * (self.weights * r * r).sum())

    def grad(self, theta: Any) -> Any:
        """Its gradient ``Aᵀ W (A θ - b)``."""
        return self.design.T @ (self.weights * (self.design @ theta - self.target))

    def hvp(self, theta: Any, v: Any) -> Any:
        """Hessian-vector product ``AᵀWA v`` (v may be a (D, k) block)."""
        w = self.weights if v.ndim == 1 else self.weights[:, None]
        return self.design.T @ (w * (self.design @ v))

    hvp.batched = True  # type: ignore[attr-defined]

    @property
    def optimum_loss(self) -> float:
        """The smallest loss reachable (the weighted least-squares solution's)."""
        import numpy as np

        root = np.sqrt(self.weights)
        solution = np.linalg.lstsq(root[:, None] * self.design, root * self.target, rcond=None)[0]
        return self.loss(solution)

    @property
    def hessian(self) -> Any:
        """``AᵀWA``."""
        return self.design.T @ (self.weights[:, None] * self.design)


def make_problem(
    seed: int = 0, *, observations: int = 60, noise: float = 1e-6
) -> LeastSquaresProblem:
    """A reproducible instance (``seed`` changes the data, not the layout)."""
    import numpy as np

    from capsa_optim.index_map import IndexMap

    imap = IndexMap.from_shapes(
        [
            ("binary.x_position_as", (1,), "astrometry"),
            ("binary.y_position_as", (1,), "astrometry"),
            ("system.plate_scale", (1,), "system"),
            ("primary.zernike_coeffs_nm", (9,), "primary.zernikes"),
        ]
    )
    dim = imap.dim
    rng = np.random.default_rng(seed)
    scales = np.logspace(-1, 1, dim)[rng.permutation(dim)]
    mixing = rng.normal(size=(observations, dim)) / np.sqrt(observations)
    design = mixing * scales[None, :]
    theta_true = rng.normal(size=dim)
    theta_true[2] = 1.0 + 0.01 * theta_true[2]  # plate scale ~ 1
    weights = np.ones(observations)
    target = design @ theta_true + noise * rng.normal(size=observations)
    theta0 = theta_true + rng.normal(size=dim) * 0.5
    return LeastSquaresProblem(design, target, weights, theta_true, theta0, imap)
