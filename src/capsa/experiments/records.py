"""The files of a run directory that capsa owns, as msgspec Structs with a schema version.

==========================  ==============================================  =========
file                        content                                         written
==========================  ==============================================  =========
``config.json``             :class:`RunConfigRecord`: normalised config,    always
                            fingerprint, names, applied overrides
``environment.json``        :class:`~capsa.experiments.environment.         always
                            EnvironmentInfo`
``status.json``             :class:`RunStatus`: success / partial /         always
                            failed, times, error with traceback
``run.log``                 the run's log (plain text), traceback appended  always
                            on failure
``dataset_manifest.json``   :class:`DatasetManifest`: input files with      always
                            size and sha256, dataset details
``metrics.json``            :class:`MetricsRecord`                          when the
                                                                            step gives
                                                                            metrics
``predictions.jsonl``       the step's prediction records, one per line     when the
                                                                            step writes
                                                                            them
==========================  ==============================================  =========

Each JSON file carries ``schema`` and ``schema_version``; ``predictions.jsonl``
and any extra file a step writes are the step's own.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

RECORD_VERSION = 1
"""Schema version of every run-directory record this capsa writes."""

CONFIG_FILE = "config.json"
"""The normalised config of the run."""
ENVIRONMENT_FILE = "environment.json"
"""Environment metadata (interpreter, machine, versions, git, variables)."""
STATUS_FILE = "status.json"
"""Outcome of the run (status, times, error and traceback)."""
RUN_LOG_FILE = "run.log"
"""The run's log."""
DATASET_MANIFEST_FILE = "dataset_manifest.json"
"""Dataset / provenance manifest: inputs with their sha256."""
METRICS_FILE = "metrics.json"
"""Metrics the step returned or wrote."""
PREDICTIONS_FILE = "predictions.jsonl"
"""Prediction records, one JSON document per line."""

RESERVED_FILES: tuple[str, ...] = (
    CONFIG_FILE,
    ENVIRONMENT_FILE,
    STATUS_FILE,
    RUN_LOG_FILE,
    DATASET_MANIFEST_FILE,
    METRICS_FILE,
    PREDICTIONS_FILE,
)
"""Member names a step cannot write with ``RunContext.write``."""

RunStatusName = Literal["success", "partial", "failed"]
"""A recorded run's status."""


class RunConfigRecord(msgspec.Struct, kw_only=True):
    """``config.json``.

    :ivar schema: ``"capsa.experiment.config"``.
    :ivar schema_version: :data:`RECORD_VERSION`.
    :ivar name: sweep / experiment name.
    :ivar concrete_name: the run's label within the sweep.
    :ivar fingerprint: sha256 of the canonical JSON of ``config``.
    :ivar config_type: ``module.QualName`` of the config type.
    :ivar applied_overrides: dotted path -> value, in the order applied.
    :ivar groups: registry groups.
    :ivar model: registry model name.
    :ivar sweep_file: the sweep or registry file the run came from.
    :ivar config: the normalised config.
    """

    schema: str = "capsa.experiment.config"
    schema_version: int = RECORD_VERSION
    name: str
    concrete_name: str
    fingerprint: str
    config_type: str
    applied_overrides: dict[str, Any]
    groups: list[str] = msgspec.field(default_factory=list)
    model: str | None = None
    sweep_file: str | None = None
    config: dict[str, Any]


class RunError(msgspec.Struct, kw_only=True):
    """Why a run failed.

    :ivar type: the exception's ``module.QualName``.
    :ivar message: ``str(exception)``.
    :ivar traceback: the formatted traceback.
    """

    type: str
    message: str
    traceback: str


class RunStatus(msgspec.Struct, kw_only=True):
    """``status.json``.

    :ivar schema: ``"capsa.experiment.status"``.
    :ivar schema_version: :data:`RECORD_VERSION`.
    :ivar status: ``success``, ``partial`` (the step finished but marked
        parts of its work as missing) or ``failed`` (it raised).
    :ivar attempt: the attempt number (None without attempts).
    :ivar started_at: UTC ISO-8601 start time.
    :ivar finished_at: UTC ISO-8601 end time.
    :ivar duration_seconds: wall time of the step.
    :ivar partial_reasons: what the step reported as missing.
    :ivar error: the exception, for failed runs.
    """

    schema: str = "capsa.experiment.status"
    schema_version: int = RECORD_VERSION
    status: RunStatusName
    attempt: int | None = None
    started_at: str
    finished_at: str
    duration_seconds: float
    partial_reasons: list[str] = msgspec.field(default_factory=list)
    error: RunError | None = None


class MetricsRecord(msgspec.Struct, kw_only=True):
    """``metrics.json``.

    :ivar schema: ``"capsa.experiment.metrics"``.
    :ivar schema_version: :data:`RECORD_VERSION`.
    :ivar metrics: the metrics (any JSON; NaN and infinities are refused).
    """

    schema: str = "capsa.experiment.metrics"
    schema_version: int = RECORD_VERSION
    metrics: dict[str, Any]


class InputRecord(msgspec.Struct, kw_only=True):
    """One input file of a run.

    :ivar name: a label (default: the file name).
    :ivar path: the path as given.
    :ivar size: bytes.
    :ivar sha256: streamed sha256 of the content.
    :ivar role: ``"input"``, ``"train"``, ``"test"`` ... (free text).
    """

    name: str
    path: str
    size: int
    sha256: str
    role: str = "input"


class DatasetManifest(msgspec.Struct, kw_only=True):
    """``dataset_manifest.json``.

    :ivar schema: ``"capsa.experiment.dataset"``.
    :ivar schema_version: :data:`RECORD_VERSION`.
    :ivar inputs: the files the run read, hashed.
    :ivar details: free JSON the step recorded about its data (split sizes ...).
    """

    schema: str = "capsa.experiment.dataset"
    schema_version: int = RECORD_VERSION
    inputs: list[InputRecord] = msgspec.field(default_factory=list)
    details: dict[str, Any] = msgspec.field(default_factory=dict)


__all__ = [
    "CONFIG_FILE",
    "DATASET_MANIFEST_FILE",
    "ENVIRONMENT_FILE",
    "METRICS_FILE",
    "PREDICTIONS_FILE",
    "RECORD_VERSION",
    "RESERVED_FILES",
    "RUN_LOG_FILE",
    "STATUS_FILE",
    "DatasetManifest",
    "InputRecord",
    "MetricsRecord",
    "RunConfigRecord",
    "RunError",
    "RunStatus",
    "RunStatusName",
]
