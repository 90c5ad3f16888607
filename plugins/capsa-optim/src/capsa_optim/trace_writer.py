"""``TraceWriter``: stream an optimizer's steps into a run, with bounded memory.

::

    with TraceWriter("runs/run-7", meta=meta) as writer:
        for t in range(num_steps):
            ...
            writer.append(loss=loss, theta=theta, grad_norm=gnorm)
    # committed here: trace, meta.json, summary.json, checkpoint_best/final.npz

Rows are gathered in small blocks. A short run is written as ``trace.npz``
at the end. Once the buffered trace passes ``zarr_threshold_bytes`` (or from
the first step with ``storage="zarr"``, or when ``expected_steps`` says it
will), blocks go to a chunked ``trace.zarr`` group as they fill (capsa-zarr),
so memory stays at a few blocks whatever the length; ``load_trace`` then
reads ``theta[:, k]`` chunk by chunk. Without capsa-zarr, long traces are
spilled to a temporary file and written as ``trace.npz`` at the end.

The best and final steps are tracked on the fly and saved as
``checkpoint_best.npz`` / ``checkpoint_final.npz``. Everything goes through
one store transaction: an exception (or a killed process) before
:meth:`TraceWriter.close` leaves no committed run, only debris that
``capsa gc`` removes.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capsa.errors import CapsaError, ValidationError
from capsa_optim.kinds import RUN_KIND
from capsa_optim.location import RunDir, locate_run
from capsa_optim.trace import OPTIONAL, check_channel_name

if TYPE_CHECKING:
    from capsa.store.artifact import ArtifactRef
    from capsa.store.transaction import Transaction
    from capsa_optim.schema import RunMeta

STORAGES = ("auto", "npz", "zarr")
"""Trace storage choices."""

DEFAULT_ZARR_THRESHOLD = 8 << 20
"""Buffered trace bytes past which ``storage="auto"`` switches to Zarr (8 MiB)."""

BLOCK_BYTES = 4 << 20
"""Target size of one buffered block of rows (all channels)."""

ZARR_CHUNK_BYTES = 1 << 20
"""Target size of one Zarr chunk."""

ZARR_THETA_COLUMNS = 128
"""θ columns per Zarr chunk: ``theta[:, k]`` reads 1/ceil(D/128) of the trace (D <= 2048)."""

ZARR_BAND_BYTES = 16 << 20
"""Most bytes of one band of θ chunks (a chunk's rows, all D columns).

The writer holds one band before writing it, so this bounds its memory
whatever D is. Up to D = 2048 (float64) chunks are 1,024 rows x 128 columns;
wider θ gets fewer rows per chunk and, to keep chunks near 1 MiB, more
columns (D = 100k: 20 x 6,553, so ``theta[:, k]`` reads 1/16 of θ).
"""


def zarr_theta_chunks(dim: int, itemsize: int) -> tuple[int, int]:
    """Zarr chunks ``(rows, columns)`` of θ: ~1 MiB, bands of at most :data:`ZARR_BAND_BYTES`."""
    dim = max(1, dim)
    narrow = min(dim, ZARR_THETA_COLUMNS)
    rows = min(ZARR_CHUNK_BYTES // (narrow * itemsize), ZARR_BAND_BYTES // (dim * itemsize))
    rows = max(1, rows)
    cols = max(narrow, min(dim, ZARR_CHUNK_BYTES // (rows * itemsize)))
    return rows, cols


def zarr_available() -> bool:
    """True when capsa-zarr (and so zarr) is installed."""
    return importlib.util.find_spec("capsa_zarr") is not None


class _Channel:
    """One channel's dtype and row shape, fixed by the first append."""

    def __init__(self, name: str, dtype: Any, trailing: tuple[int, ...]):
        self.name = name
        self.dtype = dtype
        self.trailing = trailing

    @property
    def row_bytes(self) -> int:
        return int(self.dtype.itemsize * math.prod(self.trailing))


class TraceWriter:
    """Stream steps into a run; commit it on :meth:`close` (or a clean ``with`` exit).

    :param run_dir: path, capsa URL or :class:`~capsa_optim.RunLocation`.
    :param meta: the run's meta (checked now, before anything is written).
    :param storage: ``"auto"`` (npz, Zarr past the threshold), ``"npz"`` or ``"zarr"``.
    :param zarr_threshold_bytes: buffered bytes past which ``auto`` switches to Zarr.
    :param expected_steps: optional hint; ``auto`` starts with Zarr when the
        trace will exceed the threshold.
    :param checkpoints: track and save the best and final checkpoints.
    :param theta_dtype: dtype of θ rows (default: that of the first θ, float64 for ints).
    :param zarr_theta_chunks: ``(rows, columns)`` of θ's Zarr chunks (default ~1 MiB,
        128 columns wide up to D = 2048, see :func:`zarr_theta_chunks`).
    :raises ValidationError: bad meta or options.
    :raises ArtifactExistsError: a production run already exists there.
    """

    def __init__(
        self,
        run_dir: RunDir,
        *,
        meta: Any,
        storage: str = "auto",
        zarr_threshold_bytes: int = DEFAULT_ZARR_THRESHOLD,
        expected_steps: int | None = None,
        checkpoints: bool = True,
        theta_dtype: Any = None,
        zarr_theta_chunks: tuple[int, int] | None = None,
    ):
        import numpy as np

        from capsa_optim.schema_codec import coerce_meta

        if storage not in STORAGES:
            raise ValidationError(f"storage must be one of {list(STORAGES)}, got {storage!r}")
        if storage == "zarr" and not zarr_available():
            raise ValidationError(
                "storage='zarr' needs the capsa-zarr plugin: pip install capsa-zarr"
            )
        if isinstance(zarr_threshold_bytes, bool) or not isinstance(zarr_threshold_bytes, int):
            raise ValidationError(
                f"zarr_threshold_bytes must be an int, got {zarr_threshold_bytes!r}"
            )
        if expected_steps is not None and (
            isinstance(expected_steps, bool)
            or not isinstance(expected_steps, int)
            or expected_steps < 0
        ):
            raise ValidationError(f"expected_steps must be an int >= 0, got {expected_steps!r}")
        if zarr_theta_chunks is not None and (
            len(zarr_theta_chunks) != 2
            or any(
                isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in zarr_theta_chunks
            )
        ):
            raise ValidationError(
                f"zarr_theta_chunks must be (rows, columns) of ints >= 1, got {zarr_theta_chunks!r}"
            )
        location = locate_run(run_dir)
        run_id = location.key.rsplit("/", 1)[-1]
        self.meta: RunMeta = coerce_meta(meta, run_id=run_id)
        """The run's meta (checked)."""
        self._theta_dtype = None if theta_dtype is None else np.dtype(theta_dtype)
        if self._theta_dtype is not None and self._theta_dtype.kind != "f":
            raise ValidationError(f"theta_dtype must be a float dtype, got {self._theta_dtype}")
        self.location = location
        """Where the run goes."""
        self.storage = storage
        """The storage asked for."""
        self.zarr_threshold_bytes = zarr_threshold_bytes
        self._expected = expected_steps
        self._checkpoints = checkpoints
        self._theta_chunks = zarr_theta_chunks
        self._channels: dict[str, _Channel] | None = None
        self._block: dict[str, Any] = {}
        self._block_rows = 0
        self._filled = 0
        self._pending: list[dict[str, Any]] = []
        self._pending_bytes = 0
        self._mode = "memory"  # memory -> zarr | spill
        self._appender: Any = None
        self._spill_dir: Path | None = None
        self._rows = 0
        self._loss_init: float | None = None
        self._loss_last = math.nan
        self._best_loss = math.inf
        self._best_step: int | None = None
        self._best_theta: Any = None
        self._last_theta: Any = None
        self._last_step = -1
        self._diag: list[dict[str, Any]] = []
        self._grads: list[tuple[int, Any]] = []
        self._state = "open"
        self._t0 = time.perf_counter()
        self._tx: Transaction = location.store.transaction(location.key, RUN_KIND)

    # -- appending ---------------------------------------------------------------------

    @property
    def num_steps(self) -> int:
        """Rows appended so far."""
        return self._rows

    @property
    def trace_storage(self) -> str:
        """Where the trace is going: ``"npz"`` or ``"zarr"`` (may change from npz to zarr)."""
        return "zarr" if self._mode == "zarr" else "npz"

    def _require_open(self) -> None:
        if self._state != "open":
            raise CapsaError(f"the trace writer of {self.location.key!r} is {self._state}")

    def _define(self, row: Mapping[str, Any]) -> None:
        import numpy as np

        channels: dict[str, _Channel] = {}
        for name, value in row.items():
            check_channel_name(name)
            arr = np.asarray(value)
            if arr.dtype.hasobject or arr.dtype.kind not in "biuf":
                raise ValidationError(
                    f"trace channel {name!r}: values must be real numbers, got dtype {arr.dtype}"
                )
            if name == "theta":
                if arr.ndim != 1 or arr.shape[0] == 0:
                    raise ValidationError(
                        f"append: theta must be a vector of shape (D,), got shape {arr.shape}"
                    )
                if arr.shape[0] != self.meta.theta.dim:
                    raise ValidationError(
                        f"append: theta has D = {arr.shape[0]} but meta.theta.dim is "
                        f"{self.meta.theta.dim}"
                    )
                dtype = self._theta_dtype or (
                    arr.dtype if arr.dtype.kind == "f" else np.dtype("f8")
                )
            elif name in ("loss", "grad_norm", "step_norm", "base_lr"):
                if arr.ndim != 0:
                    raise ValidationError(f"append: {name} must be a scalar, got shape {arr.shape}")
                dtype = np.dtype("f8")
            elif name == "accepted":
                dtype = np.dtype(bool)
            elif name == "step":
                if arr.dtype.kind not in "iu":
                    raise ValidationError(f"append: step must be an int, got {value!r}")
                dtype = np.dtype("i8")
            else:
                dtype = arr.dtype if arr.dtype.kind in "bf" else np.dtype("f8")
            if name in OPTIONAL and arr.ndim != 0:
                raise ValidationError(f"append: {name} must be a scalar, got shape {arr.shape}")
            channels[name] = _Channel(name, dtype, tuple(arr.shape) if name != "loss" else ())
        row_bytes = sum(c.row_bytes for c in channels.values())
        self._channels = channels
        self._row_bytes = row_bytes
        block_bytes = min(BLOCK_BYTES, max(1, self.zarr_threshold_bytes // 4))
        self._block_rows = max(1, min(4096, block_bytes // max(1, row_bytes)))
        self._block = {
            c.name: np.empty((self._block_rows, *c.trailing), dtype=c.dtype)
            for c in channels.values()
        }
        if self.storage == "zarr" or (
            self.storage == "auto"
            and self._expected is not None
            and self._expected * row_bytes > self.zarr_threshold_bytes
            and zarr_available()
        ):
            self._start_zarr()

    def append(self, loss: Any, theta: Any, **channels: Any) -> None:
        """Append one step: ``loss`` (scalar), ``theta`` (D,) and optional channels.

        The optional channels (``grad_norm``, ``step_norm``, ``base_lr``,
        ``accepted``, ``step``, or your own) must be the same at every step.

        :raises ValidationError: a shape, dtype or channel set that differs from
            the first step's; θ's D different from ``meta.theta.dim``.
        """
        import numpy as np

        self._require_open()
        row = {"loss": loss, "theta": theta, **channels}
        if self._channels is None:
            self._define(row)
        assert self._channels is not None
        if row.keys() != self._channels.keys():
            raise ValidationError(
                f"append: channels {sorted(row)} differ from the first step's "
                f"{sorted(self._channels)}"
            )
        i = self._filled
        for name, channel in self._channels.items():
            arr = np.asarray(row[name])
            if arr.shape != channel.trailing:
                raise ValidationError(
                    f"append: {name} has shape {arr.shape}, expected {channel.trailing} "
                    "(as at the first step)"
                )
            if arr.dtype.hasobject or arr.dtype.kind not in "biuf":
                raise ValidationError(f"append: {name} must be real numbers, got {arr.dtype}")
            self._block[name][i] = arr
        step = int(row["step"]) if "step" in row else self._rows
        if step <= self._last_step:
            raise ValidationError(
                f"append: step {step} is not after the previous step {self._last_step}"
            )
        self._last_step = step
        loss_value = float(self._block["loss"][i])
        if self._rows == 0:
            self._loss_init = loss_value
        self._loss_last = loss_value
        if self._checkpoints and math.isfinite(loss_value) and loss_value < self._best_loss:
            self._best_loss = loss_value
            self._best_step = step
            if self._best_theta is None:
                self._best_theta = np.empty_like(self._block["theta"][i])
            self._best_theta[...] = self._block["theta"][i]
        if self._last_theta is None:
            self._last_theta = np.empty_like(self._block["theta"][i])
        self._last_theta[...] = self._block["theta"][i]
        self._rows += 1
        self._filled += 1
        if self._filled == self._block_rows:
            self._flush()

    def log_diag(self, step: int, **scalars: Any) -> None:
        """Record sparse per-step scalars (``diag_steps.jsonl``)."""
        self._require_open()
        from capsa_optim.run_members import coerce_diag_steps

        self._diag.extend(coerce_diag_steps([{"step": step, **scalars}], self._rows))

    def log_grad(self, step: int, grad: Any) -> None:
        """Record one full gradient (``grads.npz``); keep these sparse."""
        import numpy as np

        self._require_open()
        arr = np.array(grad, dtype=np.float64)
        if arr.shape != (self.meta.theta.dim,):
            raise ValidationError(
                f"log_grad: grad must have shape ({self.meta.theta.dim},), got {arr.shape}"
            )
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValidationError(f"log_grad: step must be an int >= 0, got {step!r}")
        self._grads.append((step, arr))

    # -- flushing -------------------------------------------------------------------------

    def _take_block(self) -> dict[str, Any]:
        n = self._filled
        return {name: buf[:n] for name, buf in self._block.items()}

    def _flush(self) -> None:
        if not self._filled:
            return
        block = self._take_block()
        if self._mode == "zarr":
            self._appender.append(**block)
        elif self._mode == "spill":
            self._spill(block)
        else:
            self._pending.append({k: v.copy() for k, v in block.items()})
            self._pending_bytes += self._filled * self._row_bytes
            if self._pending_bytes > self.zarr_threshold_bytes:
                if self.storage == "auto" and zarr_available():
                    self._start_zarr()
                else:
                    self._start_spill()
        self._filled = 0

    def _start_zarr(self) -> None:
        from capsa_zarr import ZarrAppender

        assert self._channels is not None
        arrays: dict[str, Any] = {}
        chunks: tuple[int, ...]
        for c in self._channels.values():
            if c.name == "theta":
                chunks = self._theta_chunks or zarr_theta_chunks(c.trailing[0], c.dtype.itemsize)
            else:
                rows = max(1, ZARR_CHUNK_BYTES // max(1, c.row_bytes))
                chunks = (rows, *c.trailing)
            arrays[c.name] = {"dtype": c.dtype, "trailing_shape": c.trailing, "chunks": chunks}
        self._appender = ZarrAppender(self._tx, "trace_zarr", arrays=arrays)
        self._mode = "zarr"
        for block in self._pending:
            self._appender.append(**block)
        self._pending = []
        self._pending_bytes = 0

    def _start_spill(self) -> None:
        self._spill_dir = Path(tempfile.mkdtemp(prefix="capsa-optim-trace-"))
        self._mode = "spill"
        for block in self._pending:
            self._spill(block)
        self._pending = []
        self._pending_bytes = 0

    def _spill(self, block: Mapping[str, Any]) -> None:
        import numpy as np

        assert self._spill_dir is not None
        for name, arr in block.items():
            with open(self._spill_dir / f"{name}.raw", "ab") as fh:
                np.ascontiguousarray(arr).tofile(fh)

    def _trace_arrays(self) -> dict[str, Any]:
        import numpy as np

        assert self._channels is not None
        if self._mode == "spill":
            assert self._spill_dir is not None
            return {
                c.name: np.memmap(
                    self._spill_dir / f"{c.name}.raw",
                    dtype=c.dtype,
                    mode="r",
                    shape=(self._rows, *c.trailing),
                )
                for c in self._channels.values()
            }
        return {
            c.name: np.concatenate([b[c.name] for b in self._pending])
            if self._pending
            else np.empty((0, *c.trailing), dtype=c.dtype)
            for c in self._channels.values()
        }

    # -- closing ------------------------------------------------------------------------------

    def close(
        self,
        *,
        status: str | None = None,
        message: str | None = None,
        summary: Any = None,
        signals: Any = None,
        precond: Any = None,
        curvature: Any = None,
        diag_steps: Any = None,
        grads: Any = None,
    ) -> ArtifactRef:
        """Write the remaining rows and every member, and commit the run.

        :param status: ``"ok"`` (default) or ``"failed"`` (a run that ran but did not
            converge); overrides the summary's.
        :param summary: extra summary fields (a mapping or RunSummary); loss
            statistics, steps and runtime default to what was tracked.
        :param signals, precond, curvature, diag_steps, grads: as for ``save_run``
            (``diag_steps``/``grads`` are added to what was logged).
        :raises ValidationError: bad arguments; the run is then aborted.
        """
        import numpy as np

        from capsa_optim.checkpoint import Checkpoint, coerce_checkpoint
        from capsa_optim.run_members import (
            coerce_diag_steps,
            coerce_grads,
            coerce_vectors,
            fill_summary,
        )
        from capsa_optim.schema_codec import coerce_summary, to_document
        from capsa_optim.signals.signals_npz import encode_signals

        self._require_open()
        try:
            if self._channels is None:  # no step at all: an empty trace
                self._define(
                    {"loss": 0.0, "theta": np.zeros(self.meta.theta.dim, dtype=np.float64)}
                )
            self._flush()
            dim = self.meta.theta.dim
            doc = _as_mapping(summary)
            if status is not None:
                doc["status"] = status
            if message is not None:
                doc["message"] = message
            summary_obj = coerce_summary(doc)
            members: dict[str, Any] = {}
            if signals is not None:
                members["signals"] = encode_signals(signals)
            if precond is not None:
                members["precond"] = coerce_vectors("precond", precond, dim)
                info = getattr(precond, "preconditioning_info", None)
                if self.meta.optimizer.preconditioning is None and callable(info):
                    self.meta.optimizer.preconditioning = info()
            if curvature is not None:
                members["curvature"] = coerce_vectors("curvature", curvature, dim)
                estimator_meta = getattr(curvature, "metadata", None)
                if isinstance(estimator_meta, Mapping) and "curvature" not in self.meta.extra:
                    self.meta.extra["curvature"] = dict(estimator_meta)
            records = self._diag + (coerce_diag_steps(diag_steps, self._rows) if diag_steps else [])
            if records:
                members["diag_steps"] = records
            sparse = list(self._grads)
            if grads is not None:
                extra = coerce_grads(grads, dim)
                sparse += list(zip(extra["step"].tolist(), extra["grad"], strict=True))
            if sparse:
                members["grads"] = {
                    "step": np.array([s for s, _ in sparse], dtype=np.int64),
                    "grad": np.stack([g for _, g in sparse]),
                }
            if self._checkpoints and self._rows:
                if self._best_step is not None:
                    members["checkpoint_best"] = coerce_checkpoint(
                        Checkpoint("best", self._best_theta, self._best_step, self._best_loss),
                        "best",
                        dim,
                    )
                members["checkpoint_final"] = coerce_checkpoint(
                    Checkpoint("final", self._last_theta, self._last_step, self._loss_last),
                    "final",
                    dim,
                )
            if summary_obj.runtime_total_s is None:
                summary_obj.runtime_total_s = round(time.perf_counter() - self._t0, 6)
            summary_obj = fill_summary(
                summary_obj,
                self.meta,
                num_steps=self._rows,
                loss_stats=self._loss_stats(),
                present=set(members),
                trace_storage=self.trace_storage,
            )
            members["meta"] = to_document(self.meta)
            members["summary"] = to_document(summary_obj)
            if self._mode == "zarr":
                self._appender.close()
            else:
                members["trace"] = self._trace_arrays()
            for name, value in sorted(members.items()):
                self._tx.write(name, value)
            ref = self._tx.commit()
        except BaseException:
            self.abort()
            raise
        self._state = "committed"
        self._cleanup()
        return ref

    def _loss_stats(self) -> dict[str, Any]:
        def finite(x: float | None) -> float | None:
            return x if x is not None and math.isfinite(x) else None

        return {
            "loss_init": finite(self._loss_init),
            "loss_final": finite(self._loss_last) if self._rows else None,
            "loss_best": self._best_loss if self._best_step is not None else None,
            "best_step": self._best_step,
        }

    def abort(self) -> None:
        """Discard everything: no run is committed. Idempotent."""
        if self._state == "open":
            self._state = "aborted"
            with contextlib.suppress(Exception):
                self._tx.abort()
        self._cleanup()

    def _cleanup(self) -> None:
        self._pending = []
        self._block = {}
        if self._spill_dir is not None:
            shutil.rmtree(self._spill_dir, ignore_errors=True)
            self._spill_dir = None

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()
        elif self._state == "open":
            self.close()

    def __repr__(self) -> str:
        return (
            f"<TraceWriter {self.location.url} steps={self._rows} storage={self.trace_storage} "
            f"({self._state})>"
        )


def _as_mapping(summary: Any) -> dict[str, Any]:
    import msgspec

    from capsa_optim.schema import RunSummary

    if summary is None:
        return {}
    if isinstance(summary, RunSummary):
        doc = msgspec.to_builtins(summary)
        assert isinstance(doc, dict)
        return {k: v for k, v in doc.items() if v not in (None, {}, "")}
    if isinstance(summary, Mapping):
        return dict(summary)
    raise ValidationError(f"summary must be a mapping or RunSummary, got {type(summary).__name__}")
