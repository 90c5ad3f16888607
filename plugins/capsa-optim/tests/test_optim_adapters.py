"""JAX and torch adapters (tested only where those libraries are installed)."""

from __future__ import annotations

import numpy as np
import pytest
from capsa_optim import estimate_curvature


def test_jax_adapters() -> None:
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    from capsa_optim.adapters.jax import (
        grad_from_jax,
        hvp_from_jax,
        jacobian_from_jax,
        per_sample_grads_from_jax,
    )

    h = np.diag([1.0, 10.0, 100.0])

    def loss(theta):  # type: ignore[no-untyped-def]
        return 0.5 * theta @ jnp.asarray(h) @ theta

    theta = np.ones(3)
    np.testing.assert_allclose(grad_from_jax(loss)(theta), h @ theta)
    est = estimate_curvature("hutchinson", theta, hvp=hvp_from_jax(loss), probes=3)
    np.testing.assert_allclose(est.diagonal, np.diag(h))
    assert est.metadata["batched"] is True
    jac = jacobian_from_jax(lambda t: jnp.stack([t[0] * 2, t[1] * t[2]]))(theta)
    np.testing.assert_allclose(jac, [[2, 0, 0], [0, 1, 1]])
    data = np.arange(6.0).reshape(3, 2)
    grads = per_sample_grads_from_jax(lambda t, x: (t[:2] @ x) ** 2 / 2, data)(theta)
    assert grads.shape == (3, 3)


def test_torch_adapters() -> None:
    torch = pytest.importorskip("torch")
    from capsa_optim.adapters.torch import grad_from_torch, hvp_from_torch, jacobian_from_torch

    h = torch.diag(torch.tensor([1.0, 10.0, 100.0], dtype=torch.float64))

    def loss(theta):  # type: ignore[no-untyped-def]
        return 0.5 * theta @ h @ theta

    theta = np.ones(3)
    np.testing.assert_allclose(grad_from_torch(loss)(theta), [1.0, 10.0, 100.0])
    est = estimate_curvature("hutchinson", theta, hvp=hvp_from_torch(loss), probes=3)
    np.testing.assert_allclose(est.diagonal, [1.0, 10.0, 100.0])
    jac = jacobian_from_torch(lambda t: t * 2)(theta)
    np.testing.assert_allclose(jac, 2 * np.eye(3))


def test_missing_libraries_give_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from capsa_optim.adapters import jax as jax_adapter
    from capsa_optim.adapters import torch as torch_adapter
    from capsa_optim.errors import MissingDependencyError

    real_import = builtins.__import__

    def no_jax_or_torch(name, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name.split(".")[0] in ("jax", "torch"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_jax_or_torch)
    with pytest.raises(MissingDependencyError, match=r"pip install jax"):
        jax_adapter.hvp_from_jax(lambda t: t)
    with pytest.raises(MissingDependencyError, match=r"pip install torch"):
        torch_adapter.grad_from_torch(lambda t: t)
