"""Checked inputs shared by the estimators.

θ, and Hessian-vector products from an ``hvp`` callable, a ``hessian`` matrix,
or a ``grad`` function (central finite differences, whose step is recorded).

Input names follow the core's conventions (docs/plugins/estimators-and-signals.md):
``hvp(theta, v) -> H @ v``, ``grad(theta) -> gradient``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from capsa.errors import ValidationError

DEFAULT_FD_STEP = 1e-4
"""Step of the central finite-difference HVP (accurate to ~1e-12 relative on quadratics)."""

MAX_BATCH_BYTES = 64 << 20
"""Largest block of probe vectors handed to a batched operator at once."""


def as_theta(theta: Any, estimator: str) -> Any:
    """θ as a finite float64 vector (D,), D >= 1."""
    import numpy as np

    try:
        arr = np.asarray(theta, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{estimator}: theta is not a real vector: {exc}") from None
    if arr.ndim != 1 or arr.shape[0] == 0:
        raise ValidationError(f"{estimator}: theta must have shape (D,), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValidationError(f"{estimator}: theta holds NaN or infinity")
    return arr


def check_vector(value: Any, dim: int, what: str) -> Any:
    """A callable's output: finite, real, shape (dim,)."""
    import numpy as np

    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (dim,):
        raise ValidationError(f"{what} returned shape {arr.shape}, expected ({dim},)")
    if not np.isfinite(arr).all():
        raise ValidationError(f"{what} returned NaN or infinity")
    return arr


def check_count(value: Any, name: str, estimator: str, *, minimum: int = 1) -> int:
    """An int option >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValidationError(f"{estimator}: {name} must be an int >= {minimum}, got {value!r}")
    return value


def check_positive(value: Any, name: str, estimator: str) -> float:
    """A finite float option > 0."""
    import math

    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (math.isfinite(value) and value > 0)
    ):
        raise ValidationError(f"{estimator}: {name} must be a finite number > 0, got {value!r}")
    return float(value)


class HvpOperator:
    """Hessian-vector products at θ, from exactly one source.

    :ivar source: ``"hvp"``, ``"hessian"`` or ``"finite_difference"``.
    :ivar batched: True when :meth:`apply` handles a block of vectors in one call.
    :ivar calls: HVP calls made (gradient calls for finite differences).
    """

    def __init__(
        self,
        theta: Any,
        estimator: str,
        *,
        hvp: Callable[..., Any] | None = None,
        hessian: Any = None,
        grad: Callable[[Any], Any] | None = None,
        fd_step: float = DEFAULT_FD_STEP,
        batched: bool | None = None,
    ):
        given = [
            n for n, v in (("hvp", hvp), ("hessian", hessian), ("grad", grad)) if v is not None
        ]
        if len(given) != 1:
            raise ValidationError(
                f"{estimator}: give exactly one of hvp=(theta, v) -> H @ v, hessian=(D, D) "
                f"matrix, or grad=theta -> gradient (finite differences); got {given or 'none'}"
            )
        self.theta = theta
        self.dim = int(theta.shape[0])
        self.estimator = estimator
        self.calls = 0
        self.fd_step: float | None = None
        self._hvp = hvp
        self._grad = grad
        self._hessian: Any = None
        if hessian is not None:
            shape = getattr(hessian, "shape", None)
            if (
                shape is None
                or tuple(shape) != (self.dim, self.dim)
                or not hasattr(hessian, "__matmul__")
            ):
                raise ValidationError(
                    f"{estimator}: hessian must be a ({self.dim}, {self.dim}) matrix supporting "
                    f"@, got {type(hessian).__name__} of shape {shape}"
                )
            self._hessian = hessian
            self.source = "hessian"
            self.batched = True
        elif hvp is not None:
            if not callable(hvp):
                raise ValidationError(f"{estimator}: hvp must be callable (theta, v) -> H @ v")
            self.source = "hvp"
            self.batched = bool(getattr(hvp, "batched", False) if batched is None else batched)
        else:
            if not callable(grad):
                raise ValidationError(f"{estimator}: grad must be callable theta -> gradient")
            self.fd_step = check_positive(fd_step, "fd_step", estimator)
            self.source = "finite_difference"
            self.batched = False

    def batch_size(self, requested: int | None, total: int) -> int:
        """Vectors per :meth:`apply` call: 1 unless batched (then bounded by memory)."""
        if not self.batched:
            return 1
        if requested is not None:
            return min(check_count(requested, "batch_size", self.estimator), total)
        return max(1, min(total, MAX_BATCH_BYTES // (8 * self.dim)))

    def apply(self, vectors: Any) -> Any:
        """``H @ V`` for a block ``V`` of shape (D, k) (one call when batched)."""
        import numpy as np

        dim, k = vectors.shape
        if self._hessian is not None:
            out = np.asarray(self._hessian @ vectors, dtype=np.float64)
            self.calls += k
            if out.shape != (dim, k) or not np.isfinite(out).all():
                raise ValidationError(
                    f"{self.estimator}: hessian @ V gave shape {out.shape} or non-finite values"
                )
            return out
        if self.batched:
            assert self._hvp is not None
            out = np.asarray(self._hvp(self.theta, vectors), dtype=np.float64)
            self.calls += k
            if out.shape != (dim, k):
                raise ValidationError(
                    f"{self.estimator}: batched hvp(theta, V) returned shape {out.shape} for V of "
                    f"shape {(dim, k)}"
                )
            if not np.isfinite(out).all():
                raise ValidationError(f"{self.estimator}: hvp returned NaN or infinity")
            return out
        out = np.empty((dim, k), dtype=np.float64)
        for j in range(k):
            out[:, j] = self._one(vectors[:, j])
        return out

    def _one(self, v: Any) -> Any:
        if self._hvp is not None:
            self.calls += 1
            return check_vector(self._hvp(self.theta, v), self.dim, f"{self.estimator}: hvp")
        assert self._grad is not None and self.fd_step is not None
        h = self.fd_step
        plus = check_vector(self._grad(self.theta + h * v), self.dim, f"{self.estimator}: grad")
        minus = check_vector(self._grad(self.theta - h * v), self.dim, f"{self.estimator}: grad")
        self.calls += 2
        return (plus - minus) / (2.0 * h)

    def metadata(self) -> dict[str, Any]:
        """JSON-safe facts about the operator (source, calls, fd_step)."""
        out: dict[str, Any] = {"hvp_source": self.source, "batched": self.batched}
        if self.source == "finite_difference":
            out["fd_step"] = self.fd_step
            out["grad_calls"] = self.calls
        else:
            out["hvp_calls"] = self.calls
        return out
