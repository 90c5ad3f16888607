"""Checked inputs shared by the estimators.

θ, and Hessian-vector products from an ``hvp`` callable, a ``hessian`` matrix,
or a ``grad_fn`` function (central finite differences, whose step is recorded).

Input names follow the core's conventions (docs/plugins/estimators-and-signals.md):

- ``hvp(v) -> H @ v``, with θ fixed in the closure, or ``hvp(theta, v) -> H @ v``.
  The form is read from the callable's signature (its number of required
  positional parameters, see :func:`hvp_form`); ``hvp_takes_theta=`` or an
  ``hvp.takes_theta`` attribute overrides it. A callable whose signature
  cannot be read (some builtins and C functions) is called as ``hvp(theta, v)``.
- ``grad_fn(theta) -> gradient``; ``grad`` is an alias (giving both is refused).
"""

from __future__ import annotations

import inspect
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


HVP_FORMS = {False: "hvp(v)", True: "hvp(theta, v)"}
"""How an ``hvp`` callable is called, keyed by whether it takes θ (recorded as ``hvp_form``)."""

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def resolve_grad_fn(
    estimator: str, grad_fn: Any = None, grad: Any = None
) -> tuple[Callable[[Any], Any] | None, str]:
    """The gradient callable given as ``grad_fn`` or its alias ``grad``, and the name used.

    :return: ``(callable or None, "grad_fn" or "grad")``.
    :raises ValidationError: both names given, or the one given is not callable.
    """
    if grad_fn is not None and grad is not None:
        raise ValidationError(
            f"{estimator}: give grad_fn=theta -> gradient or its alias grad=, not both "
            "(got grad_fn and grad)"
        )
    name, fn = ("grad", grad) if grad is not None else ("grad_fn", grad_fn)
    if fn is not None and not callable(fn):
        raise ValidationError(
            f"{estimator}: {name} must be callable theta -> gradient, got {type(fn).__name__}"
        )
    return fn, name


def hvp_form(
    hvp: Callable[..., Any], estimator: str, takes_theta: bool | None = None
) -> tuple[bool, str]:
    """Whether ``hvp`` is called as ``hvp(theta, v)`` (True) or ``hvp(v)`` (False).

    Decided, in this order, by ``takes_theta`` (the estimators'
    ``hvp_takes_theta=``), by an ``hvp.takes_theta`` attribute, then by the
    signature: one required positional parameter means ``hvp(v)``, two mean
    ``hvp(theta, v)``; with none required, the positional parameters it can
    take decide (one: ``hvp(v)``; two or more: ``hvp(theta, v)``). A bare
    ``*args`` and a signature that cannot be read (some builtins and C
    functions) fall back to ``hvp(theta, v)``, the form capsa-optim has always
    used. The same rule holds for batched HVPs (``hvp(V)`` or ``hvp(theta, V)``).

    :return: ``(takes_theta, decided_by)``, ``decided_by`` one of
        ``"hvp_takes_theta"``, ``"attribute"``, ``"signature"``, ``"fallback"``.
    :raises ValidationError: the override is not a bool, or the signature
        takes no positional argument or requires more than two.
    """
    if takes_theta is not None:
        if not isinstance(takes_theta, bool):
            raise ValidationError(
                f"{estimator}: hvp_takes_theta must be True, False or None, got {takes_theta!r}"
            )
        return takes_theta, "hvp_takes_theta"
    attribute = getattr(hvp, "takes_theta", None)
    if attribute is not None:
        if not isinstance(attribute, bool):
            raise ValidationError(
                f"{estimator}: hvp.takes_theta must be True or False, got {attribute!r}"
            )
        return attribute, "attribute"
    try:
        signature = inspect.signature(hvp)
    except (TypeError, ValueError):
        return True, "fallback"
    params = list(signature.parameters.values())
    positional = [p for p in params if p.kind in _POSITIONAL]
    required = sum(1 for p in positional if p.default is inspect.Parameter.empty)
    var_positional = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
    if required == 1:
        return False, "signature"
    if required == 2:
        return True, "signature"
    if required == 0:
        if len(positional) >= 2:
            return True, "signature"
        if len(positional) == 1:
            return False, "signature"
        if var_positional:
            return True, "fallback"
    takes = f"requires {required} positional arguments" if required else "takes none"
    raise ValidationError(
        f"{estimator}: hvp must be hvp(v) -> H @ v or hvp(theta, v) -> H @ v, but its signature "
        f"{signature} {takes}; pass hvp_takes_theta= to say which form it is"
    )


