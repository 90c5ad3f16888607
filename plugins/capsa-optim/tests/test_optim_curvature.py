"""Curvature estimators: numerical correctness in float64, reproducibility, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
from capsa_optim import GradSquaredEMA, estimate_curvature
from capsa_optim.curvature.api import BUILTIN_NAMES

from capsa.errors import UnknownEstimatorError, ValidationError
from capsa.estimators import CurvatureEstimate, CurvatureEstimator
from capsa.plugins import get_registry


def spd(dim: int, seed: int, spread: float = 1e2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    eig = np.logspace(-1, np.log10(spread), dim)
    return (q * eig) @ q.T


def rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def test_every_estimator_is_registered_and_follows_the_protocol() -> None:
    registry = get_registry()
    for name in BUILTIN_NAMES:
        estimator = registry.estimator(name)
        assert isinstance(estimator, CurvatureEstimator) and estimator.name == name
    with pytest.raises(UnknownEstimatorError):
        registry.estimator("newton_schulz")


def test_gauss_newton_diag_equals_diag_jt_w_j() -> None:
    rng = np.random.default_rng(1)
    jac = rng.normal(size=(200, 15)) * np.logspace(-3, 3, 15)
    weights = rng.random(200)
    est = estimate_curvature("gn_diag", np.zeros(15), jacobian=jac, weights=weights)
    assert rel(est.diagonal, np.diag(jac.T @ (weights[:, None] * jac))) < 1e-12
    unit = estimate_curvature("gn_diag", np.zeros(15), jacobian=lambda theta: jac)
    assert rel(unit.diagonal, np.diag(jac.T @ jac)) < 1e-12
    assert unit.metadata == {
        "estimator": "gn_diag",
        "method": "gn_diag",
        "curvature_type": "gauss_newton",
        "dim": 15,
        "residuals": 200,
        "weights": "unit",
    }
    scalar = estimate_curvature("gn_diag", np.zeros(15), jacobian=jac, weights=2.0)
    assert rel(scalar.diagonal, 2 * np.diag(jac.T @ jac)) < 1e-12


def test_empirical_fisher_equals_diag_gt_g() -> None:
    rng = np.random.default_rng(2)
    grads = rng.normal(size=(500, 9)) * np.logspace(-2, 2, 9)
    est = estimate_curvature("empirical_fisher", np.zeros(9), per_sample_grads=grads)
    assert rel(est.diagonal, np.diag(grads.T @ grads)) < 1e-12
    mean = estimate_curvature(
        "empirical_fisher", np.zeros(9), per_sample_grads=lambda t: grads, reduction="mean"
    )
    assert rel(mean.diagonal, np.diag(grads.T @ grads) / 500) < 1e-12
    assert mean.metadata["reduction"] == "mean" and mean.metadata["observations"] == 500
    assert (est.diagonal >= 0).all()


def test_exact_hessian_diag_equals_np_diag_from_every_source() -> None:
    h = spd(12, 3)
    theta = np.linspace(-1, 1, 12)
    by_hvp = estimate_curvature("exact_hessian_diag", theta, hvp=lambda t, v: h @ v)
    np.testing.assert_array_equal(by_hvp.diagonal, np.diag(h))
    assert by_hvp.metadata["hvp_calls"] == 12 and by_hvp.metadata["hvp_source"] == "hvp"
    by_matrix = estimate_curvature("exact_hessian_diag", theta, hessian=h, batch_size=5)
    np.testing.assert_array_equal(by_matrix.diagonal, np.diag(h))
    # Central finite differences of the gradient of 0.5 θᵀHθ (exact up to rounding).
    by_grad = estimate_curvature("exact_hessian_diag", theta, grad=lambda t: h @ t, fd_step=1e-4)
    assert rel(by_grad.diagonal, np.diag(h)) < 1e-9
    assert by_grad.metadata["fd_step"] == 1e-4 and by_grad.metadata["grad_calls"] == 24


def test_finite_difference_hvp_on_a_non_quadratic_loss() -> None:
    # loss = sum(cosh(θ)) -> diag(H) = cosh(θ)
    theta = np.linspace(-1, 1, 6)
    est = estimate_curvature("exact_hessian_diag", theta, grad=np.sinh, fd_step=1e-4)
    assert rel(est.diagonal, np.cosh(theta)) < 1e-7


def test_hutchinson_is_exact_on_a_diagonal_with_one_probe() -> None:
    a = np.diag(np.logspace(-3, 3, 10))
    est = estimate_curvature("hutchinson", np.zeros(10), hessian=a, probes=1, seed=5)
    np.testing.assert_array_equal(est.diagonal, np.diag(a))
    assert est.stderr is None
    many = estimate_curvature("hutchinson", np.zeros(10), hvp=lambda t, v: a @ v, probes=20)
    np.testing.assert_array_equal(many.diagonal, np.diag(a))
    np.testing.assert_array_equal(many.stderr, np.zeros(10))


def test_hutchinson_same_seed_is_bitwise_identical() -> None:
    h = spd(16, 4)
    first = estimate_curvature("hutchinson", np.zeros(16), hessian=h, probes=37, seed=11)
    again = estimate_curvature("hutchinson", np.zeros(16), hessian=h, probes=37, seed=11)
    assert again.diagonal.tobytes() == first.diagonal.tobytes()
    assert again.stderr.tobytes() == first.stderr.tobytes()
    different = estimate_curvature("hutchinson", np.zeros(16), hessian=h, probes=37, seed=12)
    assert different.diagonal.tobytes() != first.diagonal.tobytes()
    meta = first.metadata
    assert meta["probes"] == 37 and meta["seed"] == 11 and meta["distribution"] == "rademacher"


def test_hutchinson_draws_the_same_probes_whatever_the_batching() -> None:
    # The probes are identical; only the operator's rounding (gemm vs gemv) may differ.
    h = spd(16, 4)
    one = estimate_curvature("hutchinson", np.zeros(16), hessian=h, probes=37, seed=11)
    for other in (
        estimate_curvature("hutchinson", np.zeros(16), hessian=h, probes=37, seed=11, batch_size=4),
        estimate_curvature("hutchinson", np.zeros(16), hvp=lambda t, v: h @ v, probes=37, seed=11),
    ):
        assert rel(other.diagonal, one.diagonal) < 1e-13
        assert rel(other.stderr, one.stderr) < 1e-12


def test_hutchinson_batches_probes_in_one_call_when_it_can() -> None:
    h = spd(8, 5)
    calls: list[tuple[int, ...]] = []

    def hvp(theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        calls.append(v.shape)
        return h @ v

    hvp.batched = True  # type: ignore[attr-defined]
    est = estimate_curvature("hutchinson", np.zeros(8), hvp=hvp, probes=30, batch_size=10)
    assert calls == [(8, 10)] * 3
    assert est.metadata["batched"] is True and est.metadata["hvp_calls"] == 30


def test_hutchinson_is_unbiased_within_four_standard_errors() -> None:
    h = spd(10, 6)
    probes, seeds = 50, 400
    estimates = np.array(
        [
            estimate_curvature(
                "hutchinson", np.zeros(10), hessian=h, probes=probes, seed=s
            ).diagonal
            for s in range(seeds)
        ]
    )
    mean = estimates.mean(axis=0)
    stderr_of_mean = estimates.std(axis=0, ddof=1) / np.sqrt(seeds)
    assert (np.abs(mean - np.diag(h)) < 4 * stderr_of_mean).all()


@pytest.mark.parametrize("probes", [10, 100, 1000])
def test_hutchinson_error_scales_as_theory_and_stderr_is_consistent(probes: int) -> None:
    h = spd(8, 7)
    seeds = 120 if probes == 1000 else 300
    results = [
        estimate_curvature("hutchinson", np.zeros(8), hessian=h, probes=probes, seed=s)
        for s in range(seeds)
    ]
    estimates = np.array([r.diagonal for r in results])
    measured = ((estimates - np.diag(h)) ** 2).mean(axis=0)  # per-entry MSE over seeds
    off = h - np.diag(np.diag(h))
    theory = (off**2).sum(axis=1) / probes  # Var = sum_{j != i} A_ij^2 / k
    assert abs(np.sqrt(measured.mean() / theory.mean()) - 1) < 0.10
    # The reported per-entry standard error estimates the same spread.
    reported = np.array([r.stderr for r in results]) ** 2
    assert abs(np.sqrt(reported.mean() / theory.mean()) - 1) < 0.10


def test_ema_grad2_with_bias_correction_reproduces_constant_g2() -> None:
    g = np.array([1e-3, 0.5, 3.0, -7.0])
    ema = GradSquaredEMA(4, beta=0.999)
    for _ in range(50):
        ema.update(g)
    assert rel(ema.value, g**2) < 1e-12
    raw = GradSquaredEMA(4, beta=0.999, bias_correction=False)
    for _ in range(50):
        raw.update(g)
    assert rel(raw.value, g**2 * (1 - 0.999**50)) < 1e-12
    est = estimate_curvature("ema_grad2", np.zeros(4), grads=np.tile(g, (30, 1)), beta=0.9)
    assert rel(est.diagonal, g**2) < 1e-12
    assert est.metadata["steps"] == 30 and est.metadata["beta"] == 0.9


def test_ema_grad2_state_is_updated_through_the_estimator() -> None:
    state = GradSquaredEMA(3, beta=0.5)
    for k in range(1, 4):
        est = estimate_curvature("ema_grad2", np.ones(3), grad=lambda t: 2 * t, state=state)
        assert state.steps == k
    np.testing.assert_allclose(est.diagonal, 4.0, rtol=1e-15)
    fresh = GradSquaredEMA(3)
    np.testing.assert_array_equal(fresh.value, np.zeros(3))


@pytest.mark.parametrize(
    ("name", "inputs", "match"),
    [
        ("hutchinson", {}, r"give exactly one of hvp"),
        ("hutchinson", {"hessian": np.eye(3), "hvp": lambda t, v: v}, r"got \['hvp', 'hessian'\]"),
        ("hutchinson", {"hessian": np.eye(4)}, r"hessian must be a \(3, 3\) matrix"),
        ("hutchinson", {"hvp": lambda t, v: v[:2]}, r"hvp returned shape \(2,\)"),
        ("hutchinson", {"hvp": lambda t, v: v * np.nan}, r"hvp returned NaN"),
        ("hutchinson", {"hessian": np.eye(3), "probes": 0}, r"probes must be an int >= 1"),
        ("hutchinson", {"hessian": np.eye(3), "seed": -2}, r"seed must be an int >= 0"),
        ("hutchinson", {"grad": lambda t: t, "fd_step": 0.0}, r"fd_step must be a finite number"),
        ("hutchinson", {"hessian": np.eye(3), "probez": 3}, r"unknown input\(s\) \['probez'\]"),
        ("exact_hessian_diag", {"hvp": 3}, r"hvp must be callable"),
        ("gn_diag", {}, r"jacobian=\(M, D\)"),
        ("gn_diag", {"jacobian": np.ones((4, 2))}, r"jacobian must have shape \(M >= 1, 3\)"),
        ("gn_diag", {"jacobian": np.ones((4, 3)), "weights": -np.ones(4)}, r"finite and >= 0"),
        ("gn_diag", {"jacobian": np.ones((4, 3)), "weights": np.ones(3)}, r"weights must have"),
        ("empirical_fisher", {}, r"per_sample_grads=\(N, D\) is required"),
        ("empirical_fisher", {"per_sample_grads": np.ones((0, 3))}, r"N >= 1"),
        (
            "empirical_fisher",
            {"per_sample_grads": np.ones((2, 3)), "reduction": "max"},
            r"reduction must be one of",
        ),
        ("ema_grad2", {}, r"give grads=\(T, D\) history or grad"),
        ("ema_grad2", {"grads": np.ones((2, 4))}, r"grads must have shape \(T, 3\)"),
        ("ema_grad2", {"grads": np.ones((2, 3)), "beta": 1.0}, r"beta must be a number in"),
        (
            "ema_grad2",
            {"grad": lambda t: t, "state": GradSquaredEMA(4)},
            r"GradSquaredEMA of dim 3",
        ),
    ],
)
def test_bad_inputs_are_refused_naming_the_input(name: str, inputs: dict, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        estimate_curvature(name, np.ones(3), **inputs)


@pytest.mark.parametrize("theta", [np.ones((2, 2)), np.array([]), np.array([1.0, np.nan]), "x"])
def test_bad_theta_is_refused(theta: object) -> None:
    with pytest.raises(ValidationError, match=r"theta"):
        estimate_curvature("gn_diag", theta, jacobian=np.ones((2, 2)))


def test_estimates_are_json_safe_and_core_typed() -> None:
    import msgspec

    for name, inputs in [
        ("hutchinson", {"hessian": np.eye(3), "probes": 4}),
        ("exact_hessian_diag", {"grad": lambda t: t}),
        ("ema_grad2", {"grads": np.ones((2, 3))}),
        ("empirical_fisher", {"per_sample_grads": np.ones((2, 3))}),
        ("gn_diag", {"jacobian": np.ones((2, 3))}),
    ]:
        est = estimate_curvature(name, np.ones(3), **inputs)
        assert isinstance(est, CurvatureEstimate) and est.diagonal.shape == (3,)
        assert msgspec.json.decode(msgspec.json.encode(est.metadata)) == est.metadata
        assert est.metadata["estimator"] == name
