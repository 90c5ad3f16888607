"""Aggregated run tables: one row per run, from ``summary.json`` plus selected meta keys.

Ensemble analysis should depend on ``summary.json`` and minimal metadata, not
on heavy diagnostics: building a table reads only those two small documents
per run. Written as Parquet (capsa-parquet's ``table`` kind) when
capsa-parquet is installed, as CSV (``optim.table``) otherwise.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from capsa.errors import ValidationError

if TYPE_CHECKING:
    from capsa.store.artifact import ArtifactRef
    from capsa_optim.location import RunLocation
    from capsa_optim.schema import RunMeta, RunSummary

DEFAULT_META_KEYS = (
    "optimizer.name",
    "optimizer.base_lr",
    "optimizer.num_steps",
    "optimizer.preconditioning.method",
    "optimizer.preconditioning.power",
    "theta.dim",
    "theta.theta_space",
    "objective.name",
)
"""Meta keys (dotted paths into ``meta.json``) added to every table by default."""

SUMMARY_COLUMNS = (
    "run_id",
    "status",
    "message",
    "num_steps_completed",
    "loss_init",
    "loss_final",
    "loss_best",
    "best_step",
    "runtime_total_s",
    "trace_storage",
    "created_at",
    "git_commit",
    "has_signals",
    "has_precond",
    "has_curvature",
    "has_checkpoint_best",
    "has_checkpoint_final",
    "has_diag_steps",
    "has_grads",
)
"""Columns taken from ``summary.json`` (``metrics.<key>`` columns follow)."""

TABLE_FORMATS = ("auto", "parquet", "csv")
"""Table formats: ``auto`` is Parquet when capsa-parquet is installed, else CSV."""


def _lookup(doc: Mapping[str, Any], path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return msgspec.json.encode(value).decode("utf-8")


def _unify(values: list[Any]) -> list[Any]:
    """One type per column (bool, int, float or str); None stays None."""
    present = [v for v in values if v is not None]
    if not present or all(isinstance(v, bool) for v in present):
        return values
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return values
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return [None if v is None else float(v) for v in values]
    return [None if v is None else (v if isinstance(v, str) else str(v)) for v in values]


class RunTable:
    """Columns of equal length, one row per run.

    :ivar columns: column name -> values (None for missing).
    """

    def __init__(self, columns: Mapping[str, list[Any]]):
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise ValidationError(f"RunTable: columns have different lengths {sorted(lengths)}")
        self.columns: dict[str, list[Any]] = {k: _unify(list(v)) for k, v in columns.items()}

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()), []))

    @property
    def names(self) -> list[str]:
        """Column names."""
        return list(self.columns)

    def column(self, name: str) -> list[Any]:
        """One column's values."""
        if name not in self.columns:
            raise ValidationError(f"RunTable has no column {name!r} (columns: {self.names})")
        return self.columns[name]

    def rows(self) -> list[dict[str, Any]]:
        """The table as a list of row dicts."""
        return [{k: v[i] for k, v in self.columns.items()} for i in range(len(self))]

    def to_csv(self) -> str:
        """CSV text with a header line (missing values empty, floats round-trip exactly)."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(self.names)
        for row in self.rows():
            writer.writerow(
                ["" if v is None else repr(v) if isinstance(v, float) else v for v in row.values()]
            )
        return buf.getvalue()

    def to_arrow(self) -> Any:
        """A ``pyarrow.Table`` (needs pyarrow)."""
        import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

        return pa.table(self.columns)

    def format_text(self, columns: Sequence[str] | None = None, *, max_width: int = 24) -> str:
        """An aligned plain-text rendering (for the command line)."""
        names = list(columns or self.names)
        cells = [[_cell(row.get(n), max_width) for n in names] for row in self.rows()]
        widths = [max([len(n)] + [len(c[i]) for c in cells]) for i, n in enumerate(names)]
        lines = ["  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)).rstrip()]
        for c in cells:
            lines.append("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)).rstrip())
        return "\n".join(lines)


def _cell(value: Any, width: int) -> str:
    if value is None:
        return "-"
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def table_from_records(
    records: Iterable[tuple[RunSummary, RunMeta]],
    *,
    meta_keys: Sequence[str] = DEFAULT_META_KEYS,
) -> RunTable:
    """Build a table from (summary, meta) pairs."""
    summaries: list[dict[str, Any]] = []
    metas: list[dict[str, Any]] = []
    for summary, meta in records:
        summaries.append(msgspec.to_builtins(summary))
        metas.append(msgspec.to_builtins(meta))
    for key in meta_keys:
        if not isinstance(key, str) or not key:
            raise ValidationError(f"meta_keys must be dotted str paths, got {key!r}")
    metric_names = sorted({m for s in summaries for m in s.get("metrics", {})})
    columns: dict[str, list[Any]] = {c: [s.get(c) for s in summaries] for c in SUMMARY_COLUMNS}
    for name in metric_names:
        columns[f"metrics.{name}"] = [_scalar(s.get("metrics", {}).get(name)) for s in summaries]
    for key in meta_keys:
        columns[key] = [_scalar(_lookup(m, key)) for m in metas]
    return RunTable(columns)


def build_table(runs: Iterable[Any], *, meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> RunTable:
    """Build a table from runs (``RunArtifacts``, paths, URLs or ``RunLocation`` objects).

    Only ``summary.json`` and ``meta.json`` of each are read.
    """
    from capsa_optim.artifacts import RunArtifacts

    handles = [r if isinstance(r, RunArtifacts) else RunArtifacts(r) for r in runs]
    return table_from_records(((h.summary, h.meta) for h in handles), meta_keys=meta_keys)


def resolve_format(store: Any, table_format: str) -> str:
    """``parquet`` or ``csv`` for ``auto``/explicit choices (checking capsa-parquet is there)."""
    from capsa.errors import UnknownNameError

    if table_format not in TABLE_FORMATS:
        raise ValidationError(f"format must be one of {list(TABLE_FORMATS)}, got {table_format!r}")
    try:
        store.registry.kind("table")
        has_parquet = True
    except UnknownNameError:
        has_parquet = False
    if table_format == "parquet" and not has_parquet:
        raise ValidationError("format='parquet' needs capsa-parquet: pip install capsa-parquet")
    if table_format == "auto":
        return "parquet" if has_parquet else "csv"
    return table_format


def write_table(
    location: RunLocation,
    table: RunTable,
    *,
    table_format: str = "auto",
    meta_keys: Sequence[str] = DEFAULT_META_KEYS,
) -> ArtifactRef:
    """Save a table at ``location``: Parquet (``table`` kind) or CSV (``optim.table`` kind)."""
    fmt = resolve_format(location.store, table_format)
    meta = {
        "schema": "capsa.optim.table",
        "schema_version": 1,
        "rows": len(table),
        "meta_keys": list(meta_keys),
    }
    if fmt == "parquet":
        return location.store.save(location.key, "table", table.columns, meta=meta)
    return location.store.save(location.key, "optim.table", table.to_csv(), meta=meta)