class HvpOperator:
    """Hessian-vector products at θ, from exactly one source.

    The sources: ``hvp`` (``hvp(v)`` or ``hvp(theta, v)``, see :func:`hvp_form`),
    ``hessian`` (a (D, D) matrix), or ``grad_fn`` (alias ``grad``): central
    finite differences ``(grad_fn(θ + h v) - grad_fn(θ - h v)) / 2h`` with
    ``h = fd_step``, recorded in :meth:`metadata`.

    :ivar source: ``"hvp"``, ``"hessian"`` or ``"finite_difference"``.
    :ivar batched: True when :meth:`apply` handles a block of vectors in one call.
    :ivar takes_theta: for ``source == "hvp"``, whether it is called as ``hvp(theta, v)``.
    :ivar calls: HVP calls made (gradient calls for finite differences).
    """

    def __init__(
        self,
        theta: Any,
        estimator: str,
        *,
        hvp: Callable[..., Any] | None = None,
        hessian: Any = None,
        grad_fn: Callable[[Any], Any] | None = None,
        grad: Callable[[Any], Any] | None = None,
        fd_step: float = DEFAULT_FD_STEP,
        batched: bool | None = None,
        hvp_takes_theta: bool | None = None,
    ):
        gradient, grad_name = resolve_grad_fn(estimator, grad_fn, grad)
        given = [
            n
            for n, v in (("hvp", hvp), ("hessian", hessian), (grad_name, gradient))
            if v is not None
        ]
        if len(given) != 1:
            raise ValidationError(
                f"{estimator}: give exactly one of hvp=v -> H @ v (or (theta, v) -> H @ v), "
                f"hessian=(D, D) matrix, or grad_fn=theta -> gradient (finite differences); "
                f"got {given or 'none'}"
            )
        self.theta = theta
        self.dim = int(theta.shape[0])
        self.estimator = estimator
        self.calls = 0
        self.fd_step: float | None = None
        self.takes_theta: bool | None = None
        self._form_decided_by: str | None = None
        self._hvp = hvp
        self._grad = gradient
        self._grad_name = grad_name
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
                raise ValidationError(
                    f"{estimator}: hvp must be callable, hvp(v) -> H @ v or "
                    f"hvp(theta, v) -> H @ v, got {type(hvp).__name__}"
                )
            self.takes_theta, self._form_decided_by = hvp_form(hvp, estimator, hvp_takes_theta)
            self.source = "hvp"
            self.batched = bool(getattr(hvp, "batched", False) if batched is None else batched)
        else:
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
            out = np.asarray(self._call_hvp(vectors), dtype=np.float64)
            self.calls += k
            if out.shape != (dim, k):
                form = "hvp(theta, V)" if self.takes_theta else "hvp(V)"
                raise ValidationError(
                    f"{self.estimator}: batched {form} returned shape {out.shape} for V of "
                    f"shape {(dim, k)}"
                )
            if not np.isfinite(out).all():
                raise ValidationError(f"{self.estimator}: hvp returned NaN or infinity")
            return out
        out = np.empty((dim, k), dtype=np.float64)
        for j in range(k):
            out[:, j] = self._one(vectors[:, j])
        return out

    def _call_hvp(self, v: Any) -> Any:
        assert self._hvp is not None
        if not self.takes_theta:
            return self._hvp(v)
        if self._form_decided_by != "fallback":
            return self._hvp(self.theta, v)
        try:
            return self._hvp(self.theta, v)
        except TypeError as exc:
            raise ValidationError(
                f"{self.estimator}: hvp's signature could not be read, so it was called as "
                f"hvp(theta, v), which raised TypeError: {exc}; pass hvp_takes_theta=False "
                "if it is hvp(v)"
            ) from exc

    def _one(self, v: Any) -> Any:
        if self._hvp is not None:
            self.calls += 1
            return check_vector(self._call_hvp(v), self.dim, f"{self.estimator}: hvp")
        assert self._grad is not None and self.fd_step is not None
        h = self.fd_step
        what = f"{self.estimator}: {self._grad_name}"
        plus = check_vector(self._grad(self.theta + h * v), self.dim, what)
        minus = check_vector(self._grad(self.theta - h * v), self.dim, what)
        self.calls += 2
        return (plus - minus) / (2.0 * h)

    def metadata(self) -> dict[str, Any]:
        """JSON-safe facts about the operator (source, calls, fd_step, hvp form)."""
        out: dict[str, Any] = {"hvp_source": self.source, "batched": self.batched}
        if self.source == "finite_difference":
            out["fd_step"] = self.fd_step
            out["grad_calls"] = self.calls
        else:
            out["hvp_calls"] = self.calls
        if self.source == "hvp":
            assert self.takes_theta is not None
            out["hvp_form"] = HVP_FORMS[self.takes_theta]
            out["hvp_form_from"] = self._form_decided_by
        return out
