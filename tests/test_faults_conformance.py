"""The backend conformance kit passes through ``faulty+memory://`` and the retry layer.

Without faults the wrapper pair must be invisible. With faults on, the retry
layer must hide them: every check of the kit still passes, because each
injected failure is retried (with enough retries that giving up is
practically impossible) and partial bodies are never returned as data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import capsa
from capsa.backends.base import Backend
from capsa.backends.faulty import FaultyBackend
from capsa.backends.memory import MemoryBackend
from capsa.backends.retrying import RetryingBackend
from capsa.backends.wrapper import find_backend
from capsa.testing import BackendConformance


class _FaultyMemory(BackendConformance):
    """Opens ``faulty+memory://<fresh space>`` with :attr:`options`."""

    options: dict[str, Any] = {}

    @pytest.fixture
    def store_url(self) -> Iterator[str]:
        name = f"faulty-conformance-{uuid.uuid4().hex[:8]}"
        yield f"faulty+memory://{name}"
        MemoryBackend(name)._objects.clear()

    @pytest.fixture
    def backend_options(self) -> dict[str, Any]:
        return dict(self.options)

    @pytest.fixture
    def backend(self, store_url: str, backend_options: dict[str, Any]) -> Backend:
        backend = capsa.open_store(store_url, options=backend_options).backend
        assert isinstance(backend, RetryingBackend)
        return backend


class TestFaultyMemoryWithoutFaults(_FaultyMemory):
    options = {"fault_rate": 0}

    def test_nothing_was_injected_or_retried(self, backend: Backend) -> None:
        backend.put("x", b"1", create_only=True)
        assert backend.get("x") == b"1"
        injector = find_backend(backend, FaultyBackend)
        assert injector is not None and injector.fault_stats.total == 0
        assert isinstance(backend, RetryingBackend)
        assert backend.retry_stats.total_failures == 0


class _WithFaults(_FaultyMemory):
    """Checks that faults were really injected, and hidden, under this class's options."""

    def test_faults_were_injected_and_hidden(self, backend: Backend) -> None:
        blobs = {f"f/{i:03d}": bytes([i % 256]) * (i + 1) for i in range(150)}
        for key, blob in blobs.items():
            backend.put(key, blob, create_only=True)
        for key, blob in blobs.items():
            assert backend.get(key) == blob
            assert backend.head(key).size == len(blob)
        assert {i.key for i in backend.list("f/")} == blobs.keys()
        injector = find_backend(backend, FaultyBackend)
        assert injector is not None and injector.fault_stats.total > 10
        assert isinstance(backend, RetryingBackend)
        stats = backend.retry_stats
        assert stats.failures == injector.fault_stats.by_op and stats.total_gave_up == 0


class TestFaultyMemoryWithFaultsAndRetries(_WithFaults):
    """Every fault, in every operation but ``list``.

    A listing that breaks after yielding objects is not retried (restarting
    would repeat objects), so the kit's listings would surface it: lists get
    their own class below, without partial bodies.
    """

    options = {
        "fault_rate": 0.1,
        "faults": ["put", "get", "timeout", "partial"],
        "fault_ops": ["put", "delete", "get", "get_range", "head"],
        "seed": 1234,
        "max_retries": 8,
        "init_backoff": 0,
    }


class TestFaultyMemoryWithWholeFaultsEverywhere(_WithFaults):
    """Failed requests and timeouts in every operation, lists included."""

    options = {
        "fault_rate": 0.1,
        "faults": ["put", "get", "timeout"],
        "seed": 4321,
        "max_retries": 8,
        "init_backoff": 0,
    }
