"""The built-in backends pass the reusable conformance suite of capsa.testing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from capsa.backends.base import Backend
from capsa.backends.local import LocalBackend
from capsa.backends.memory import MemoryBackend
from capsa.testing import BackendConformance


class TestLocalBackend(BackendConformance):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Backend:
        return LocalBackend.from_url((tmp_path / "root").as_uri(), {})


class TestMemoryBackend(BackendConformance):
    @pytest.fixture
    def backend(self) -> Iterator[Backend]:
        name = f"conformance-{uuid.uuid4().hex[:8]}"
        backend = MemoryBackend.from_url(f"memory://{name}", {})
        yield backend
        backend.delete_prefix("")
