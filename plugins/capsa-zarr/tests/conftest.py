"""Shared fixtures for the capsa-zarr tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import capsa
from capsa.store.store import Store
from capsa.testing.isolation import fresh_store_url, isolate_environment


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test runs in its own folder with no CAPSA_* variables set."""
    isolate_environment(monkeypatch, tmp_path)


@pytest.fixture(params=["file", "memory"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh store URL on each built-in backend."""
    yield from fresh_store_url(request.param, tmp_path, name="store")


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
