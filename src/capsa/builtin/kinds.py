"""Built-in artifact kinds: json, text, blob, pickle, bundle, experiment.run, outputs kinds."""

from __future__ import annotations

from collections.abc import Callable

from capsa.experiments.kind import ExperimentRunKind
from capsa.kinds.base import ArtifactKind
from capsa.kinds.generic import BlobKind, BundleKind, JsonKind, PickleKind, TextKind
from capsa.markers import hookimpl
from capsa.outputs.kinds import ExportsKind, StepArtifactsKind


@hookimpl
def capsa_register_artifact_kinds(register: Callable[[ArtifactKind], None]) -> None:
    """Register the core kinds."""
    for kind in (JsonKind(), TextKind(), BlobKind(), PickleKind(), BundleKind()):
        register(kind)
    register(ExperimentRunKind())  # run directories (capsa.experiments)
    register(ExportsKind())  # exports/<group>: readable outputs (capsa.outputs)
    register(StepArtifactsKind())  # artifacts/<group>: a step's objects, by reference
