"""From ``save_run``'s arguments to the checked members of an ``optim.run`` artifact.

Everything is validated here, before anything is written: the trace's T and
D, the meta against D (and its IndexMap), every optional array against D,
the checkpoints, the sparse logs. The summary's ``has_*`` flags and
``trace_storage`` are computed from what is actually written; loss
statistics the caller left empty are computed from the trace.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from capsa.errors import ValidationError
from capsa.formats.jsonsafe import check_finite
from capsa_optim.checkpoint import coerce_checkpoint
from capsa_optim.schema import HAS_FLAGS, RunMeta, RunSummary
from capsa_optim.schema_codec import coerce_meta, coerce_summary, to_document
from capsa_optim.trace import normalize_channels


@dataclass(frozen=True)
class PreparedRun:
    """Members already checked by :func:`prepare_run` (the ``optim.run`` kind takes them as is).

    :ivar members: member name -> value.
    """

    members: dict[str, Any]


TRACE_STORAGES = ("npz", "zarr")
"""Where a trace can be stored: ``trace.npz`` or the ``trace.zarr`` group."""

VECTOR_KEYS = {
    "precond": ("lr_vec", "precond"),
    "curvature": ("curv_diag", "curv_stderr"),
}
"""Arrays of ``precond.npz`` / ``curvature.npz`` whose last axis must be D."""


def loss_statistics(loss: Any, steps: Any) -> dict[str, Any]:
    """``loss_init``, ``loss_final``, ``loss_best``, ``best_step`` of a loss series.

    Non-finite first/final losses are reported as ``None`` (JSON has no NaN);
    the best is the lowest finite loss.
    """
    import numpy as np

    loss = np.asarray(loss, dtype=np.float64)
    if loss.size == 0:
        return {"loss_init": None, "loss_final": None, "loss_best": None, "best_step": None}
    finite = np.isfinite(loss)

    def scalar(x: Any) -> float | None:
        value = float(x)
        return value if math.isfinite(value) else None

    out: dict[str, Any] = {"loss_init": scalar(loss[0]), "loss_final": scalar(loss[-1])}
    if finite.any():
        masked = np.where(finite, loss, np.inf)
        best = int(np.argmin(masked))
        out["loss_best"] = float(loss[best])
        out["best_step"] = int(np.asarray(steps)[best])
    else:
        out["loss_best"] = out["best_step"] = None
    return out


def fill_summary(
    summary: RunSummary,
    meta: RunMeta,
    *,
    num_steps: int,
    loss_stats: Mapping[str, Any],
    present: set[str],
    trace_storage: str,
) -> RunSummary:
    """Fill computed fields: identity from meta, loss stats when empty, has_* flags, storage."""
    if not summary.run_id:
        summary.run_id = meta.run_id
    elif summary.run_id != meta.run_id:
        raise ValidationError(
            f"summary: run_id {summary.run_id!r} differs from meta's {meta.run_id!r}"
        )
    if not summary.created_at:
        summary.created_at = meta.created_at
    if summary.git_commit is None and meta.git is not None:
        summary.git_commit = meta.git.commit
    if summary.num_steps_completed is None:
        summary.num_steps_completed = num_steps
    elif summary.num_steps_completed > num_steps:
        raise ValidationError(
            f"summary: num_steps_completed is {summary.num_steps_completed} but the trace "
            f"holds {num_steps} steps"
        )
    for field, value in loss_stats.items():
        if getattr(summary, field) is None:
            setattr(summary, field, value)
    for member, flag in HAS_FLAGS.items():
        setattr(summary, flag, member in present)
    summary.trace_storage = trace_storage
    return summary


def coerce_vectors(which: str, value: Any, dim: int) -> dict[str, Any]:
    """Check ``precond`` / ``curvature`` arrays (a mapping, or an object with ``to_npz()``).

    ``lr_vec``, ``precond``, ``curv_diag``, ``curv_stderr`` must have D on
    their last axis; other arrays are stored as given.
    """
    import numpy as np

    from capsa.estimators import CurvatureEstimate

    if isinstance(value, CurvatureEstimate):
        arrays: dict[str, Any] = {"curv_diag": value.diagonal}
        if value.stderr is not None:
            arrays["curv_stderr"] = value.stderr
    elif hasattr(value, "to_npz"):
        arrays = dict(value.to_npz())
    elif isinstance(value, Mapping):
        arrays = dict(value)
    else:
        raise ValidationError(
            f"{which} must be a mapping of name to array (or a CurvatureEstimate / "
            f"LearningRates), got {type(value).__name__}"
        )
    if not arrays:
        raise ValidationError(f"{which}: no arrays given")
    out: dict[str, Any] = {}
    for key, array in arrays.items():
        if not isinstance(key, str):
            raise ValidationError(f"{which}: array names must be str, got {key!r}")
        arr = np.asarray(array)
        if arr.dtype.hasobject or arr.dtype.kind not in "biuf":
            raise ValidationError(f"{which}: array {key!r} must be real numbers, got {arr.dtype}")
        if key in VECTOR_KEYS.get(which, ()) and (arr.ndim == 0 or arr.shape[-1] != dim):
            raise ValidationError(
                f"{which}: {key!r} has shape {arr.shape}; its last axis must be D = {dim}"
            )
        out[key] = arr
    return out


def coerce_diag_steps(records: Any, num_steps: int) -> list[dict[str, Any]]:
    """Check sparse per-step logs: JSON-safe mappings, each with an int ``step``."""
    import numpy as np

    if isinstance(records, Mapping | str | bytes) or not isinstance(records, Sequence):
        raise ValidationError(
            f"diag_steps must be a list of mappings (one per logged step), got "
            f"{type(records).__name__}"
        )
    out: list[dict[str, Any]] = []
    for i, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise ValidationError(f"diag_steps[{i}] must be a mapping, got {type(record).__name__}")
        step = record.get("step")
        if isinstance(step, np.integer):
            step = int(step)
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValidationError(f"diag_steps[{i}] needs an int 'step' >= 0, got {step!r}")
        clean = {str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in record.items()}
        check_finite(clean, f"diag_steps[{i}]")
        out.append(clean)
    return out


def coerce_grads(value: Any, dim: int) -> dict[str, Any]:
    """Check sparse gradients: ``{"step": (K,), "grad": (K, D)}`` (plus extras)."""
    import numpy as np

    if not isinstance(value, Mapping) or "grad" not in value or "step" not in value:
        raise ValidationError(
            "grads must be a mapping with 'step' (K,) and 'grad' (K, D): gradients are saved "
            "sparsely, with the steps they were taken at"
        )
    grad = np.asarray(value["grad"])
    step = np.asarray(value["step"])
    if grad.dtype.kind not in "iuf" or grad.ndim != 2 or grad.shape[1] != dim:
        raise ValidationError(f"grads: 'grad' must be real of shape (K, {dim}), got {grad.shape}")
    if step.dtype.kind not in "iu" or step.shape != (grad.shape[0],):
        raise ValidationError(
            f"grads: 'step' must be integers of shape ({grad.shape[0]},), got {step.shape}"
        )
    out = {"grad": grad, "step": step}
    for key, extra in value.items():
        if key not in out:
            arr = np.asarray(extra)
            if arr.dtype.hasobject:
                raise ValidationError(f"grads: extra {key!r} holds Python objects")
            out[str(key)] = arr
    return out


def prepare_run(
    trace: Any,
    meta: Any,
    summary: Any = None,
    *,
    signals: Any = None,
    precond: Any = None,
    curvature: Any = None,
    checkpoint_best: Any = None,
    checkpoint_final: Any = None,
    diag_steps: Any = None,
    grads: Any = None,
    run_id: str | None = None,
    trace_storage: str = "npz",
) -> dict[str, Any]:
    """Validate everything and return ``{member name: value}`` for the ``optim.run`` kind.

    :raises ValidationError: naming the argument (and field) at fault.
    """
    import numpy as np

    from capsa_optim.signals.signals_npz import encode_signals
    from capsa_optim.trace import Trace

    if trace_storage not in TRACE_STORAGES:
        raise ValidationError(
            f"trace_storage must be one of {list(TRACE_STORAGES)}, got {trace_storage!r}"
        )
    channels = trace.to_numpy() if isinstance(trace, Trace) else normalize_channels(trace)
    num_steps, dim = channels["theta"].shape
    meta_obj = coerce_meta(meta, dim=dim, run_id=run_id)
    summary_obj = coerce_summary(summary)
    members: dict[str, Any] = {}
    if signals is not None:
        members["signals"] = encode_signals(signals)
    if precond is not None:
        members["precond"] = coerce_vectors("precond", precond, dim)
        info = getattr(precond, "preconditioning_info", None)
        if meta_obj.optimizer.preconditioning is None and callable(info):
            meta_obj.optimizer.preconditioning = info()
    if curvature is not None:
        members["curvature"] = coerce_vectors("curvature", curvature, dim)
        estimator_meta = getattr(curvature, "metadata", None)
        if isinstance(estimator_meta, Mapping) and "curvature" not in meta_obj.extra:
            meta_obj.extra["curvature"] = dict(estimator_meta)
    if checkpoint_best is not None:
        members["checkpoint_best"] = coerce_checkpoint(checkpoint_best, "best", dim)
    if checkpoint_final is not None:
        members["checkpoint_final"] = coerce_checkpoint(checkpoint_final, "final", dim)
    if diag_steps is not None:
        members["diag_steps"] = coerce_diag_steps(diag_steps, num_steps)
    if grads is not None:
        members["grads"] = coerce_grads(grads, dim)
    steps = channels["step"] if "step" in channels else np.arange(num_steps)
    summary_obj = fill_summary(
        summary_obj,
        meta_obj,
        num_steps=num_steps,
        loss_stats=loss_statistics(channels["loss"], steps),
        present=set(members),
        trace_storage=trace_storage,
    )
    try:
        members["meta"] = to_document(meta_obj)
    except ValidationError as exc:
        raise ValidationError(f"meta: {exc}") from None
    members["summary"] = to_document(summary_obj)
    members["trace" if trace_storage == "npz" else "trace_zarr"] = channels
    return members
