"""The nasty case, on purpose: a commit marker that lands but is reported as a timeout.

On an object store the marker is a create-only put. When its answer is lost
(a timeout after the server applied it), the save cannot tell whether it
committed. The retry layer settles it by reading the marker back; these tests
pin down what the store must then guarantee: the artifact is whole, or
absent, never a marker over deleted members.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from capsa.backends.base import Backend, PutData
from capsa.backends.memory import MemoryBackend
from capsa.backends.retrying import RetryingBackend, RetryPolicy
from capsa.backends.wrapper import WrapperBackend
from capsa.errors import StorageTimeoutError, TransientError
from capsa.plugins.manager import get_registry
from capsa.store.keys import MARKER
from capsa.store.store import Store


class LostMarker(WrapperBackend):
    """Applies every ``_SUCCESS`` put, then times out; ``blind`` also fails reading it."""

    def __init__(self, inner: Backend, *, blind: bool):
        super().__init__(inner)
        self.can_fail_transiently = True
        self.blind = blind

    @classmethod
    def wrap(cls, inner: Backend, options: Mapping[str, Any]) -> LostMarker:
        """Not registered: built directly by the tests."""
        raise NotImplementedError

    def put(self, key: str, data: PutData, *, create_only: bool = False) -> None:
        self.inner.put(key, data, create_only=create_only)
        if key.endswith(f"/{MARKER}"):
            raise StorageTimeoutError(f"answer to the put of {key!r} lost")

    def get(self, key: str) -> bytes:
        if self.blind and key.endswith(f"/{MARKER}"):
            raise TransientError(f"get of {key!r} failed")
        return self.inner.get(key)


@pytest.fixture
def memory() -> Iterator[MemoryBackend]:
    """A fresh memory space."""
    backend = MemoryBackend(f"lost-marker-{uuid.uuid4().hex[:8]}")
    yield backend
    backend._objects.clear()


def store_on(backend: Backend, max_retries: int) -> Store:
    """A production store behind the retry layer (no sleeping)."""
    layer = RetryingBackend(
        backend, RetryPolicy(max_retries=max_retries, init_backoff=0), sleep=lambda _: None
    )
    return Store(layer, registry=get_registry(), mode="production")


DATA = {"config.json": {"lr": 0.1}, "weights.bin": b"\x00\x01" * 100}


@pytest.mark.parametrize("max_retries", [0, 3])
def test_a_landed_marker_is_found_by_reading_it_back(
    memory: MemoryBackend, max_retries: int
) -> None:
    store = store_on(LostMarker(memory, blind=False), max_retries)
    store.save("run", "bundle", DATA)  # the timeout is settled: the save commits
    plain = Store(memory, registry=get_registry())
    art = plain.load("run", verify=True)
    assert art["config.json"] == DATA["config.json"] and art["weights.bin"] == DATA["weights.bin"]
    assert store.retry_stats.recovered == {"put": 1}


@pytest.mark.parametrize("max_retries", [0, 3])
def test_a_marker_of_unknown_outcome_never_leaves_a_half_artifact(
    memory: MemoryBackend, max_retries: int
) -> None:
    store = store_on(LostMarker(memory, blind=True), max_retries)
    with pytest.raises(TransientError, match=r"put of 'run/_SUCCESS' .* outcome unknown"):
        store.save("run", "bundle", DATA)
    plain = Store(memory, registry=get_registry())
    if plain.exists("run"):  # it did commit: it must be whole
        assert plain.verify("run").ok, plain.verify("run").problems
    plain.gc(dry_run=False, older_than=0)
    assert not plain.exists("run") or plain.verify("run").ok
