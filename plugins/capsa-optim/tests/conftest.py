"""Fixtures for the capsa-optim tests (helpers live in optim_helpers.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from capsa.backends.memory import MemoryBackend

_CAPSA_ENV = (
    "CAPSA_STORE",
    "CAPSA_MODE",
    "CAPSA_SESSION",
    "CAPSA_TEST_NAME",
    "CAPSA_CONFIG",
    "CAPSA_LOAD_PLUGINS",
    "CAPSA_STRICT_PLUGINS",
    "CAPSA_GC_GRACE_SECONDS",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test runs in its own folder with no CAPSA_* variables set."""
    for var in _CAPSA_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(params=["file", "memory"])
def root_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh folder (path) or memory URL under which runs are placed."""
    if request.param == "file":
        yield str(tmp_path / "runs")
    else:
        name = f"optim-{uuid.uuid4().hex[:8]}"
        yield f"memory://{name}"
        MemoryBackend(name)._objects.clear()
