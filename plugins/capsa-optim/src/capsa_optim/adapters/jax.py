"""JAX -> numpy callables for the curvature estimators (``jax`` imported on call).

::

    from capsa_optim.adapters.jax import grad_from_jax, hvp_from_jax
    estimate_curvature("hutchinson", theta, hvp=hvp_from_jax(loss_fn))   # batched probes
    estimate_curvature("exact_hessian_diag", theta, grad_fn=grad_from_jax(loss_fn))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from capsa_optim.errors import MissingDependencyError


def _jax() -> Any:
    try:
        import jax  # type: ignore[import-not-found, unused-ignore]
    except ImportError as exc:
        raise MissingDependencyError(
            f"the JAX adapters need jax ({exc}): pip install jax"
        ) from None
    return jax


def grad_from_jax(loss_fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``grad_fn(theta) -> gradient`` (numpy float64) from a scalar JAX loss.

    Pass it as ``grad_fn=`` (finite-difference HVPs, ``ema_grad2``).
    """
    import numpy as np

    jax = _jax()
    grad = jax.jit(jax.grad(loss_fn))

    def call(theta: Any) -> Any:
        return np.asarray(grad(jax.numpy.asarray(theta)), dtype=np.float64)

    return call


def hvp_from_jax(loss_fn: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
    """A batched ``hvp(theta, V)`` (jvp of grad, vmapped over the columns of V).

    It takes θ, so it serves any θ; the estimators see the two-argument form
    in its signature (a one-argument ``hvp(V)`` closure works as well).
    """
    import numpy as np

    jax = _jax()
    grad = jax.grad(loss_fn)

    def one(theta: Any, v: Any) -> Any:
        return jax.jvp(grad, (theta,), (v,))[1]

    block = jax.jit(jax.vmap(one, in_axes=(None, 1), out_axes=1))
    single = jax.jit(one)

    def hvp(theta: Any, v: Any) -> Any:
        t, vv = jax.numpy.asarray(theta), jax.numpy.asarray(v)
        out = block(t, vv) if vv.ndim == 2 else single(t, vv)
        return np.asarray(out, dtype=np.float64)

    hvp.batched = True  # type: ignore[attr-defined]
    return hvp


def jacobian_from_jax(residual_fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``theta -> J`` (M, D) of a residual function (forward mode), for ``gn_diag``."""
    import numpy as np

    jax = _jax()
    jac = jax.jit(jax.jacfwd(residual_fn))

    def call(theta: Any) -> Any:
        return np.asarray(jac(jax.numpy.asarray(theta)), dtype=np.float64)

    return call


def per_sample_grads_from_jax(
    loss_one: Callable[[Any, Any], Any], data: Any
) -> Callable[[Any], Any]:
    """``theta -> G`` (N, D): gradients of ``loss_one(theta, x_n)`` for each row of ``data``."""
    import numpy as np

    jax = _jax()
    per_sample = jax.jit(jax.vmap(jax.grad(loss_one), in_axes=(None, 0)))
    batch = jax.numpy.asarray(data)

    def call(theta: Any) -> Any:
        return np.asarray(per_sample(jax.numpy.asarray(theta), batch), dtype=np.float64)

    return call
