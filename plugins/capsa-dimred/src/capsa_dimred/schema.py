"""The on-disk documents capsa-dimred owns, as msgspec Structs with schema versions.

The seed's own files stay readable by the seed's readers: ``fit.json``
keeps the keys ``fit`` and ``metrics`` (capsa adds ``schema`` and
``schema_version`` beside them), ``eval.json`` is the eval payload itself
(its version is the kind version in the ``_SUCCESS`` manifest), and runs
inventories stay plain JSON lists (their version lives in the inventory's
head object, see :mod:`capsa_dimred.chain`).
"""

from __future__ import annotations

from typing import Any

import msgspec

FIT_SCHEMA = "capsa.dimred.fit"
"""``schema`` of ``fit.json``."""

FIT_SCHEMA_VERSION = 1
"""``schema_version`` of ``fit.json`` written by this version."""

SUMMARY_SCHEMA = "capsa.dimred.run_summary"
"""``schema`` of ``run_summary.json``."""

SUMMARY_SCHEMA_VERSION = 1
"""``schema_version`` of ``run_summary.json`` written by this version."""

HEAD_SCHEMA = "capsa.dimred.inventory_head"
"""``schema`` of an inventory's head object."""

HEAD_SCHEMA_VERSION = 1
"""``schema_version`` of an inventory's head object."""

MIRROR_SCHEMA_VERSION = 1
"""``schema_version`` of the manifest meta of ``dimred.run`` artifacts."""


class FitDocument(msgspec.Struct, kw_only=True):
    """``fit.json``: the fit payload, its metrics and the JSON diagnostics.

    :ivar fit: the fit payload as given to ``save_fit_artifact``.
    :ivar metrics: the metrics payload.
    :ivar diagnostics: the diagnostics that are not arrays.
    :ivar diagnostic_arrays: names of the diagnostics stored in ``fit.npz``
        (as ``diag__<name>``).
    :ivar artifact_stem: ``fit["artifact_stem"]``, for provenance.
    :ivar allow_nonfinite: the embedding was allowed to hold NaN/inf.
    :ivar schema: always :data:`FIT_SCHEMA`.
    :ivar schema_version: :data:`FIT_SCHEMA_VERSION` at write time.
    """

    fit: dict[str, Any]
    metrics: dict[str, Any]
    diagnostics: dict[str, Any] = msgspec.field(default_factory=dict)
    diagnostic_arrays: list[str] = msgspec.field(default_factory=list)
    artifact_stem: str | None = None
    allow_nonfinite: bool = False
    schema: str = FIT_SCHEMA
    schema_version: int = FIT_SCHEMA_VERSION


class RunCounts(msgspec.Struct, kw_only=True):
    """Record counts of one inventory in ``run_summary.json``.

    :ivar total: records in the inventory.
    :ivar success: records with ``status == "success"``.
    :ivar failed: records with ``status == "failed"``.
    :ivar other: records with any other (or no) status.
    """

    total: int = 0
    success: int = 0
    failed: int = 0
    other: int = 0


class RunSummary(msgspec.Struct, kw_only=True):
    """``run_summary.json`` (``run_metadata`` keys are merged beside these fields).

    :ivar status: ``"success"``, ``"partial"`` or ``"failed"``.
    :ivar marker: the marker file left in the output root (``_RUN_SUCCESS`` ...).
    :ivar fit_runs: counts of the fit inventory.
    :ivar eval_runs: counts of the eval inventory.
    :ivar fatal_error: the fatal error given, if any.
    :ivar output_root: the output root, as given.
    :ivar fit_runs_path: the fit inventory, as given.
    :ivar eval_runs_path: the eval inventory, as given.
    :ivar report_path: the HTML report, if any.
    :ivar written_at: UTC ISO-8601 time of the write.
    :ivar schema: always :data:`SUMMARY_SCHEMA`.
    :ivar schema_version: :data:`SUMMARY_SCHEMA_VERSION` at write time.
    """

    status: str
    marker: str
    fit_runs: RunCounts
    eval_runs: RunCounts
    fatal_error: str | None
    output_root: str
    fit_runs_path: str
    eval_runs_path: str
    report_path: str | None
    written_at: str
    schema: str = SUMMARY_SCHEMA
    schema_version: int = SUMMARY_SCHEMA_VERSION


