"""The functions-first run I/O API of the seed: ``save_run`` and the ``load_*`` helpers.

``run_dir`` is a path, a capsa URL or a :class:`~capsa_optim.RunLocation`
(see :mod:`capsa_optim.location`). A run is the registered kind
``optim.run``, committed atomically: readers see all of it or nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from capsa_optim.kinds import RUN_KIND
from capsa_optim.location import RunDir, locate_run
from capsa_optim.run_reading import (
    open_run,
    read_arrays,
    read_checkpoint,
    read_diag_steps,
    read_meta,
    read_signals,
    read_summary,
    read_trace,
)

if TYPE_CHECKING:
    from capsa.store.artifact import ArtifactRef
    from capsa_optim.checkpoint import Checkpoint
    from capsa_optim.schema import RunMeta, RunSummary
    from capsa_optim.signals.signal import OptimSignal
    from capsa_optim.trace import Trace


def save_run(
    run_dir: RunDir,
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
    trace_storage: str = "npz",
) -> ArtifactRef:
    """Validate and atomically save one run; return its reference.

    :param run_dir: path, capsa URL or :class:`~capsa_optim.RunLocation`.
    :param trace: a :class:`~capsa_optim.Trace` or a mapping with ``loss``
        (T,), ``theta`` (T, D) and optional channels.
    :param meta: a :class:`~capsa_optim.RunMeta` or a mapping (seed
        ``"dluxshera-run-v0"`` documents accepted); ``theta.dim`` must be D.
        ``run_id`` defaults to the run folder's name, ``created_at`` to now.
    :param summary: a :class:`~capsa_optim.RunSummary`, a mapping or None;
        empty loss fields are computed from the trace, ``has_*`` flags always are.
    :param signals: mapping of name to Signal -> ``signals.npz``.
    :param precond: ``LearningRates`` or arrays (``lr_vec``, ``precond``) -> ``precond.npz``.
    :param curvature: ``CurvatureEstimate`` or arrays (``curv_diag`` ...) -> ``curvature.npz``.
    :param checkpoint_best: ``Checkpoint`` or mapping (theta, step, loss)
        -> ``checkpoint_best.npz``.
    :param checkpoint_final: the same -> ``checkpoint_final.npz``.
    :param diag_steps: list of mappings with an int ``step`` -> ``diag_steps.jsonl``.
    :param grads: ``{"step": (K,), "grad": (K, D)}`` -> ``grads.npz``.
    :param trace_storage: ``"npz"`` (``trace.npz``) or ``"zarr"`` (``trace.zarr``,
        needs capsa-zarr; θ chunked ~1 MiB, 128 columns wide, for lazy column reads).
    :raises ValidationError: any bad input, before anything is written.
    :raises ArtifactExistsError: a production run already exists there.
    """
    from capsa_optim.run_members import PreparedRun, prepare_run

    location = locate_run(run_dir)
    members = prepare_run(
        trace,
        meta,
        summary,
        signals=signals,
        precond=precond,
        curvature=curvature,
        checkpoint_best=checkpoint_best,
        checkpoint_final=checkpoint_final,
        diag_steps=diag_steps,
        grads=grads,
        run_id=location.key.rsplit("/", 1)[-1],
        trace_storage=trace_storage,
    )
    options: dict[str, dict[str, object]] = {}
    if trace_storage == "zarr":
        from capsa_optim.trace_writer import zarr_theta_chunks

        theta = members["trace_zarr"]["theta"]
        chunks = zarr_theta_chunks(theta.shape[1], theta.dtype.itemsize)
        options["trace_zarr"] = {"chunks": {"theta": list(chunks)}}
    return location.store.save(location.key, RUN_KIND, PreparedRun(members), options=options)


def load_trace(
    run_dir: RunDir, *, expect_layout: Any = None, mmap: bool = True, verify: bool = False
) -> Trace:
    """Return the run's :class:`~capsa_optim.Trace`, lazily.

    :param expect_layout: a layout hash, an IndexMap, or a decoder/spec with
        a ``layout_hash``: raise :class:`~capsa_optim.LayoutMismatchError`
        when the run's θ layout differs.
    :param mmap: memory-map ``trace.npz`` arrays on local disks.
    :param verify: re-hash every member first.
    """
    _location, artifact = open_run(run_dir, verify=verify)
    if expect_layout is not None:
        check_layout(read_meta(artifact), expect_layout)
    return read_trace(artifact, mmap=mmap)


def check_layout(meta: RunMeta, expected: Any) -> None:
    """Raise :class:`~capsa_optim.LayoutMismatchError` unless the layouts match."""
    from capsa_optim.errors import LayoutMismatchError

    imap = meta.theta.index_map
    if imap is None:
        raise LayoutMismatchError(
            f"run {meta.run_id!r} records no IndexMap, so its theta layout cannot be checked "
            "against the decoder"
        )
    imap.check_compatible(expected)


def load_meta(run_dir: RunDir) -> RunMeta:
    """Return the run's ``meta.json`` as a :class:`~capsa_optim.RunMeta`."""
    return read_meta(open_run(run_dir)[1])


def load_summary(run_dir: RunDir) -> RunSummary:
    """Return the run's ``summary.json`` as a :class:`~capsa_optim.RunSummary`."""
    return read_summary(open_run(run_dir)[1])


def load_checkpoint(run_dir: RunDir, which: str = "best") -> Checkpoint:
    """Return the ``"best"`` or ``"final"`` :class:`~capsa_optim.Checkpoint` (θ, step, loss)."""
    return read_checkpoint(open_run(run_dir)[1], which)


def load_signals(run_dir: RunDir) -> dict[str, OptimSignal]:
    """Return the signals cached in ``signals.npz``."""
    return read_signals(open_run(run_dir)[1])


def load_precond(run_dir: RunDir) -> dict[str, Any]:
    """Return the arrays of ``precond.npz`` (``lr_vec``, ``precond`` ...)."""
    return read_arrays(open_run(run_dir)[1], "precond")


def load_curvature(run_dir: RunDir) -> dict[str, Any]:
    """Return the arrays of ``curvature.npz`` (``curv_diag``, ``curv_stderr`` ...)."""
    return read_arrays(open_run(run_dir)[1], "curvature")


def load_grads(run_dir: RunDir) -> dict[str, Any]:
    """Return the arrays of ``grads.npz`` (``step``, ``grad``)."""
    return read_arrays(open_run(run_dir)[1], "grads")


def load_diag_steps(run_dir: RunDir) -> list[dict[str, Any]]:
    """Return the records of ``diag_steps.jsonl``."""
    return read_diag_steps(open_run(run_dir)[1])
