"""Reference optimizers: simple vs curvature-preconditioned GD on an ill-conditioned quadratic."""

from __future__ import annotations

import numpy as np
import pytest
from capsa_optim import (
    GradSquaredEMA,
    RunArtifacts,
    estimate_curvature,
    lr_from_curvature,
    run_preconditioned_gd,
    run_simple_gd,
)

from capsa.errors import ValidationError


def quadratic(dim: int = 20, condition: float = 1e4, seed: int = 0):  # type: ignore[no-untyped-def]
    """0.5 (θ-θ*)ᵀ H (θ-θ*) with H nearly diagonal (curvature spread = condition)."""
    rng = np.random.default_rng(seed)
    diag = np.logspace(0, np.log10(condition), dim)
    coupling = rng.normal(size=(dim, dim)) * 0.01
    h = np.diag(diag) + np.sqrt(np.outer(diag, diag)) * (coupling + coupling.T) / 2
    star = rng.normal(size=dim)

    def loss(theta: np.ndarray) -> float:
        d = theta - star
        return float(0.5 * d @ h @ d)

    def grad(theta: np.ndarray) -> np.ndarray:
        return h @ (theta - star)

    return h, star, loss, grad


def test_curvature_preconditioned_gd_needs_far_fewer_steps_than_the_best_single_lr() -> None:
    h, star, loss, grad = quadratic()
    eig = np.linalg.eigvalsh(h)
    assert eig[-1] / eig[0] >= 1e4
    theta0 = star + 1.0
    target = 1e-8 * loss(theta0)
    budget = 2000
    # The best single learning rate: scanned around 2 / (λmax + λmin), which is optimal.
    steps_simple = []
    for lr in 2.0 / (eig[-1] + eig[0]) * np.array([0.25, 0.5, 0.8, 1.0, 1.05]):
        result = run_simple_gd(
            loss, grad, theta0, lr=float(lr), num_steps=budget, target_loss=target
        )
        steps_simple.append(result.num_steps if result.converged else budget + 1)
    curv = estimate_curvature("hutchinson", theta0, hessian=h, probes=64, seed=0)
    rates = lr_from_curvature(curv, 0.8)
    pre = run_preconditioned_gd(
        loss, grad, theta0, lr_vec=rates, num_steps=budget, target_loss=target, curvature=curv
    )
    assert pre.converged
    assert pre.num_steps * 20 < min(steps_simple)
    assert pre.meta.optimizer.preconditioning is not None
    assert pre.meta.optimizer.preconditioning.method == "hutchinson"


def test_simple_gd_trace_meta_summary_are_consistent(tmp_path: object) -> None:
    _, _, loss, grad = quadratic(dim=5, condition=10)
    result = run_simple_gd(loss, grad, np.zeros(5), lr=0.1, num_steps=30)
    trace = result.trace
    assert trace.num_steps == 31 and trace.dim == 5
    assert result.summary.num_steps_completed == 30 and not result.converged
    np.testing.assert_allclose(trace.loss, [loss(t) for t in trace.theta])
    np.testing.assert_allclose(trace.grad_norm, [np.linalg.norm(grad(t)) for t in trace.theta])
    np.testing.assert_allclose(trace.step_norm[:-1], 0.1 * trace.grad_norm[:-1])
    assert trace.step_norm[-1] == 0.0 and (trace.base_lr == 0.1).all()
    assert result.meta.optimizer.name == "simple_gd" and result.meta.optimizer.base_lr == 0.1
    assert result.checkpoint_best is not None and result.checkpoint_best.step == 30
    ref = result.save("runs/simple")
    run = RunArtifacts("runs/simple")
    assert run.summary.num_steps_completed == 30 and ref.key == "simple"
    assert run.summary.best_step == 30 and run.summary.has_checkpoint_final


def test_ema_preconditioned_gd_records_its_preconditioning() -> None:
    _, _, loss, grad = quadratic(dim=6, condition=100)
    result = run_preconditioned_gd(
        loss, grad, np.zeros(6), ema=GradSquaredEMA(6, beta=0.9), base_lr=0.01, num_steps=200
    )
    pre = result.meta.optimizer.preconditioning
    assert pre is not None and pre.method == "ema_grad2" and pre.power == 0.5
    assert pre.refresh_every == 1 and not pre.fixed_at_init
    assert result.trace.loss[-1] < 1e-2 * result.trace.loss[0]


def test_divergence_is_a_failed_run() -> None:
    _, _, loss, grad = quadratic(dim=4, condition=100)
    with np.errstate(over="ignore", invalid="ignore"):
        result = run_simple_gd(loss, grad, np.zeros(4), lr=1.0, num_steps=2000)
    assert result.summary.status == "failed"
    assert "non-finite" in (result.summary.message or "")
    assert result.num_steps < 2000


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda f, g: run_simple_gd(f, g, np.zeros(3), lr=0.0, num_steps=3), r"lr must be"),
        (lambda f, g: run_simple_gd(f, g, np.zeros(3), lr=0.1, num_steps=-1), r"num_steps"),
        (lambda f, g: run_simple_gd(f, g, np.zeros(3), lr=0.1, num_steps=1, gtol="x"), r"gtol"),
        (lambda f, g: run_preconditioned_gd(f, g, np.zeros(3), num_steps=3), r"give lr_vec or ema"),
        (
            lambda f, g: run_preconditioned_gd(f, g, np.zeros(3), num_steps=3, lr_vec=np.ones(2)),
            r"lr_vec must be finite",
        ),
        (
            lambda f, g: run_preconditioned_gd(
                f, g, np.zeros(3), num_steps=3, ema=GradSquaredEMA(3)
            ),
            r"ema needs base_lr",
        ),
        (
            lambda f, g: run_simple_gd(f, lambda t: np.ones(2), np.zeros(3), lr=0.1, num_steps=2),
            r"grad_fn returned shape \(2,\)",
        ),
    ],
)
def test_bad_arguments(call, match: str) -> None:  # type: ignore[no-untyped-def]
    _, _, loss, grad = quadratic(dim=3, condition=10)
    with pytest.raises(ValidationError, match=match):
        call(loss, grad)
