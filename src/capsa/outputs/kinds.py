"""The two kinds a persister writes: an exports folder and a step's artifacts."""

from __future__ import annotations

from typing import ClassVar

from capsa.kinds.base import ArtifactKind

EXPORTS_KIND = "exports"
"""Kind of ``exports/<group>``: human-readable outputs under readable names."""

STEP_ARTIFACTS_KIND = "step.artifacts"
"""Kind of ``artifacts/<group>``: a step's internal objects, stored by reference."""


class ExportsKind(ArtifactKind):
    """Charts, reports and tables under readable names (``exports/<group>/<name>.<ext>``)."""

    name: ClassVar[str] = EXPORTS_KIND
    version: ClassVar[int] = 1
    open_layout: ClassVar[bool] = True
    description: ClassVar[str] = (
        "human-readable outputs (charts, reports, CSV) under readable names"
    )


class StepArtifactsKind(ArtifactKind):
    """Models and fitted transformers, each member a content-addressed object."""

    name: ClassVar[str] = STEP_ARTIFACTS_KIND
    version: ClassVar[int] = 1
    open_layout: ClassVar[bool] = True
    description: ClassVar[str] = "a step's models and transformers, deduplicated by content"


__all__ = ["EXPORTS_KIND", "STEP_ARTIFACTS_KIND", "ExportsKind", "StepArtifactsKind"]
