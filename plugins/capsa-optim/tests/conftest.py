"""Fixtures for the capsa-optim tests (helpers live in optim_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from capsa.testing.isolation import fresh_store_url, isolate_environment


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test runs in its own folder with no CAPSA_* variables set."""
    isolate_environment(monkeypatch, tmp_path)


@pytest.fixture(params=["file", "memory"])
def root_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh folder (path) or memory URL under which runs are placed."""
    yield from fresh_store_url(request.param, tmp_path, name="runs")