class InventoryHead(msgspec.Struct, kw_only=True):
    """The hint object of an inventory's version chain (``.../head``).

    :ivar version: the newest version number its writer knew of.
    :ivar records: how many records that version holds.
    :ivar updated_at: UTC ISO-8601 time of the write.
    :ivar schema: always :data:`HEAD_SCHEMA`.
    :ivar schema_version: :data:`HEAD_SCHEMA_VERSION` at write time.
    """

    version: int
    records: int
    updated_at: str
    schema: str = HEAD_SCHEMA
    schema_version: int = HEAD_SCHEMA_VERSION


VERSION_SCHEMA = "capsa.dimred.inventory_version"
"""``schema`` of the header line of an inventory version object."""

VERSION_SCHEMA_VERSION = 1
"""``schema_version`` of that header line."""


class VersionHeader(msgspec.Struct, kw_only=True):
    """The first line of an inventory version object; the inventory file's bytes follow it.

    :ivar sorted_by: the key fields the records are sorted by (then the
        run-taxonomy fields), which lets the next upsert insert by bisection.
    :ivar records: how many records the version holds.
    :ivar schema: always :data:`VERSION_SCHEMA`.
    :ivar schema_version: :data:`VERSION_SCHEMA_VERSION` at write time.
    """

    sorted_by: list[str]
    records: int
    schema: str = VERSION_SCHEMA
    schema_version: int = VERSION_SCHEMA_VERSION


class RunMirrorMeta(msgspec.Struct, kw_only=True):
    """Manifest meta of a ``dimred.run`` artifact: one inventory record, for catalogs.

    :ivar inventory: key of the inventory file in the store (``"fit_runs.json"``).
    :ivar record_id: stable id of the record's key-field values.
    :ivar revision: the inventory version that upserted it (higher is newer).
    :ivar key_fields: the key fields of the upsert.
    :ivar key: key field -> value.
    :ivar metrics: metric column -> float, or None for nan/missing.
    :ivar status: the record's ``status``.
    :ivar artifact_path: the record's ``artifact_path``.
    :ivar fingerprint: the record id again, under the name catalogs index
        (``capsa.catalog`` records ``meta["fingerprint"]``).
    :ivar nonfinite: top-level fields whose value was NaN or infinite
        (``"nan"``, ``"inf"``, ``"-inf"``); ``record.json`` holds null there.
    :ivar field_order: the record's field names in order (``record.json`` sorts them).
    :ivar schema_version: :data:`MIRROR_SCHEMA_VERSION` at write time.
    """

    inventory: str
    record_id: str
    revision: int
    key_fields: list[str]
    key: dict[str, Any]
    metrics: dict[str, float | None]
    status: str | None = None
    artifact_path: str | None = None
    fingerprint: str | None = None
    nonfinite: dict[str, str] = msgspec.field(default_factory=dict)
    field_order: list[str] = msgspec.field(default_factory=list)
    schema_version: int = MIRROR_SCHEMA_VERSION


class LegacyFiles(msgspec.Struct, kw_only=True):
    """``files`` of a legacy ``artifact_manifest.json``: role -> file name."""

    embedding: str | None = None
    ids: str | None = None
    fit: str | None = None
    metrics: str | None = None
    diagnostics: str | None = None


class LegacyManifest(msgspec.Struct, kw_only=True):
    """A legacy ``artifact_manifest.json`` (unknown extra keys are kept, not checked).

    :ivar files: role -> file name inside the artifact directory.
    :ivar artifact_stem: the stem the files are named after.
    :ivar layout: ``"seven-file"`` when present.
    """

    files: LegacyFiles = msgspec.field(default_factory=LegacyFiles)
    artifact_stem: str | None = None
    layout: str | None = None
