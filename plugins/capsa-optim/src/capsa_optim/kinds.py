"""The artifact kinds of capsa-optim.

* ``optim.run``: one optimization run, the seed's run directory;
* ``optim.experiment``: an experiment's ``manifest.json``;
* ``optim.table``: an aggregated run table as CSV (Parquet goes to capsa-parquet's ``table``);
* ``optim.plots``: a panel figure as PNG and PDF.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from capsa.errors import ValidationError
from capsa.kinds.base import ArtifactKind, MemberSpec

RUN_KIND = "optim.run"
"""Name of the run kind."""

RUN_ARGUMENTS = (
    "trace",
    "meta",
    "summary",
    "signals",
    "precond",
    "curvature",
    "checkpoint_best",
    "checkpoint_final",
    "diag_steps",
    "grads",
)
"""Keys of the mapping ``store.save(key, "optim.run", data)`` takes (``save_run``'s arguments)."""


class OptimRunKind(ArtifactKind):
    """An optimization run, committed atomically.

    Members: ``trace.npz`` (or ``trace.zarr``), ``meta.json``, ``summary.json``
    and the optional diagnostics.

    ``store.save(key, "optim.run", {"trace": ..., "meta": ..., "summary": ...})``
    takes exactly what :func:`capsa_optim.save_run` takes (and checks it the
    same way); for a long trace given in memory, pass it as ``"trace_zarr"``.
    """

    name: ClassVar[str] = RUN_KIND
    version: ClassVar[int] = 1
    members: ClassVar[tuple[MemberSpec, ...]] = (
        MemberSpec(
            name="trace",
            filename="trace.npz",
            format="npz",
            required=False,
            description="loss (T,), theta (T, D) and optional channels",
        ),
        MemberSpec(
            name="trace_zarr",
            filename="trace.zarr",
            format="zarr",
            required=False,
            description="the same trace as a chunked Zarr v3 group (long runs)",
        ),
        MemberSpec(
            name="meta",
            filename="meta.json",
            format="json",
            description="identity, theta interpretation (IndexMap), optimizer",
        ),
        MemberSpec(
            name="summary",
            filename="summary.json",
            format="json",
            description="status, loss summary, runtime, has_* flags",
        ),
        MemberSpec(
            name="signals",
            filename="signals.npz",
            format="npz",
            required=False,
            description="derived, unit-bearing time series for plots",
        ),
        MemberSpec(
            name="diag_steps",
            filename="diag_steps.jsonl",
            format="jsonl",
            required=False,
            description="sparse per-step scalar logs",
        ),
        MemberSpec(
            name="grads",
            filename="grads.npz",
            format="npz",
            required=False,
            description="sparse gradients (step, grad)",
        ),
        MemberSpec(
            name="curvature",
            filename="curvature.npz",
            format="npz",
            required=False,
            description="curvature diagonal (curv_diag, curv_stderr)",
        ),
        MemberSpec(
            name="precond",
            filename="precond.npz",
            format="npz",
            required=False,
            description="per-index learning rates (lr_vec, precond)",
        ),
        MemberSpec(
            name="checkpoint_best",
            filename="checkpoint_best.npz",
            format="npz",
            required=False,
            description="theta_best, best_step, best_loss",
        ),
        MemberSpec(
            name="checkpoint_final",
            filename="checkpoint_final.npz",
            format="npz",
            required=False,
            description="theta_final, final_step, final_loss",
        ),
    )
    description: ClassVar[str] = (
        "an optimizer run: trace.npz|trace.zarr, meta.json, summary.json (+ signals, "
        "curvature, precond, checkpoints)"
    )

    def to_members(self, data: Any) -> dict[str, Any]:
        """Check ``save_run``-style data and return the members to write."""
        from capsa_optim.run_members import PreparedRun, prepare_run

        if isinstance(data, PreparedRun):
            return dict(data.members)
        if not isinstance(data, Mapping):
            raise ValidationError(
                f"kind {self.name!r} expects a mapping with 'trace', 'meta' and 'summary' "
                f"(save_run's arguments); got {type(data).__name__}"
            )
        data = dict(data)
        storage = "npz"
        if "trace_zarr" in data:
            if data.get("trace") is not None:
                raise ValidationError(f"kind {self.name!r}: give 'trace' or 'trace_zarr', not both")
            data["trace"] = data.pop("trace_zarr")
            storage = "zarr"
        unknown = sorted(set(data) - set(RUN_ARGUMENTS))
        if unknown:
            raise ValidationError(
                f"kind {self.name!r}: unknown key(s) {unknown}; it takes {list(RUN_ARGUMENTS)}"
            )
        if "trace" not in data or "meta" not in data:
            raise ValidationError(f"kind {self.name!r}: 'trace' and 'meta' are required")
        return prepare_run(
            data.pop("trace"),
            data.pop("meta"),
            data.pop("summary", None),
            trace_storage=storage,
            **data,
        )

    def validate(self, members: Mapping[str, Any]) -> None:
        """Members must be known, with exactly one trace (npz or zarr)."""
        super().validate(members)
        traces = [n for n in ("trace", "trace_zarr") if n in members]
        if len(traces) != 1:
            raise ValidationError(
                f"kind {self.name!r} needs exactly one trace member (trace.npz or trace.zarr), "
                f"got {traces or 'none'}"
            )


class ExperimentManifestKind(ArtifactKind):
    """An experiment's ``manifest.json`` (sweep / time-series settings, dataset ids)."""

    name: ClassVar[str] = "optim.experiment"
    version: ClassVar[int] = 1
    members: ClassVar[tuple[MemberSpec, ...]] = (
        MemberSpec(
            name="manifest",
            filename="manifest.json",
            format="json",
            description="what the experiment sweeps, over which data",
        ),
    )
    description: ClassVar[str] = "an optimization experiment's manifest.json"


class RunTableCsvKind(ArtifactKind):
    """An aggregated run table (one row per run) as ``table.csv``.

    Written when capsa-parquet is not installed (it writes Parquet with its
    ``table`` kind otherwise) or when CSV is asked for.
    """

    name: ClassVar[str] = "optim.table"
    version: ClassVar[int] = 1
    members: ClassVar[tuple[MemberSpec, ...]] = (
        MemberSpec(
            name="table",
            filename="table.csv",
            format="text",
            description="summary.json fields + selected meta keys, one row per run",
        ),
    )
    description: ClassVar[str] = "an aggregated table of optimization runs as CSV"


class PanelPlotsKind(ArtifactKind):
    """A panel figure of a run (or of an ensemble): PNG, PDF and the panel spec."""

    name: ClassVar[str] = "optim.plots"
    version: ClassVar[int] = 1
    members: ClassVar[tuple[MemberSpec, ...]] = (
        MemberSpec(
            name="png", filename="panels.png", format="bytes", description="the figure as PNG"
        ),
        MemberSpec(
            name="pdf",
            filename="panels.pdf",
            format="bytes",
            description="the figure as PDF (vector)",
        ),
        MemberSpec(
            name="spec",
            filename="panels.json",
            format="json",
            required=False,
            description="the panels drawn and their signals",
        ),
    )
    description: ClassVar[str] = "a panel figure (panels.png, panels.pdf)"
