"""Shared fixtures for the capsa-zarr tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import capsa
from capsa.backends.memory import MemoryBackend
from capsa.store.store import Store

_CAPSA_ENV = (
    "CAPSA_STORE",
    "CAPSA_MODE",
    "CAPSA_SESSION",
    "CAPSA_TEST_NAME",
    "CAPSA_CONFIG",
    "CAPSA_LOAD_PLUGINS",
    "CAPSA_STRICT_PLUGINS",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test runs in its own folder with no CAPSA_* variables set."""
    for var in _CAPSA_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(params=["file", "memory"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh store URL on each built-in backend."""
    if request.param == "file":
        yield str(tmp_path / "store")
    else:
        name = f"zarr-{uuid.uuid4().hex[:8]}"
        yield f"memory://{name}"
        MemoryBackend(name)._objects.clear()


@pytest.fixture
def store(backend_url: str) -> Store:
    """A production store on each built-in backend."""
    return capsa.open_store(backend_url)


@pytest.fixture
def dev_store(backend_url: str) -> Store:
    """A development store on each built-in backend."""
    return capsa.open_store(backend_url, mode="development", session="s1")


@pytest.fixture
def local_store(tmp_path: Path) -> Store:
    """A production store in a local folder (members have local paths)."""
    return capsa.open_store(str(tmp_path / "local-store"))
