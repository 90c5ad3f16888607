"""Per-index learning rates from a diagonal curvature vector.

The seed's rule, with its guardrails::

    c      = max(curv, curv_floor)             (negative / NaN entries: explicit policies)
    precond = (c + eps) ** -power
    lr_vec  = clip(base_lr * precond, lr_min, lr_max)

The default ``power`` depends on what the curvature measures: 1 (Newton
scaling, ``lr = base_lr / h``) for Hessian, Gauss-Newton and Fisher
diagonals, 0.5 (RMSProp/Adam scaling) for squared-gradient statistics such
as ``ema_grad2``. On a quadratic with curvatures spanning 1e-2..1e2, power 1
with base_lr = 1 converges in one step, while base_lr/√h diverges unless
base_lr·√hᵢ < 2 for every i. Without any indication of the method the
seed's own form (power 0.5) is used. The choice and its reason are recorded.

The output is always finite: every policy is explicit and the number of
entries each guardrail touched is recorded in ``metadata["counts"]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from capsa.errors import ValidationError

if TYPE_CHECKING:
    from capsa_optim.schema import PreconditioningInfo

POWER_BY_CURVATURE = {"hessian": 1.0, "gauss_newton": 1.0, "fisher": 1.0, "grad2": 0.5}
"""Default power per curvature type."""

SEED_DEFAULT_POWER = 0.5
"""The seed's ``precond = 1 / sqrt(curv + eps)``: used when nothing tells the method."""

NEGATIVE_POLICIES = ("abs", "floor", "raise")
"""Negative curvature: use its magnitude, replace it by ``curv_floor``, or refuse."""

NAN_POLICIES = ("raise", "lr_min")
"""NaN curvature: refuse, or give those entries ``lr_min`` (frozen when 0)."""


def default_power(method: str | None) -> tuple[float, str]:
    """The default power for an estimator name or curvature type, and why.

    ``"hutchinson"``, ``"exact_hessian_diag"``, ``"gn_diag"``,
    ``"empirical_fisher"`` (or ``"hessian"``, ``"gauss_newton"``, ``"fisher"``)
    give 1.0; ``"ema_grad2"`` (``"grad2"``) gives 0.5; anything else the
    seed's 0.5.
    """
    from capsa_optim.curvature.api import CURVATURE_TYPES

    kind = CURVATURE_TYPES.get(method or "", method)
    if kind in POWER_BY_CURVATURE:
        power = POWER_BY_CURVATURE[kind]
        reason = "Newton scaling" if power == 1.0 else "squared-gradient (RMSProp) scaling"
        return power, f"default for {kind} curvature ({reason})"
    return SEED_DEFAULT_POWER, "seed default (method unknown)"


@dataclass(frozen=True)
class LearningRates:
    """A per-index learning-rate vector and how it was built.

    :ivar lr_vec: learning rates (D,), finite.
    :ivar precond: ``(c + eps) ** -power`` (D,) before ``base_lr`` and clipping.
    :ivar metadata: JSON-safe settings and guardrail counts.
    """

    lr_vec: Any
    precond: Any
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_npz(self) -> dict[str, Any]:
        """The arrays of ``precond.npz``."""
        return {"lr_vec": self.lr_vec, "precond": self.precond}

    def preconditioning_info(self) -> PreconditioningInfo:
        """The ``optimizer.preconditioning`` block of ``meta.json``."""
        from capsa_optim.schema import PreconditioningInfo

        m = self.metadata
        return PreconditioningInfo(
            method=str(m.get("method") or "unknown"),
            power=m.get("power"),
            eps=m.get("eps"),
            lr_clip=list(m.get("lr_clip", [None, None])),
            curv_floor=m.get("curv_floor"),
            negative=m.get("negative"),
            estimator=dict(m.get("estimator", {})),
            counts=dict(m.get("counts", {})),
        )


def _number(value: Any, name: str, *, minimum: float = 0.0, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"lr_from_curvature: {name} must be a finite number, got {value!r}")
    if value < minimum or (strict and value == minimum):
        cmp = ">" if strict else ">="
        raise ValidationError(f"lr_from_curvature: {name} must be {cmp} {minimum}, got {value!r}")
    return float(value)


