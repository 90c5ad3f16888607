"""capsa hook implementations of the capsa-dimred plugin (entry point ``dimred``).

Importing this module imports neither numpy nor the plugin's modules: the
kinds are imported inside the hook, and they import numpy only when they
check or pack data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from capsa.markers import hookimpl

if TYPE_CHECKING:
    from capsa.cli.demo import DemoArtifact
    from capsa.kinds.base import ArtifactKind


@hookimpl
def capsa_register_artifact_kinds(register: Callable[[ArtifactKind], None]) -> None:
    """Register ``dimred.fit``, ``dimred.eval`` and ``dimred.run``."""
    from capsa_dimred.kinds import DimredEvalKind, DimredFitKind, DimredRunKind

    for kind in (DimredFitKind(), DimredEvalKind(), DimredRunKind()):
        register(kind)


@hookimpl
def capsa_demo_artifacts(register: Callable[[DemoArtifact], None]) -> None:
    """Contribute PCA fits, evals and a pipeline run's inventories to ``capsa demo``."""
    from capsa_dimred.demo import demo_artifacts

    for artifact in demo_artifacts():
        register(artifact)
