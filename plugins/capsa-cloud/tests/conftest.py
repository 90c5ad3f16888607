"""Real S3 servers on 127.0.0.1, started once per test session: moto and SeaweedFS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from capsa_cloud.servers import LoopbackS3, moto_server, seaweedfs_server

from capsa.testing.isolation import isolate_environment

BUCKET = "capsa-test"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[LoopbackS3]:
    """moto's S3 server on a free port of 127.0.0.1, with one bucket; stopped at the end."""
    with moto_server(BUCKET) as server:
        yield server


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackS3]:
    """SeaweedFS (``weed mini``) on free loopback ports, with one bucket; stopped at the end."""
    workdir: Path = tmp_path_factory.mktemp("seaweedfs")
    with seaweedfs_server(workdir, BUCKET) as server:
        yield server


@pytest.fixture(scope="session", params=["moto", "seaweedfs"])
def any_s3(request: pytest.FixtureRequest) -> LoopbackS3:
    """Each loopback S3 server in turn (tests that must hold on both)."""
    server: LoopbackS3 = request.getfixturevalue(
        "s3_server" if request.param == "moto" else "seaweedfs"
    )
    return server


@pytest.fixture(autouse=True)
def _no_cloud_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the machine's cloud credentials, endpoints and capsa settings out of the tests."""
    isolate_environment(monkeypatch, cloud=True)