def lr_from_curvature(
    curv: Any,
    base_lr: Any,
    *,
    eps: float = 1e-8,
    lr_min: float = 0.0,
    lr_max: float | None = None,
    power: float | None = None,
    curv_floor: float = 0.0,
    negative: str = "abs",
    nan: str = "raise",
    method: str | None = None,
) -> LearningRates:
    """Turn a diagonal curvature into per-index learning rates.

    :param curv: a (D,) array or a :class:`~capsa.estimators.CurvatureEstimate`
        (its metadata names the method and is recorded).
    :param base_lr: a number > 0, or a (D,) vector (block-level rates, see
        :meth:`IndexMap.block_vector`).
    :param eps: damping added to the curvature (>= 0).
    :param lr_min: lower clip (>= 0).
    :param lr_max: upper clip (None: no upper clip).
    :param power: exponent; default from the method (see :func:`default_power`).
    :param curv_floor: curvature lower bound (>= 0).
    :param negative: ``"abs"``, ``"floor"`` or ``"raise"`` for negative entries.
    :param nan: ``"raise"`` or ``"lr_min"`` for NaN entries.
    :param method: estimator name or curvature type, when ``curv`` is a bare array.
    :raises ValidationError: bad settings; shapes; NaN or negative entries
        under ``"raise"``; settings that would give infinite rates (zero
        curvature with ``eps = curv_floor = 0`` and no ``lr_max``).
    """
    import numpy as np

    from capsa.estimators import CurvatureEstimate

    estimator_meta: dict[str, Any] = {}
    if isinstance(curv, CurvatureEstimate):
        estimator_meta = dict(curv.metadata)
        method = method or estimator_meta.get("estimator") or estimator_meta.get("curvature_type")
        values = curv.diagonal
    else:
        values = curv
    try:
        c = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"lr_from_curvature: curvature is not a real vector: {exc}") from None
    if c.ndim != 1 or c.shape[0] == 0:
        raise ValidationError(f"lr_from_curvature: curvature must have shape (D,), got {c.shape}")
    dim = c.shape[0]
    eps = _number(eps, "eps")
    lr_min = _number(lr_min, "lr_min")
    if lr_max is not None:
        lr_max = _number(lr_max, "lr_max", minimum=lr_min, strict=True)
    curv_floor = _number(curv_floor, "curv_floor")
    if negative not in NEGATIVE_POLICIES:
        raise ValidationError(
            f"lr_from_curvature: negative must be one of {list(NEGATIVE_POLICIES)}, "
            f"got {negative!r}"
        )
    if nan not in NAN_POLICIES:
        raise ValidationError(
            f"lr_from_curvature: nan must be one of {list(NAN_POLICIES)}, got {nan!r}"
        )
    if power is None:
        power, power_source = default_power(method)
    else:
        power = _number(power, "power", strict=True)
        power_source = "explicit"
    if isinstance(base_lr, int | float) and not isinstance(base_lr, bool):
        base = np.full(dim, _number(base_lr, "base_lr", strict=True))
        base_desc: Any = float(base_lr)
    else:
        base = np.asarray(base_lr, dtype=np.float64)
        if base.shape != (dim,) or not np.isfinite(base).all() or (base <= 0).any():
            raise ValidationError(
                f"lr_from_curvature: base_lr must be a number > 0 or a finite positive vector "
                f"of shape ({dim},), got shape {base.shape}"
            )
        base_desc = "vector"
    is_nan = np.isnan(c)
    if is_nan.any() and nan == "raise":
        where = np.flatnonzero(is_nan)[:5].tolist()
        raise ValidationError(
            f"lr_from_curvature: {int(is_nan.sum())} NaN curvature entries (first at indices "
            f"{where}); fix the estimate or pass nan='lr_min'"
        )
    is_neg = c < 0
    if is_neg.any() and negative == "raise":
        where = np.flatnonzero(is_neg)[:5].tolist()
        raise ValidationError(
            f"lr_from_curvature: {int(is_neg.sum())} negative curvature entries (first at indices "
            f"{where}); pass negative='abs' or 'floor' to handle them"
        )
    work = np.where(is_nan, np.inf, c)  # placeholder; NaN entries get lr_min below
    work = np.abs(work) if negative == "abs" else np.where(is_neg, curv_floor, work)
    floored = (work < curv_floor) & ~is_neg
    work = np.maximum(work, curv_floor)
    shifted = work + eps
    if (shifted == 0).any() and lr_max is None:
        raise ValidationError(
            "lr_from_curvature: zero curvature with eps = curv_floor = 0 and no lr_max gives "
            "infinite learning rates; set eps > 0, curv_floor > 0 or lr_max"
        )
    with np.errstate(divide="ignore", over="ignore"):
        precond = np.power(shifted, -power)
        raw = base * precond
    upper = np.inf if lr_max is None else lr_max
    clipped_min = raw < lr_min
    clipped_max = raw > upper
    lr_vec = np.clip(raw, lr_min, upper)
    lr_vec[is_nan] = lr_min
    precond = np.where(np.isfinite(precond), precond, np.finfo(np.float64).max)
    precond[is_nan] = 0.0
    counts = {
        "negative": int(is_neg.sum()),
        "nan": int(is_nan.sum()),
        "inf": int(np.isposinf(c).sum()),
        "floored": int(floored.sum()),
        "clipped_min": int((clipped_min & ~is_nan).sum()),
        "clipped_max": int(clipped_max.sum()),
    }
    metadata: dict[str, Any] = {
        "method": method,
        "power": power,
        "power_source": power_source,
        "eps": eps,
        "lr_clip": [lr_min, lr_max],
        "curv_floor": curv_floor,
        "negative": negative,
        "nan": nan,
        "base_lr": base_desc,
        "dim": int(dim),
        "counts": counts,
        "estimator": estimator_meta,
    }
    assert np.isfinite(lr_vec).all()
    return LearningRates(lr_vec=lr_vec, precond=precond, metadata=metadata)
