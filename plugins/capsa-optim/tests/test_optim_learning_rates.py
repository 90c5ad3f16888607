"""lr_from_curvature: the seed's formula, method-dependent power, guardrails and their counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from capsa_optim import LearningRates, default_power, estimate_curvature, lr_from_curvature
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from capsa.errors import ValidationError
from capsa.estimators import CurvatureEstimate


@pytest.mark.parametrize(
    ("method", "power"),
    [
        ("hutchinson", 1.0),
        ("exact_hessian_diag", 1.0),
        ("gn_diag", 1.0),
        ("empirical_fisher", 1.0),
        ("ema_grad2", 0.5),
        ("fisher", 1.0),
        ("grad2", 0.5),
        (None, 0.5),
        ("something_else", 0.5),
    ],
)
def test_default_power_depends_on_the_method(method: str | None, power: float) -> None:
    assert default_power(method)[0] == power


def test_formula_and_recorded_settings() -> None:
    curv = np.array([1e-2, 1.0, 1e2])
    rates = lr_from_curvature(curv, 0.5, eps=1e-6, power=0.5)
    np.testing.assert_allclose(rates.lr_vec, 0.5 * (curv + 1e-6) ** -0.5, rtol=1e-15)
    np.testing.assert_allclose(rates.precond, (curv + 1e-6) ** -0.5, rtol=1e-15)
    m = rates.metadata
    assert m["power"] == 0.5 and m["power_source"] == "explicit" and m["eps"] == 1e-6
    assert m["lr_clip"] == [0.0, None] and m["counts"]["negative"] == 0
    assert rates.to_npz().keys() == {"lr_vec", "precond"}


def test_power_follows_the_estimate_and_is_recorded() -> None:
    h = np.diag([0.01, 1.0, 100.0])
    est = estimate_curvature("exact_hessian_diag", np.zeros(3), hessian=h)
    rates = lr_from_curvature(est, 1.0, eps=0.0)
    np.testing.assert_allclose(rates.lr_vec, 1 / np.diag(h), rtol=1e-15)
    assert rates.metadata["power"] == 1.0
    assert "Newton" in rates.metadata["power_source"]
    assert rates.metadata["estimator"]["estimator"] == "exact_hessian_diag"
    info = rates.preconditioning_info()
    assert info.method == "exact_hessian_diag" and info.power == 1.0
    ema = lr_from_curvature(CurvatureEstimate(np.ones(3), {"estimator": "ema_grad2"}), 0.1)
    assert ema.metadata["power"] == 0.5


def test_newton_scaling_converges_where_the_seed_default_diverges() -> None:
    # Diagonal quadratic with curvature spanning 1e-2..1e2 (MEASUREMENTS.md).
    h = np.logspace(-2, 2, 9)
    theta = np.ones(9)
    newton = lr_from_curvature(h, 1.0, eps=0.0, method="hutchinson").lr_vec
    assert np.abs(theta - newton * h * theta).max() < 1e-15  # one step, exact
    sqrt_rule = lr_from_curvature(h, 1.0, eps=0.0, method=None).lr_vec
    x = theta.copy()
    for _ in range(50):
        x = x - sqrt_rule * h * x
    assert np.abs(x).max() > 1e6  # base_lr * sqrt(h_i) >= 2 for the stiff entries


def test_clipping_floor_and_block_base_lr() -> None:
    curv = np.array([1e-8, 1.0, 1e8, 0.5])
    rates = lr_from_curvature(
        curv,
        np.array([1.0, 2.0, 1.0, 1.0]),
        eps=0.0,
        power=1.0,
        lr_min=1e-3,
        lr_max=10.0,
        curv_floor=1e-4,
    )
    np.testing.assert_allclose(rates.lr_vec, [10.0, 2.0, 1e-3, 2.0])
    c = rates.metadata["counts"]
    assert c["floored"] == 1 and c["clipped_max"] == 1 and c["clipped_min"] == 1
    assert rates.metadata["base_lr"] == "vector"


@pytest.mark.parametrize(
    ("negative", "expected"),
    [("abs", [1.0, 0.5]), ("floor", [1.0, 1.0 / 0.25])],
)
def test_negative_policies(negative: str, expected: list[float]) -> None:
    rates = lr_from_curvature(
        np.array([1.0, -2.0]), 1.0, eps=0.0, power=1.0, curv_floor=0.25, negative=negative
    )
    np.testing.assert_allclose(rates.lr_vec, expected)
    assert rates.metadata["counts"]["negative"] == 1


def test_nan_and_inf_policies() -> None:
    curv = np.array([1.0, np.nan, np.inf])
    with pytest.raises(
        ValidationError, match=r"1 NaN curvature entries \(first at indices \[1\]\)"
    ):
        lr_from_curvature(curv, 1.0)
    rates = lr_from_curvature(curv, 1.0, nan="lr_min", lr_min=1e-6, power=1.0)
    np.testing.assert_allclose(rates.lr_vec, [1.0 / (1.0 + 1e-8), 1e-6, 1e-6])
    assert rates.metadata["counts"]["nan"] == 1 and rates.metadata["counts"]["inf"] == 1
    assert np.isfinite(rates.precond).all()


def test_negative_raise_and_zero_curvature() -> None:
    with pytest.raises(ValidationError, match=r"2 negative curvature entries"):
        lr_from_curvature(np.array([-1.0, -2.0, 3.0]), 1.0, negative="raise")
    with pytest.raises(ValidationError, match=r"infinite learning rates"):
        lr_from_curvature(np.array([0.0, 1.0]), 1.0, eps=0.0)
    rates = lr_from_curvature(np.array([0.0, 1.0]), 1.0, eps=0.0, lr_max=5.0, power=1.0)
    np.testing.assert_allclose(rates.lr_vec, [5.0, 1.0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"curv": np.ones((2, 2))}, r"curvature must have shape \(D,\)"),
        ({"curv": ["a"]}, r"not a real vector"),
        ({"base_lr": 0.0}, r"base_lr must be > 0"),
        ({"base_lr": np.ones(2)}, r"base_lr must be a number > 0 or a finite positive vector"),
        ({"eps": -1.0}, r"eps must be >= 0"),
        ({"lr_max": 0.0}, r"lr_max must be > 0"),
        ({"power": 0}, r"power must be > 0"),
        ({"negative": "clip"}, r"negative must be one of"),
        ({"nan": "zero"}, r"nan must be one of"),
        ({"eps": math.inf}, r"eps must be a finite number"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict, match: str) -> None:
    args = {"curv": np.ones(3), "base_lr": 1.0, **kwargs}
    curv, base = args.pop("curv"), args.pop("base_lr")
    with pytest.raises(ValidationError, match=match):
        lr_from_curvature(curv, base, **args)


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        st.integers(1, 20),
        elements=st.floats(allow_nan=True, allow_infinity=True, width=64),
    ),
    st.sampled_from(["abs", "floor"]),
    st.floats(0.1, 2.0),
)
def test_output_is_always_finite(curv: np.ndarray, negative: str, power: float) -> None:
    rates = lr_from_curvature(
        curv, 0.1, nan="lr_min", negative=negative, power=power, eps=1e-12, lr_max=1e6
    )
    assert isinstance(rates, LearningRates)
    assert np.isfinite(rates.lr_vec).all() and (rates.lr_vec >= 0).all()
    assert np.isfinite(rates.precond).all()
    counts = rates.metadata["counts"]
    assert counts["nan"] == int(np.isnan(curv).sum())
    assert counts["negative"] == int((curv < 0).sum())
