"""The ``experiment.run`` artifact kind: one run directory, committed atomically.

Registered by the core's built-in kinds plugin (``capsa.builtin.kinds``),
through the same entry-point path as every other kind. Its members are the
files listed in :mod:`capsa.experiments.records`; the layout is open, so a
step may add files of its own (``model.npz``, ``confusion.csv``), each stored
through the format its extension names.

Besides the members, the manifest's ``meta`` holds what an inventory needs
without opening a file: ``experiment``, ``concrete_name``, ``fingerprint``,
``attempt``, ``status``, ``groups``, ``model``, ``duration_seconds`` and
``metrics`` (the scalar entries of ``metrics.json``: numbers, booleans and
strings). The catalog (``capsa runs``) records the metrics and those scalar
fields (``catalog_fields``); ``status`` and ``fingerprint`` are catalog columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from capsa.errors import ValidationError
from capsa.experiments.records import (
    CONFIG_FILE,
    DATASET_MANIFEST_FILE,
    ENVIRONMENT_FILE,
    METRICS_FILE,
    PREDICTIONS_FILE,
    RUN_LOG_FILE,
    STATUS_FILE,
)
from capsa.kinds.base import ArtifactKind, MemberSpec

RUN_KIND = "experiment.run"
"""The kind name of run directories."""


class ExperimentRunKind(ArtifactKind):
    """A run directory: config, environment, status, log, dataset manifest, metrics, predictions."""

    name: ClassVar[str] = RUN_KIND
    version: ClassVar[int] = 1
    open_layout: ClassVar[bool] = True
    members: ClassVar[tuple[MemberSpec, ...]] = (
        MemberSpec(name="config", filename=CONFIG_FILE, format="json"),
        MemberSpec(name="environment", filename=ENVIRONMENT_FILE, format="json"),
        MemberSpec(name="status", filename=STATUS_FILE, format="json"),
        MemberSpec(name="log", filename=RUN_LOG_FILE, format="text"),
        MemberSpec(name="dataset_manifest", filename=DATASET_MANIFEST_FILE, format="json"),
        MemberSpec(name="metrics", filename=METRICS_FILE, format="json", required=False),
        MemberSpec(name="predictions", filename=PREDICTIONS_FILE, format="jsonl", required=False),
    )
    description: ClassVar[str] = (
        "an experiment run: config, environment, status, run.log, dataset manifest, metrics"
    )
    catalog_fields: ClassVar[tuple[str, ...]] = (
        "metrics.*",
        "experiment",
        "concrete_name",
        "attempt",
        "model",
        "duration_seconds",
    )

    def validate(self, members: Mapping[str, Any]) -> None:
        """Check the required members and that ``status.json`` has a known status."""
        super().validate(members)
        status = members.get("status")
        value = status.get("status") if isinstance(status, Mapping) else None
        if value not in ("success", "partial", "failed"):
            raise ValidationError(
                f"kind {self.name!r}: status.json must hold status 'success', 'partial' or "
                f"'failed', got {value!r}"
            )


__all__ = ["RUN_KIND", "ExperimentRunKind"]
