"""capsa hook implementations of the capsa-zarr plugin (entry point ``zarr``).

Importing this module imports neither zarr nor numpy; the format imports
them only when it validates, writes or reads.
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
    """Register the ``zarr`` format."""
    from capsa_zarr.format import ZarrFormat

    register(ZarrFormat())


@hookimpl
def capsa_register_artifact_kinds(register: Callable[[ArtifactKind], None]) -> None:
    """Register the ``zarr.array`` artifact kind."""
    from capsa_zarr.kind import ZarrArrayKind

    register(ZarrArrayKind())


def _demo_trace() -> dict[str, object]:
    """A small optimizer-like trace: loss per step and the parameters per step."""
    import numpy as np

    rng = np.random.default_rng(11)
    steps, dim = 2000, 8
    theta = np.cumsum(rng.standard_normal((steps, dim)).astype(np.float32) * 0.01, axis=0)
    loss = np.exp(-np.arange(steps) / 500.0) + 0.01 * rng.random(steps)
    return {"loss": loss, "theta": theta}


@hookimpl
def capsa_demo_artifacts(register: Callable[[DemoArtifact], None]) -> None:
    """Contribute a chunked trace (a Zarr group: loss and theta per step) to ``capsa demo``."""
    from capsa.cli.demo import DemoArtifact

    register(
        DemoArtifact(
            key="demo/trace",
            kind="zarr.array",
            make=_demo_trace,
            description="a 2000-step trace (loss, 8-d theta) as a chunked Zarr v3 group",
        )
    )
