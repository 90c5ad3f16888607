"""Curvature-estimator inputs: ``hvp(v)`` or ``hvp(theta, v)``, ``grad_fn`` (alias ``grad``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from capsa_optim import GradSquaredEMA, estimate_curvature
from capsa_optim.curvature.inputs import DEFAULT_FD_STEP, hvp_form

from capsa.errors import ValidationError

D = 9


def spd(dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    return (q * np.logspace(-1, 2, dim)) @ q.T


H = spd(D, 21)
THETA = np.linspace(-1.0, 1.0, D)

HVP_ESTIMATORS = ("hutchinson", "exact_hessian_diag")
GRAD_ESTIMATORS = ("hutchinson", "exact_hessian_diag", "ema_grad2")


def probing(name: str, probes: int, seed: int = 0) -> dict[str, int]:
    """``probes`` and ``seed`` for ``hutchinson`` (the other estimators take neither)."""
    return {"probes": probes, "seed": seed} if name == "hutchinson" else {}


def without_form(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if k not in ("hvp_form", "hvp_form_from")}


@pytest.mark.parametrize("name", HVP_ESTIMATORS)
def test_one_and_two_argument_hvp_give_identical_results(name: str) -> None:
    seen: list[int] = []

    def one(v: np.ndarray) -> np.ndarray:  # θ fixed in the closure, as the issue writes it
        seen.append(1)
        return H @ v

    def two(theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        np.testing.assert_array_equal(theta, THETA)
        seen.append(2)
        return H @ v

    first = estimate_curvature(name, THETA, hvp=one, **probing(name, 25, 3))
    second = estimate_curvature(name, THETA, hvp=two, **probing(name, 25, 3))
    assert set(seen) == {1, 2}
    assert first.diagonal.tobytes() == second.diagonal.tobytes()
    if name == "hutchinson":
        assert first.stderr.tobytes() == second.stderr.tobytes()
    else:
        np.testing.assert_array_equal(first.diagonal, np.diag(H))
    assert first.metadata["hvp_form"] == "hvp(v)"
    assert second.metadata["hvp_form"] == "hvp(theta, v)"
    assert first.metadata["hvp_form_from"] == second.metadata["hvp_form_from"] == "signature"
    assert without_form(first.metadata) == without_form(second.metadata)


@pytest.mark.parametrize("name", HVP_ESTIMATORS)
def test_batched_hvp_both_ways(name: str) -> None:
    shapes: dict[str, list[tuple[int, ...]]] = {"one": [], "two": []}

    def one(block: np.ndarray) -> np.ndarray:
        shapes["one"].append(block.shape)
        return H @ block

    def two(theta: np.ndarray, block: np.ndarray) -> np.ndarray:
        shapes["two"].append(block.shape)
        return H @ block

    two.batched = True  # type: ignore[attr-defined]
    by_one = estimate_curvature(
        name, THETA, hvp=one, batched=True, batch_size=5, **probing(name, 10)
    )
    by_two = estimate_curvature(name, THETA, hvp=two, batch_size=5, **probing(name, 10))
    assert shapes["one"] == shapes["two"] and shapes["one"][0] == (D, 5)
    assert by_one.diagonal.tobytes() == by_two.diagonal.tobytes()
    assert by_one.metadata["batched"] is by_two.metadata["batched"] is True
    assert by_one.metadata["hvp_form"] == "hvp(v)"
    unbatched = estimate_curvature(name, THETA, hvp=lambda v: H @ v, **probing(name, 10))
    np.testing.assert_allclose(by_one.diagonal, unbatched.diagonal, rtol=1e-12, atol=1e-12)


def test_the_form_is_read_from_any_callable_signature() -> None:
    class Operator:
        def __call__(self, v: np.ndarray) -> np.ndarray:
            return H @ v

        def at(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
            return H @ v

    def with_options(theta: np.ndarray, v: np.ndarray, scale: float = 1.0) -> np.ndarray:
        return scale * (H @ v)

    def no_args() -> None:  # pragma: no cover - refused before any call
        return None

    cases: list[tuple[Callable[..., Any], bool]] = [
        (lambda v: v, False),
        (lambda t, v: v, True),
        (Operator(), False),
        (Operator().at, True),  # bound method: self is not counted
        (functools.partial(with_options, THETA), False),
        (with_options, True),
        (lambda v=None: v, False),
        (lambda t=None, v=None: v, True),
    ]
    for hvp, takes_theta in cases:
        assert hvp_form(hvp, "hutchinson") == (takes_theta, "signature")
    # A C function: (a, b) from its published signature, or the two-argument fallback.
    assert hvp_form(np.dot, "hutchinson")[0] is True
    with pytest.raises(ValidationError, match=r"requires 3 positional arguments"):
        hvp_form(lambda a, b, c: c, "hutchinson")
    with pytest.raises(ValidationError, match=r"takes none; pass hvp_takes_theta="):
        hvp_form(no_args, "hutchinson")


def test_unreadable_signatures_fall_back_to_two_arguments_and_can_be_overridden() -> None:
    def two(theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        return H @ v

    def one(v: np.ndarray) -> np.ndarray:
        return H @ v

    two.__signature__ = "unreadable"  # type: ignore[attr-defined]  # inspect raises TypeError
    one.__signature__ = "unreadable"  # type: ignore[attr-defined]
    assert hvp_form(two, "hutchinson") == (True, "fallback")
    assert hvp_form(max, "hutchinson") == (True, "fallback")  # a builtin: ValueError
    assert hvp_form(lambda *args: args[-1], "hutchinson") == (True, "fallback")

    est = estimate_curvature("exact_hessian_diag", THETA, hvp=two)
    np.testing.assert_array_equal(est.diagonal, np.diag(H))
    assert est.metadata["hvp_form"] == "hvp(theta, v)"
    assert est.metadata["hvp_form_from"] == "fallback"
    with pytest.raises(ValidationError, match=r"pass hvp_takes_theta=False if it is hvp\(v\)"):
        estimate_curvature("exact_hessian_diag", THETA, hvp=one)
    forced = estimate_curvature("exact_hessian_diag", THETA, hvp=one, hvp_takes_theta=False)
    np.testing.assert_array_equal(forced.diagonal, np.diag(H))
    assert forced.metadata["hvp_form_from"] == "hvp_takes_theta"
    one.takes_theta = False  # type: ignore[attr-defined]
    by_attribute = estimate_curvature("hutchinson", THETA, hvp=one, probes=3)
    assert by_attribute.metadata["hvp_form"] == "hvp(v)"
    assert by_attribute.metadata["hvp_form_from"] == "attribute"
    # The parameter wins over the attribute (and the signature): one(v) gets two arguments.
    with pytest.raises(TypeError):
        estimate_curvature("hutchinson", THETA, hvp=one, hvp_takes_theta=True)
    with pytest.raises(TypeError):
        estimate_curvature("hutchinson", THETA, hvp=lambda v: v, hvp_takes_theta=True)
    with pytest.raises(ValidationError, match=r"hvp_takes_theta must be True, False or None"):
        estimate_curvature("hutchinson", THETA, hvp=lambda v: v, hvp_takes_theta=1)


@pytest.mark.parametrize("name", GRAD_ESTIMATORS)
def test_grad_fn_works_for_every_estimator_that_takes_a_gradient(name: str) -> None:
    def grad_fn(theta: np.ndarray) -> np.ndarray:  # of 0.5 θᵀHθ
        return H @ theta

    new = estimate_curvature(name, THETA, grad_fn=grad_fn, **probing(name, 12, 4))
    old = estimate_curvature(name, THETA, grad=grad_fn, **probing(name, 12, 4))
    assert new.diagonal.tobytes() == old.diagonal.tobytes()
    assert new.metadata == old.metadata
    if name == "ema_grad2":
        np.testing.assert_allclose(new.diagonal, (H @ THETA) ** 2, rtol=1e-12)
        state = GradSquaredEMA(D, beta=0.5)
        for _ in range(3):
            estimate_curvature(name, THETA, grad_fn=grad_fn, state=state)
        assert state.steps == 3
    else:
        assert new.metadata["hvp_source"] == "finite_difference"
    if name == "exact_hessian_diag":
        assert np.max(np.abs(new.diagonal - np.diag(H))) < 1e-9 * np.max(np.diag(H))


@pytest.mark.parametrize("name", GRAD_ESTIMATORS)
def test_grad_and_grad_fn_together_are_refused(name: str) -> None:
    with pytest.raises(ValidationError, match=r"grad_fn=.*its alias grad=, not both"):
        estimate_curvature(name, THETA, grad_fn=lambda t: t, grad=lambda t: t)


@pytest.mark.parametrize(
    ("name", "inputs", "match"),
    [
        ("hutchinson", {"hvp": 3}, r"hutchinson: hvp must be callable, hvp\(v\) -> H @ v .*int"),
        ("exact_hessian_diag", {"hvp": np.eye(D)}, r"hvp must be callable.*got ndarray"),
        ("hutchinson", {"grad_fn": "x"}, r"grad_fn must be callable theta -> gradient, got str"),
        ("exact_hessian_diag", {"grad": [1.0]}, r"grad must be callable theta -> gradient"),
        ("ema_grad2", {"grad_fn": 2.0}, r"ema_grad2: grad_fn must be callable"),
        ("ema_grad2", {"grad": np.ones(D)}, r"ema_grad2: grad must be callable"),
    ],
)
def test_non_callables_are_refused_with_a_clear_message(
    name: str, inputs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValidationError, match=match):
        estimate_curvature(name, THETA, **inputs)


def test_bad_gradients_are_reported_under_the_name_given() -> None:
    with pytest.raises(ValidationError, match=r"hutchinson: grad_fn returned shape \(2,\)"):
        estimate_curvature("hutchinson", THETA, grad_fn=lambda t: t[:2])
    with pytest.raises(ValidationError, match=r"hutchinson: grad returned shape \(2,\)"):
        estimate_curvature("hutchinson", THETA, grad=lambda t: t[:2])
    with pytest.raises(ValidationError, match=r"ema_grad2: grad_fn returned NaN"):
        estimate_curvature("ema_grad2", THETA, grad_fn=lambda t: t * np.nan)
    with pytest.raises(
        ValidationError, match=r"give exactly one of hvp=.*got \['hvp', 'grad_fn'\]"
    ):
        estimate_curvature("hutchinson", THETA, hvp=lambda v: v, grad_fn=lambda t: t)


@pytest.mark.parametrize("name", HVP_ESTIMATORS)
def test_the_finite_difference_step_is_recorded(name: str) -> None:
    import msgspec

    default = estimate_curvature(name, THETA, grad_fn=lambda t: H @ t, **probing(name, 4))
    assert default.metadata["fd_step"] == DEFAULT_FD_STEP
    given = estimate_curvature(
        name, THETA, grad_fn=lambda t: H @ t, fd_step=1e-3, **probing(name, 4)
    )
    meta = given.metadata
    assert meta["hvp_source"] == "finite_difference" and meta["fd_step"] == 1e-3
    assert meta["grad_calls"] == 2 * (4 if name == "hutchinson" else D)
    assert msgspec.json.decode(msgspec.json.encode(meta)) == meta
    by_hvp = estimate_curvature(name, THETA, hvp=lambda v: H @ v, **probing(name, 4))
    assert "fd_step" not in by_hvp.metadata
