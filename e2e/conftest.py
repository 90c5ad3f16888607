"""The end-to-end suite: a loopback SeaweedFS for the whole session, a clean environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from capsa_cloud.servers import LoopbackS3, seaweedfs_server

from capsa.testing.isolation import isolate_environment


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackS3]:
    """SeaweedFS (``weed mini``) on free 127.0.0.1 ports with one bucket; stopped at the end."""
    with seaweedfs_server(tmp_path_factory.mktemp("seaweedfs"), "capsa-e2e") as server:
        yield server


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No CAPSA_* settings, cloud credentials or endpoints of the machine leak in."""
    isolate_environment(monkeypatch, tmp_path, cloud=True)
