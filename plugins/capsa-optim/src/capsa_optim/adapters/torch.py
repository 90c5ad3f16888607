"""torch -> numpy callables for the curvature estimators (``torch`` imported on call).

::

    from capsa_optim.adapters.torch import grad_from_torch, hvp_from_torch
    estimate_curvature("hutchinson", theta, hvp=hvp_from_torch(loss_fn))
    estimate_curvature("exact_hessian_diag", theta, grad_fn=grad_from_torch(loss_fn))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from capsa_optim.errors import MissingDependencyError


def _torch() -> Any:
    try:
        import torch  # type: ignore[import-not-found, unused-ignore]
        import torch.func  # type: ignore[import-not-found, unused-ignore]
    except ImportError as exc:
        raise MissingDependencyError(
            f"the torch adapters need torch ({exc}): pip install torch"
        ) from None
    return torch


def _tensor(torch: Any, x: Any) -> Any:
    return torch.as_tensor(x, dtype=torch.float64)


def grad_from_torch(loss_fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``grad_fn(theta) -> gradient`` (numpy float64) from a scalar torch loss.

    Pass it as ``grad_fn=`` (finite-difference HVPs, ``ema_grad2``).
    """
    import numpy as np

    torch = _torch()
    grad = torch.func.grad(loss_fn)

    def call(theta: Any) -> Any:
        return np.asarray(grad(_tensor(torch, theta)).detach().numpy(), dtype=np.float64)

    return call


def hvp_from_torch(loss_fn: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
    """A batched ``hvp(theta, V)`` (jvp of grad, vmapped over the columns of V).

    It takes θ, so it serves any θ; the estimators see the two-argument form
    in its signature (a one-argument ``hvp(V)`` closure works as well).
    """
    import numpy as np

    torch = _torch()
    grad = torch.func.grad(loss_fn)

    def one(theta: Any, v: Any) -> Any:
        return torch.func.jvp(grad, (theta,), (v,))[1]

    block = torch.func.vmap(one, in_dims=(None, 1), out_dims=1)

    def hvp(theta: Any, v: Any) -> Any:
        t, vv = _tensor(torch, theta), _tensor(torch, v)
        out = block(t, vv) if vv.ndim == 2 else one(t, vv)
        return np.asarray(out.detach().numpy(), dtype=np.float64)

    hvp.batched = True  # type: ignore[attr-defined]
    return hvp


def jacobian_from_torch(residual_fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``theta -> J`` (M, D) of a residual function (forward mode), for ``gn_diag``."""
    import numpy as np

    torch = _torch()
    jac = torch.func.jacfwd(residual_fn)

    def call(theta: Any) -> Any:
        return np.asarray(jac(_tensor(torch, theta)).detach().numpy(), dtype=np.float64)

    return call


def per_sample_grads_from_torch(
    loss_one: Callable[[Any, Any], Any], data: Any
) -> Callable[[Any], Any]:
    """``theta -> G`` (N, D): gradients of ``loss_one(theta, x_n)`` for each row of ``data``."""
    import numpy as np

    torch = _torch()
    per_sample = torch.func.vmap(torch.func.grad(loss_one), in_dims=(None, 0))
    batch = _tensor(torch, data)

    def call(theta: Any) -> Any:
        return np.asarray(
            per_sample(_tensor(torch, theta), batch).detach().numpy(), dtype=np.float64
        )

    return call
