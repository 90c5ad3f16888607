"""Lazy reads: slicing a member reads only the chunks it needs, counted through the backend."""

from __future__ import annotations

import types
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

import numpy as np
import pytest
import zarr

import capsa
from capsa.backends.memory import MemoryBackend
from capsa.markers import hookimpl
from capsa.plugins import register_plugin, unregister_plugin

MIB = 1 << 20


class CountingBackend(MemoryBackend):
    """memory:// with a tally of every byte returned by get and get_range."""

    schemes: ClassVar[tuple[str, ...]] = ("countmem",)
    description: ClassVar[str] = "memory backend that counts bytes read (tests)"
    bytes_read: ClassVar[int] = 0
    ranged: ClassVar[int] = 0
    whole: ClassVar[int] = 0

    @classmethod
    def from_url(cls, url: str, options: Mapping[str, Any]) -> CountingBackend:
        return cls(url.split("://", 1)[1].strip("/") or "default")

    @classmethod
    def reset(cls) -> None:
        cls.bytes_read = cls.ranged = cls.whole = 0

    def get(self, key: str) -> bytes:
        data = super().get(key)
        CountingBackend.bytes_read += len(data)
        CountingBackend.whole += 1
        return data

    def get_range(self, key: str, start: int, end: int) -> bytes:
        data = super().get_range(key, start, end)
        CountingBackend.bytes_read += len(data)
        CountingBackend.ranged += 1
        return data


@pytest.fixture
def counting_store() -> Iterator[Any]:
    plugin = types.SimpleNamespace(
        capsa_register_backends=hookimpl(
            lambda register: register(CountingBackend)  # type: ignore[misc]
        )
    )
    register_plugin(plugin, "zarr-test-counting-backend")
    name = f"count-{uuid.uuid4().hex[:8]}"
    try:
        yield capsa.open_store(f"countmem://{name}")
    finally:
        MemoryBackend(name)._objects.clear()
        unregister_plugin("zarr-test-counting-backend")


def _counted(fn: Callable[[], Any]) -> tuple[Any, int]:
    CountingBackend.reset()
    out = fn()
    return out, CountingBackend.bytes_read


def test_one_percent_slice_reads_about_one_percent(counting_store: Any) -> None:
    rows, cols = 16384, 4096  # int32: 256 MiB
    x = np.arange(rows * cols, dtype=np.int32).reshape(rows, cols)
    # 1 MiB chunks: a 1% slice (164 rows) touches at most 4 of the 256 chunks.
    counting_store.save("big", "zarr.array", x, options={"array": {"chunks": [64, cols]}})
    del x
    art = counting_store.load("big")
    lazy, opened = _counted(lambda: art["array"])
    assert opened < 64 * 1024  # metadata and the listing only, no chunk
    n = rows // 100
    start = 5000
    part, used = _counted(lambda: lazy[start : start + n])
    expected = np.arange(start * cols, (start + n) * cols, dtype=np.int32).reshape(n, cols)
    np.testing.assert_array_equal(part, expected)
    total = rows * cols * 4
    assert used >= n * cols * 4
    assert used / total <= 0.0165, f"read {used / MIB:.2f} MiB for a 1% slice"
    # the whole array reads every chunk: the slice read about 1% of that
    _full, full = _counted(lambda: lazy[...])
    assert full >= total
    assert used / full == pytest.approx(0.01, abs=0.0065)


def test_default_chunks_read_at_most_the_straddled_chunks(counting_store: Any) -> None:
    rows, cols = 16384, 4096
    x = np.ones((rows, cols), dtype=np.float32)
    ref = counting_store.save("big", "zarr.array", x)
    chunk_rows = ref.manifest.members[0].info["chunks"][0]
    assert chunk_rows * cols * 4 == 4 * MIB
    lazy = counting_store.load("big")["array"]
    lazy.shape  # noqa: B018 - metadata already read
    n = rows // 100
    start = chunk_rows * 10 - n // 2  # straddles a chunk boundary: the worst case
    _part, used = _counted(lambda: lazy[start : start + n])
    assert used <= 2 * (4 * MIB + 4)


def test_sharded_slice_uses_ranged_reads(counting_store: Any) -> None:
    x = np.arange(4096 * 256, dtype=np.float32).reshape(4096, 256)  # 4 MiB
    counting_store.save(
        "sh", "zarr.array", x, options={"array": {"chunks": [16, 256], "shards": [1024, 256]}}
    )
    lazy = counting_store.load("sh")["array"]
    lazy.shape  # noqa: B018
    CountingBackend.reset()
    np.testing.assert_array_equal(lazy[100:110], x[100:110])
    assert CountingBackend.ranged >= 2  # the shard index, then the inner chunk
    assert CountingBackend.bytes_read < 64 * 1024  # one 16 KiB inner chunk + index


def test_read_uses_whole_gets_on_object_stores(counting_store: Any) -> None:
    x = np.arange(1000.0).reshape(100, 10)
    counting_store.save("w", "zarr.array", x, options={"array": {"chunks": [10, 10]}})
    art = counting_store.load("w")
    got, used = _counted(lambda: art.read("array"))
    np.testing.assert_array_equal(got, x)
    assert used >= x.nbytes


def test_lazy_indexing_modes(store: Any) -> None:
    x = np.arange(200.0).reshape(20, 10)
    store.save("i", "zarr.array", x, options={"array": {"chunks": [3, 4]}})
    lazy = store.load("i")["array"]
    np.testing.assert_array_equal(lazy[2], x[2])
    np.testing.assert_array_equal(lazy[-1, ::2], x[-1, ::2])
    np.testing.assert_array_equal(lazy.oindex[[1, 5], [0, 9]], x[np.ix_([1, 5], [0, 9])])
    np.testing.assert_array_equal(lazy.vindex[[1, 5], [0, 9]], x[[1, 5], [0, 9]])
    np.testing.assert_array_equal(lazy.get_block_selection((1, 1)), x[3:6, 4:8])
    np.testing.assert_array_equal(np.asarray(lazy), x)
    assert float(lazy[4, 4]) == 44.0
    # a bad selection is the caller's mistake, not corruption
    with pytest.raises(IndexError):
        lazy[25]
    assert isinstance(lazy, zarr.Array)
