"""capsa hook implementations of the capsa-npz plugin (entry point ``npz``).

Importing this module does not import numpy; the format imports it only
when it writes or reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from capsa.markers import hookimpl

if TYPE_CHECKING:
    from capsa.cli.demo import DemoArtifact
    from capsa.formats.base import Format
    from capsa.kinds.base import ArtifactKind


@hookimpl
def capsa_register_formats(register: Callable[[Format], None]) -> None:
    """Register the ``npz`` format."""
    from capsa_npz.format import NpzFormat

    register(NpzFormat())


@hookimpl
def capsa_register_artifact_kinds(register: Callable[[ArtifactKind], None]) -> None:
    """Register the ``arrays`` artifact kind."""
    from capsa_npz.kind import ArraysKind

    register(ArraysKind())


def _demo_embedding() -> dict[str, object]:
    import numpy as np

    rng = np.random.default_rng(7)
    return {
        "embedding": rng.standard_normal((1000, 2)).astype(np.float32),
        "ids": np.arange(1000, dtype=np.int64),
        "explained_variance": np.array([0.61, 0.27]),
    }


@hookimpl
def capsa_demo_artifacts(register: Callable[[DemoArtifact], None]) -> None:
    """Contribute a 2-D embedding with ids to ``capsa demo``."""
    from capsa.cli.demo import DemoArtifact

    register(
        DemoArtifact(
            key="demo/embedding",
            kind="arrays",
            make=_demo_embedding,
            description="a 1000x2 embedding, ids and diagnostics in one npz",
        )
    )
