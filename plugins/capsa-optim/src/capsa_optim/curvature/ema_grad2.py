"""``ema_grad2``: an exponential moving average of squared gradients (RMSProp/Adam style).

v_t = β v_{t-1} + (1 - β) g_t², started at zero; with bias correction the
estimate is v_t / (1 - β^t), which reproduces a constant g² exactly (up to
rounding) from the first step. It is a squared-gradient statistic, so the
learning rates built from it default to power 0.5.

The state lives in a :class:`GradSquaredEMA` you own (the registered
estimator itself is stateless and safe to share)::

    ema = GradSquaredEMA(dim, beta=0.99)
    for t in ...:
        ema.update(g)
    curv = ema.estimate()          # a CurvatureEstimate
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from capsa.errors import ValidationError
from capsa.estimators import CurvatureEstimate
from capsa_optim.curvature.inputs import as_theta, check_count, check_vector, resolve_grad_fn

DEFAULT_BETA = 0.99
"""EMA decay used when ``beta`` is not given."""


def _check_beta(beta: Any) -> float:
    if isinstance(beta, bool) or not isinstance(beta, int | float) or not 0.0 <= beta < 1.0:
        raise ValidationError(f"ema_grad2: beta must be a number in [0, 1), got {beta!r}")
    return float(beta)


class GradSquaredEMA:
    """The stateful EMA of g² (one per optimizer run).

    :param dim: θ dimension D.
    :param beta: decay in [0, 1).
    :param bias_correction: divide by ``1 - beta**t``.
    """

    def __init__(self, dim: int, *, beta: float = DEFAULT_BETA, bias_correction: bool = True):
        import numpy as np

        self.dim = check_count(dim, "dim", "ema_grad2")
        self.beta = _check_beta(beta)
        self.bias_correction = bool(bias_correction)
        self.steps = 0
        """Gradients folded in so far."""
        self._v = np.zeros(self.dim)
        self._decay = 1.0  # beta ** steps

    def update(self, grad: Any) -> Any:
        """Fold one gradient in; return the current estimate."""
        g = check_vector(grad, self.dim, "ema_grad2: grad")
        self._v *= self.beta
        self._v += (1.0 - self.beta) * g * g
        self.steps += 1
        self._decay *= self.beta
        return self.value

    @property
    def value(self) -> Any:
        """The current estimate (bias-corrected when asked), shape (D,)."""
        import numpy as np

        if self.steps == 0:
            return np.zeros(self.dim)
        if self.bias_correction:
            return self._v / (1.0 - self._decay)
        return self._v.copy()

    def estimate(self) -> CurvatureEstimate:
        """The current estimate with its metadata."""
        return CurvatureEstimate(
            diagonal=self.value,
            metadata={
                "estimator": EmaGrad2.name,
                "method": EmaGrad2.method,
                "curvature_type": EmaGrad2.curvature_type,
                "dim": self.dim,
                "beta": self.beta,
                "bias_correction": self.bias_correction,
                "steps": self.steps,
                "init": "zeros",
            },
        )


class EmaGrad2:
    """EMA of squared gradients (registered as ``ema_grad2``).

    ``estimate(theta, grads=G)`` folds a (T, D) gradient history;
    ``estimate(theta, grad_fn=f, state=ema)`` updates your :class:`GradSquaredEMA`
    with ``f(theta)`` (one optimizer step) and returns its estimate;
    ``estimate(theta, grad_fn=f)`` alone is a one-step EMA (g² with bias correction).
    ``grad`` is an alias of ``grad_fn`` (giving both is refused).
    """

    name: str = "ema_grad2"
    curvature_type: ClassVar[str] = "grad2"
    method: ClassVar[str] = "ema_grad2"

    def estimate(
        self,
        theta: Any,
        *,
        grads: Any = None,
        grad_fn: Callable[[Any], Any] | None = None,
        grad: Callable[[Any], Any] | None = None,
        state: GradSquaredEMA | None = None,
        beta: float = DEFAULT_BETA,
        bias_correction: bool = True,
        **inputs: Any,
    ) -> CurvatureEstimate:
        """Fold gradients into an EMA of g² and return it (see the class docs).

        :param grads: a (T, D) gradient history, folded row by row.
        :param grad_fn: ``grad_fn(theta) -> gradient``, one step (alias ``grad``).
        :param state: your :class:`GradSquaredEMA` to update (default: a fresh one).
        :param beta: EMA decay in [0, 1) of a fresh state.
        :param bias_correction: divide a fresh state by ``1 - beta**t``.
        """
        import numpy as np

        if inputs:
            raise ValidationError(f"ema_grad2: unknown input(s) {sorted(inputs)}")
        x = as_theta(theta, self.name)
        dim = x.shape[0]
        gradient, grad_name = resolve_grad_fn(self.name, grad_fn, grad)
        if (grads is None) == (gradient is None):
            raise ValidationError(
                "ema_grad2: give grads=(T, D) history or grad_fn=theta -> gradient (not both)"
            )
        if state is not None:
            if not isinstance(state, GradSquaredEMA) or state.dim != dim:
                raise ValidationError(
                    f"ema_grad2: state must be a GradSquaredEMA of dim {dim}, got {state!r}"
                )
            ema = state
        else:
            ema = GradSquaredEMA(dim, beta=beta, bias_correction=bias_correction)
        if grads is not None:
            history = np.asarray(grads, dtype=np.float64)
            if history.ndim != 2 or history.shape[1] != dim:
                raise ValidationError(
                    f"ema_grad2: grads must have shape (T, {dim}), got {history.shape}"
                )
            for row in history:
                ema.update(row)
        else:
            assert gradient is not None
            g = check_vector(gradient(x), dim, f"ema_grad2: {grad_name}")
            ema.update(g)
        return ema.estimate()
