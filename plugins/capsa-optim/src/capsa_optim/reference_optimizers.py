"""Small numpy reference optimizers that produce a trace, meta and summary.

* :func:`run_simple_gd`: one global learning rate (the baseline; fine for
  well-conditioned, e.g. whitened, θ);
* :func:`run_preconditioned_gd`: ``θ ← θ - lr_vec ⊙ g`` with a fixed
  per-index ``lr_vec`` (from :func:`~capsa_optim.lr_from_curvature`), or one
  refreshed every step from an EMA of g² (RMSProp-like).

Row ``t`` of the trace is θ_t with its loss and gradient norm; ``step_norm``
is the size of the step taken from θ_t (0 on the last row). They stop early
when the loss reaches ``target_loss`` or the gradient norm ``gtol``, and
mark a run whose loss becomes non-finite as ``"failed"``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from capsa.errors import ValidationError

if TYPE_CHECKING:
    from capsa.estimators import CurvatureEstimate
    from capsa.store.artifact import ArtifactRef
    from capsa_optim.checkpoint import Checkpoint
    from capsa_optim.curvature.ema_grad2 import GradSquaredEMA
    from capsa_optim.index_map import IndexMap
    from capsa_optim.learning_rates import LearningRates
    from capsa_optim.location import RunDir
    from capsa_optim.schema import RunMeta, RunSummary
    from capsa_optim.trace import Trace


@dataclass
class OptimizationResult:
    """What a reference optimizer returns: everything ``save_run`` takes.

    :ivar trace: the trace.
    :ivar meta: ``meta.json``.
    :ivar summary: ``summary.json`` (computed fields filled on save).
    :ivar checkpoint_best: θ with the lowest loss.
    :ivar checkpoint_final: θ at the last step.
    :ivar precond: the learning rates used, when per-index.
    :ivar curvature: the curvature they came from, when given.
    """

    trace: Trace
    meta: RunMeta
    summary: RunSummary
    checkpoint_best: Checkpoint | None
    checkpoint_final: Checkpoint
    precond: LearningRates | None = None
    curvature: CurvatureEstimate | None = None

    @property
    def converged(self) -> bool:
        """True when the run stopped on its tolerance."""
        return bool(self.summary.metrics.get("converged", False))

    @property
    def num_steps(self) -> int:
        """Updates taken."""
        return int(self.summary.num_steps_completed or 0)

    def save(self, run_dir: RunDir, **extra: Any) -> ArtifactRef:
        """Save the run with :func:`~capsa_optim.save_run` (``extra``: signals, grads ...)."""
        from capsa_optim.run_io import save_run

        return save_run(
            run_dir,
            self.trace,
            self.meta,
            self.summary,
            precond=self.precond,
            curvature=self.curvature,
            checkpoint_best=self.checkpoint_best,
            checkpoint_final=self.checkpoint_final,
            **extra,
        )


def _check_common(theta0: Any, num_steps: Any, target_loss: Any, gtol: Any) -> Any:
    import numpy as np

    from capsa_optim.curvature.inputs import as_theta

    x = as_theta(theta0, "optimizer")
    if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 0:
        raise ValidationError(f"num_steps must be an int >= 0, got {num_steps!r}")
    for name, value in (("target_loss", target_loss), ("gtol", gtol)):
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValidationError(f"{name} must be a finite number or None, got {value!r}")
    return np.array(x)


def _run(
    loss_fn: Callable[[Any], Any],
    grad_fn: Callable[[Any], Any],
    theta0: Any,
    *,
    num_steps: int,
    step_size: Callable[[int, Any], Any],
    base_lr: float | None,
    target_loss: float | None,
    gtol: float | None,
    optimizer: str,
    meta_extra: dict[str, Any],
    run_id: str,
    index_map: IndexMap | None,
    theta_space: str,
) -> tuple[Trace, RunMeta, RunSummary, Checkpoint | None, Checkpoint]:
    import numpy as np

    from capsa_optim.checkpoint import Checkpoint
    from capsa_optim.curvature.inputs import check_vector
    from capsa_optim.schema import OptimizerInfo, RunMeta, RunSummary, ThetaInfo
    from capsa_optim.schema_codec import now_iso
    from capsa_optim.trace import Trace

    theta = _check_common(theta0, num_steps, target_loss, gtol)
    dim = theta.shape[0]
    losses: list[float] = []
    thetas: list[Any] = []
    gnorms: list[float] = []
    snorms: list[float] = []
    lrs: list[float] = []
    t0 = time.perf_counter()
    status, message, converged = "ok", None, False
    best = (math.inf, -1, theta.copy())
    for t in range(num_steps + 1):
        loss = float(loss_fn(theta))
        g = np.asarray(grad_fn(theta), dtype=np.float64)
        if g.shape != (dim,):
            raise ValidationError(f"grad_fn returned shape {g.shape}, expected ({dim},)")
        losses.append(loss)
        thetas.append(theta.copy())
        gnorms.append(float(np.linalg.norm(g)))
        lrs.append(float(base_lr) if base_lr is not None else math.nan)
        if not math.isfinite(loss) or not np.isfinite(g).all():
            status, message = "failed", f"loss or gradient became non-finite at step {t}"
            snorms.append(0.0)
            break
        if loss < best[0]:
            best = (loss, t, theta.copy())
        if (target_loss is not None and loss <= target_loss) or (
            gtol is not None and gnorms[-1] <= gtol
        ):
            converged = True
            snorms.append(0.0)
            break
        if t == num_steps:
            snorms.append(0.0)
            break
        step = check_vector(step_size(t, g), dim, "step") * g
        snorms.append(float(np.linalg.norm(step)))
        theta = theta - step
    runtime = time.perf_counter() - t0
    steps_taken = len(losses) - 1
    trace = Trace(
        loss=np.array(losses),
        theta=np.array(thetas),
        grad_norm=np.array(gnorms),
        step_norm=np.array(snorms),
        **({"base_lr": np.array(lrs)} if base_lr is not None else {}),
    )
    meta = RunMeta(
        run_id=run_id,
        created_at=now_iso(),
        theta=ThetaInfo(dim=dim, theta_space=theta_space, index_map=index_map),
        optimizer=OptimizerInfo(
            name=optimizer,
            num_steps=num_steps,
            base_lr=base_lr,
            convergence={"target_loss": target_loss, "gtol": gtol},
            **meta_extra,
        ),
    )
    summary = RunSummary(
        status=status,
        message=message,
        num_steps_completed=steps_taken,
        runtime_total_s=round(runtime, 6),
        metrics={"converged": converged},
    )
    checkpoint_best = Checkpoint("best", best[2], best[1], best[0]) if best[1] >= 0 else None
    checkpoint_final = Checkpoint("final", thetas[-1], steps_taken, losses[-1])
    return trace, meta, summary, checkpoint_best, checkpoint_final


def run_simple_gd(
    loss_fn: Callable[[Any], Any],
    grad_fn: Callable[[Any], Any],
    theta0: Any,
    *,
    lr: float,
    num_steps: int,
    target_loss: float | None = None,
    gtol: float | None = None,
    run_id: str = "",
    index_map: IndexMap | None = None,
    theta_space: str = "primitive",
) -> OptimizationResult:
    """Gradient descent with one learning rate: ``θ ← θ - lr · g``.

    :param loss_fn: ``theta -> loss``.
    :param grad_fn: ``theta -> gradient``.
    :param lr: the learning rate (> 0).
    :param num_steps: maximum number of updates.
    :param target_loss: stop once the loss is at most this.
    :param gtol: stop once the gradient norm is at most this.
    """
    import numpy as np

    if (
        isinstance(lr, bool)
        or not isinstance(lr, int | float)
        or not (math.isfinite(lr) and lr > 0)
    ):
        raise ValidationError(f"run_simple_gd: lr must be a finite number > 0, got {lr!r}")
    ones: Any = None

    def step_size(_t: int, g: Any) -> Any:
        nonlocal ones
        if ones is None:
            ones = np.full(g.shape, float(lr))
        return ones

    trace, meta, summary, best, final = _run(
        loss_fn,
        grad_fn,
        theta0,
        num_steps=num_steps,
        step_size=step_size,
        base_lr=float(lr),
        target_loss=target_loss,
        gtol=gtol,
        optimizer="simple_gd",
        meta_extra={},
        run_id=run_id,
        index_map=index_map,
        theta_space=theta_space,
    )
    return OptimizationResult(trace, meta, summary, best, final)


def run_preconditioned_gd(
    loss_fn: Callable[[Any], Any],
    grad_fn: Callable[[Any], Any],
    theta0: Any,
    *,
    num_steps: int,
    lr_vec: LearningRates | Any = None,
    ema: GradSquaredEMA | None = None,
    base_lr: float | None = None,
    eps: float = 1e-8,
    curvature: CurvatureEstimate | None = None,
    target_loss: float | None = None,
    gtol: float | None = None,
    run_id: str = "",
    index_map: IndexMap | None = None,
    theta_space: str = "primitive",
) -> OptimizationResult:
    """Preconditioned gradient descent: ``θ ← θ - lr_vec ⊙ g``.

    Give either a fixed ``lr_vec`` (a :class:`~capsa_optim.LearningRates`
    or a (D,) array), or ``ema`` (a :class:`~capsa_optim.GradSquaredEMA`)
    with ``base_lr``: the rates are then ``base_lr / (sqrt(v_t) + eps)``,
    refreshed every step (RMSProp without momentum).
    """
    import numpy as np

    from capsa_optim.learning_rates import LearningRates
    from capsa_optim.schema import PreconditioningInfo

    dim = _check_common(theta0, num_steps, target_loss, gtol).shape[0]
    if (lr_vec is None) == (ema is None):
        raise ValidationError("run_preconditioned_gd: give lr_vec or ema (with base_lr), not both")
    rates: LearningRates | None = None
    meta_extra: dict[str, Any] = {}
    if lr_vec is not None:
        rates = lr_vec if isinstance(lr_vec, LearningRates) else None
        fixed = np.asarray(rates.lr_vec if rates is not None else lr_vec, dtype=np.float64)
        if fixed.shape != (dim,) or not np.isfinite(fixed).all() or (fixed < 0).any():
            raise ValidationError(
                f"run_preconditioned_gd: lr_vec must be finite, >= 0, of shape ({dim},), "
                f"got shape {fixed.shape}"
            )
        if rates is not None:
            meta_extra["preconditioning"] = rates.preconditioning_info()

        def fixed_step(_t: int, _g: Any) -> Any:
            return fixed

        step_size: Callable[[int, Any], Any] = fixed_step

        recorded_lr = base_lr
    else:
        assert ema is not None
        if base_lr is None or isinstance(base_lr, bool) or not base_lr > 0:
            raise ValidationError("run_preconditioned_gd: ema needs base_lr > 0")
        if ema.dim != dim:
            raise ValidationError(f"run_preconditioned_gd: ema has dim {ema.dim}, theta has {dim}")
        lr0 = float(base_lr)

        def ema_step(_t: int, g: Any) -> Any:
            v = ema.update(g)
            return lr0 / (np.sqrt(v) + eps)

        step_size = ema_step

        meta_extra["preconditioning"] = PreconditioningInfo(
            method="ema_grad2",
            power=0.5,
            eps=eps,
            refresh_every=1,
            fixed_at_init=False,
            estimator={"beta": ema.beta, "bias_correction": ema.bias_correction},
        )
        recorded_lr = lr0
    trace, meta, summary, best, final = _run(
        loss_fn,
        grad_fn,
        theta0,
        num_steps=num_steps,
        step_size=step_size,
        base_lr=recorded_lr,
        target_loss=target_loss,
        gtol=gtol,
        optimizer="preconditioned_gd",
        meta_extra=meta_extra,
        run_id=run_id,
        index_map=index_map,
        theta_space=theta_space,
    )
    return OptimizationResult(trace, meta, summary, best, final, precond=rates, curvature=curvature)
