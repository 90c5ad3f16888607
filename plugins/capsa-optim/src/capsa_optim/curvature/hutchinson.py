"""``hutchinson``: an unbiased stochastic estimate of diag(H) from Rademacher probes.

diag(H) ~ mean_k (v_k ⊙ H v_k) with v_k ∈ {±1}^D. Each entry's variance is
Σ_{j≠i} H_ij² / k (a diagonal H is recovered exactly with one probe), and
the per-entry standard error is reported from the probes' sample variance.
Probes are drawn one after the other from ``numpy.random.default_rng(seed)``
and folded in the same order whatever the batching: the same seed and
settings give bitwise-identical results, and another batch size draws the
very same probes (only the operator's own rounding can differ). Entries can
be negative (noise, or an indefinite H): :func:`capsa_optim.lr_from_curvature`
applies an explicit policy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from capsa.errors import ValidationError
from capsa.estimators import CurvatureEstimate
from capsa_optim.curvature.inputs import DEFAULT_FD_STEP, HvpOperator, as_theta, check_count

DEFAULT_PROBES = 64
"""Probes used when ``probes`` is not given."""


class Hutchinson:
    """Hutchinson's diagonal estimator (registered as ``hutchinson``)."""

    name: str = "hutchinson"
    curvature_type: ClassVar[str] = "hessian"
    method: ClassVar[str] = "hutchinson_hessian_diag"

    def estimate(
        self,
        theta: Any,
        *,
        hvp: Callable[..., Any] | None = None,
        hessian: Any = None,
        grad_fn: Callable[[Any], Any] | None = None,
        grad: Callable[[Any], Any] | None = None,
        probes: int = DEFAULT_PROBES,
        seed: int = 0,
        batch_size: int | None = None,
        batched: bool | None = None,
        fd_step: float = DEFAULT_FD_STEP,
        hvp_takes_theta: bool | None = None,
        **inputs: Any,
    ) -> CurvatureEstimate:
        """Estimate diag(H) at ``theta``.

        Give exactly one of ``hvp``, ``hessian`` or ``grad_fn``.

        :param hvp: ``hvp(v) -> H @ v`` with θ fixed in the closure (it must be
            ``theta``), or ``hvp(theta, v) -> H @ v``; the form is read from
            its signature (see :func:`capsa_optim.curvature.inputs.hvp_form`).
            With ``batched=True`` (or an ``hvp.batched`` attribute) it takes a
            (D, k) block of probes: ``hvp(V)`` or ``hvp(theta, V)``.
        :param hessian: a (D, D) matrix (anything with ``@``): probes batched.
        :param grad_fn: ``grad_fn(theta) -> gradient``; HVPs by central
            differences of step ``fd_step`` (recorded in the metadata).
        :param grad: alias of ``grad_fn`` (giving both is refused).
        :param probes: number of Rademacher probes k.
        :param seed: RNG seed (``numpy.random.default_rng``).
        :param batch_size: probes per batched call (default: bounded by memory).
        :param batched: whether ``hvp`` takes a block (default: ``hvp.batched``, else False).
        :param fd_step: the finite-difference step h for ``grad_fn``.
        :param hvp_takes_theta: force ``hvp(theta, v)`` (True) or ``hvp(v)``
            (False) instead of reading the signature (default: an
            ``hvp.takes_theta`` attribute, else the signature).
        :param probes: number of Rademacher probes k.
        :param seed: RNG seed (``numpy.random.default_rng``).
        :param batch_size: probes per batched call (default: bounded by memory).
        :return: the diagonal, its per-entry standard error (None for k = 1),
            and metadata (estimator, method, probes, seed, hvp source and form, calls,
            ``fd_step`` ...).
        """
        import numpy as np

        if inputs:
            raise ValidationError(f"hutchinson: unknown input(s) {sorted(inputs)}")
        x = as_theta(theta, self.name)
        k = check_count(probes, "probes", self.name)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValidationError(f"hutchinson: seed must be an int >= 0, got {seed!r}")
        op = HvpOperator(
            x,
            self.name,
            hvp=hvp,
            hessian=hessian,
            grad_fn=grad_fn,
            grad=grad,
            fd_step=fd_step,
            batched=batched,
            hvp_takes_theta=hvp_takes_theta,
        )
        dim = x.shape[0]
        rng = np.random.default_rng(seed)
        batch = op.batch_size(batch_size, k)
        mean = np.zeros(dim)
        m2 = np.zeros(dim)
        count = 0
        block = np.empty((dim, batch), dtype=np.float64)
        while count < k:
            n = min(batch, k - count)
            for j in range(n):  # one draw per probe: identical streams for any batching
                block[:, j] = rng.integers(0, 2, size=dim, dtype=np.int8) * 2 - 1
            products = block[:, :n] * op.apply(block[:, :n])
            for j in range(n):  # Welford, probe by probe
                count += 1
                delta = products[:, j] - mean
                mean += delta / count
                m2 += delta * (products[:, j] - mean)
        stderr = np.sqrt(m2 / (k - 1) / k) if k > 1 else None
        metadata: dict[str, Any] = {
            "estimator": self.name,
            "method": self.method,
            "curvature_type": self.curvature_type,
            "dim": int(dim),
            "probes": k,
            "seed": seed,
            "distribution": "rademacher",
            "batch_size": batch,
            **op.metadata(),
        }
        return CurvatureEstimate(diagonal=mean, metadata=metadata, stderr=stderr)
