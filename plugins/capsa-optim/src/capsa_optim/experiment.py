"""Experiments: many runs (a sweep, an ensemble, a time series) under one directory.

Layout (every entry an atomically committed artifact)::

    <exp_dir>/
      manifest/manifest.json        # optim.experiment: what is swept, over which data
      runs/<run_id>/trace.npz ...   # optim.run, one per run
      table/table.parquet|csv       # aggregated summary.json + selected meta keys
      plots/<name>/panels.png|pdf   # optim.plots

The seed's ``manifest.json`` and aggregated table become members of their
own artifacts (``manifest/``, ``table/``), because a capsa artifact is a
folder with a commit marker; the files inside are the plain JSON, Parquet
or CSV the seed describes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from capsa.errors import (
    ArtifactNotFoundError,
    IncompatibleVersionError,
    IntegrityError,
    ValidationError,
)
from capsa_optim.location import RunDir, RunLocation, locate_root
from capsa_optim.table import DEFAULT_META_KEYS

if TYPE_CHECKING:
    from capsa.store.artifact import ArtifactRef
    from capsa_optim.artifacts import RunArtifacts
    from capsa_optim.plotting.panels import Panel
    from capsa_optim.table import RunTable
    from capsa_optim.trace_writer import TraceWriter

EXPERIMENT_SCHEMA = "capsa.optim.experiment"
"""Schema name of ``manifest.json``."""

EXPERIMENT_SCHEMA_VERSION = 1
"""Schema version of ``manifest.json``."""

EXPERIMENT_KINDS = ("sweep", "ensemble", "time_series")
"""What an experiment is."""


class ExperimentManifest(msgspec.Struct, kw_only=True):
    """``manifest.json``: what an experiment sweeps, over which data.

    :ivar schema: the schema name; must be :data:`EXPERIMENT_SCHEMA`.
    :ivar schema_version: the schema version; must be
        :data:`EXPERIMENT_SCHEMA_VERSION`.
    :ivar experiment_id: identifier (default: the directory name).
    :ivar created_at: ISO-8601 creation time (default: now).
    :ivar kind: ``"sweep"``, ``"ensemble"`` or ``"time_series"``.
    :ivar description: free text.
    :ivar sweep: parameter name -> the values swept.
    :ivar datasets: dataset name -> identifier (hash, version).
    :ivar settings: anything else shared by the runs.
    """

    schema: str = EXPERIMENT_SCHEMA
    schema_version: int = EXPERIMENT_SCHEMA_VERSION
    experiment_id: str = ""
    created_at: str = ""
    kind: str = "sweep"
    description: str = ""
    sweep: dict[str, list[Any]] = msgspec.field(default_factory=dict)
    datasets: dict[str, str] = msgspec.field(default_factory=dict)
    settings: dict[str, Any] = msgspec.field(default_factory=dict)


def coerce_manifest(
    manifest: ExperimentManifest | Mapping[str, Any], default_id: str
) -> ExperimentManifest:
    """Check a manifest given by the caller; fill its id and creation time."""
    from capsa.formats.jsonsafe import check_finite
    from capsa_optim.schema_codec import now_iso

    if isinstance(manifest, ExperimentManifest):
        doc: Any = msgspec.to_builtins(manifest)
    elif isinstance(manifest, Mapping):
        doc = dict(manifest)
    else:
        raise ValidationError(
            f"manifest must be an ExperimentManifest or a mapping, got {type(manifest).__name__}"
        )
    check_finite(doc, "manifest")
    try:
        result = msgspec.convert(doc, ExperimentManifest, strict=False)
    except msgspec.ValidationError as exc:
        raise ValidationError(f"manifest: {exc}") from None
    if result.schema != EXPERIMENT_SCHEMA or result.schema_version != EXPERIMENT_SCHEMA_VERSION:
        raise ValidationError(
            f"manifest: schema must be {EXPERIMENT_SCHEMA!r} version {EXPERIMENT_SCHEMA_VERSION}"
        )
    if result.kind not in EXPERIMENT_KINDS:
        raise ValidationError(
            f"manifest: kind must be one of {list(EXPERIMENT_KINDS)}, got {result.kind!r}"
        )
    result.experiment_id = result.experiment_id or default_id
    result.created_at = result.created_at or now_iso()
    return result


def decode_manifest(raw: bytes, where: str) -> ExperimentManifest:
    """Decode a stored ``manifest.json``."""
    try:
        doc = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise IntegrityError(f"{where} is not valid JSON: {exc}") from None
    if (
        isinstance(doc, dict)
        and isinstance(doc.get("schema_version"), int)
        and (doc["schema_version"] > EXPERIMENT_SCHEMA_VERSION)
    ):
        raise IncompatibleVersionError(
            f"{where} is schema version {doc['schema_version']}, newer than this capsa-optim "
            f"reads ({EXPERIMENT_SCHEMA_VERSION})"
        )
    try:
        return msgspec.convert(doc, ExperimentManifest, strict=False)
    except msgspec.ValidationError as exc:
        raise IntegrityError(f"{where} does not fit the experiment schema: {exc}") from None


def _check_run_id(run_id: Any) -> str:
    from capsa.store.keys import validate_key

    if not isinstance(run_id, str) or not run_id or "/" in run_id:
        raise ValidationError(f"run_id must be a non-empty str without '/', got {run_id!r}")
    validate_key(run_id)
    return run_id


class Experiment:
    """An experiment directory.

    ``exp_dir`` is a path, a capsa URL, or a :class:`~capsa_optim.RunLocation`
    whose key is the experiment's prefix in a store.
    """

    def __init__(self, exp_dir: RunDir):
        self.location: RunLocation = locate_root(exp_dir)
        """Store and key prefix of the experiment."""

    @classmethod
    def create(
        cls, exp_dir: RunDir, manifest: ExperimentManifest | Mapping[str, Any]
    ) -> Experiment:
        """Create an experiment: check and save its manifest (once, in production)."""
        exp = cls(exp_dir)
        default_id = (
            exp.location.key.rsplit("/", 1)[-1]
            or exp.location.store.url.rstrip("/").rsplit("/", 1)[-1]
        )
        checked = coerce_manifest(manifest, default_id)
        doc = msgspec.to_builtins(checked)
        exp.location.store.save(exp._key("manifest"), "optim.experiment", doc)
        return exp

    def _key(self, *parts: str) -> str:
        return self.location.child(*parts).key

    @property
    def manifest(self) -> ExperimentManifest:
        """The experiment's manifest (ArtifactNotFoundError when never created)."""
        from capsa_optim.run_reading import file_source

        key = self._key("manifest")
        artifact = self.location.store.load(key)
        return decode_manifest(
            file_source(artifact, "manifest").read_bytes(), f"{key}/manifest.json"
        )

    def run(self, run_id: str) -> RunLocation:
        """Where run ``run_id`` lives: pass it as ``run_dir`` to save_run / load_* / TraceWriter."""
        return self.location.child("runs", _check_run_id(run_id))

    def run_ids(self) -> list[str]:
        """Ids of the committed runs, sorted."""
        prefix = self._key("runs") + "/"
        found = []
        for info in self.location.store.iter_artifacts(prefix, kind="optim.run"):
            rest = info.key[len(prefix) :]
            if "/" not in rest:
                found.append(rest)
        return sorted(found)

    def runs(self) -> Iterator[RunArtifacts]:
        """Lazy handles on every committed run."""
        from capsa_optim.artifacts import RunArtifacts

        for run_id in self.run_ids():
            yield RunArtifacts(self.run(run_id))

    def save_run(
        self, run_id: str, trace: Any, meta: Any, summary: Any = None, **options: Any
    ) -> ArtifactRef:
        """:func:`~capsa_optim.save_run` into ``runs/<run_id>``."""
        from capsa_optim.run_io import save_run

        return save_run(self.run(run_id), trace, meta, summary, **options)

    def trace_writer(self, run_id: str, **options: Any) -> TraceWriter:
        """A :class:`~capsa_optim.TraceWriter` streaming into ``runs/<run_id>``."""
        from capsa_optim.trace_writer import TraceWriter

        return TraceWriter(self.run(run_id), **options)

    def table(self, *, meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> RunTable:
        """The aggregated table of every run (summary.json + ``meta_keys``)."""
        from capsa_optim.table import build_table

        return build_table(self.runs(), meta_keys=meta_keys)

    def write_table(
        self,
        *,
        meta_keys: Sequence[str] = DEFAULT_META_KEYS,
        name: str = "table",
        table_format: str = "auto",
    ) -> ArtifactRef:
        """Build and save the aggregated table at ``<exp>/<name>`` (Parquet or CSV)."""
        from capsa_optim.table import write_table

        if not self.run_ids():
            raise ArtifactNotFoundError(f"experiment {self.location.url} has no committed runs")
        table = self.table(meta_keys=meta_keys)
        return write_table(
            self.location.child(_check_run_id(name)),
            table,
            table_format=table_format,
            meta_keys=meta_keys,
        )

    def save_plots(self, name: str, fig: Any, panels: Sequence[Panel] | None = None) -> ArtifactRef:
        """Save a figure as ``plots/<name>`` (``panels.png``, ``panels.pdf``)."""
        from capsa_optim.plotting.render import plots_artifact

        return self.location.store.save(
            self._key("plots", _check_run_id(name)), "optim.plots", plots_artifact(fig, panels)
        )

    def __repr__(self) -> str:
        return f"<Experiment {self.location.url}>"
