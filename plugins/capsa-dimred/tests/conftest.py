"""Shared fixtures for the capsa-dimred tests: a clean environment and one root per backend.

``root`` is an output root on each backend: a local folder, a ``memory://``
space and, when capsa-cloud (with its ``servers`` extra) is installed, a
prefix of a bucket on a loopback moto S3 server started once per session.
S3 options reach plain ``s3://`` URLs the way a user's would: a
``capsa.toml`` in the working folder names a store whose URL prefixes them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dimred_helpers import write_s3_config

from capsa.backends.memory import MemoryBackend
from capsa.testing.isolation import isolate_environment

BUCKET = "capsa-dimred-test"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test runs in its own folder with no CAPSA_* or cloud variables set."""
    isolate_environment(monkeypatch, tmp_path, cloud=True)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[Any]:
    """moto's S3 server on a free loopback port with one bucket (skipped without capsa-cloud)."""
    pytest.importorskip("capsa_cloud", reason="the S3 runs need capsa-cloud")
    pytest.importorskip("moto", reason="the S3 runs need capsa-cloud[servers]")
    from capsa_cloud.servers import moto_server

    with moto_server(BUCKET) as server:
        yield server


@pytest.fixture(params=["file", "memory", "s3"])
def root(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An output root (path or URL) on each backend."""
    if request.param == "file":
        yield str(tmp_path / "out")
    elif request.param == "memory":
        name = f"dimred-{uuid.uuid4().hex[:8]}"
        yield f"memory://{name}/out"
        MemoryBackend.clear_all()
    else:
        server = request.getfixturevalue("s3_server")
        write_s3_config(tmp_path, server)
        yield f"s3://{server.bucket}/{uuid.uuid4().hex[:12]}/out"


@pytest.fixture
def local_root(tmp_path: Path) -> str:
    """A local output root."""
    return str(tmp_path / "out")
