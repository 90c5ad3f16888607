"""The zarr Store adapter over capsa directory members, exercised directly."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
import zarr
from capsa_zarr import CapsaZarrStore
from zarr.abc.store import OffsetByteRequest, RangeByteRequest, SuffixByteRequest
from zarr.core.buffer import default_buffer_prototype

from capsa.errors import IntegrityError
from capsa.store.store import Store


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def _buf(data: bytes) -> Any:
    return default_buffer_prototype().buffer.from_bytes(data)


async def _collect(it: Any) -> list[str]:
    return [k async for k in it]


def test_writer_read_after_write_and_listing(store: Store) -> None:
    with store.transaction("w", "bundle") as tx:
        directory = tx.directory("raw.zarr")
        zs = CapsaZarrStore.writing(directory)
        assert not zs.read_only and zs.supports_writes and zs.supports_listing
        _run(zs.set("a/zarr.json", _buf(b"{}")))
        _run(zs.set("a/c.0", _buf(b"0123456789")))
        _run(zs.set_if_not_exists("a/c.0", _buf(b"nope")))
        _run(zs.set("b", _buf(b"x")))
        assert _run(zs.exists("a/c.0")) and not _run(zs.exists("a/c.1"))
        got = _run(zs.get("a/c.0", default_buffer_prototype()))
        assert got.to_bytes() == b"0123456789"
        proto = default_buffer_prototype()
        assert _run(zs.get("a/c.0", proto, RangeByteRequest(2, 5))).to_bytes() == b"234"
        assert _run(zs.get("a/c.0", proto, OffsetByteRequest(7))).to_bytes() == b"789"
        assert _run(zs.get("a/c.0", proto, SuffixByteRequest(3))).to_bytes() == b"789"
        assert _run(zs.get("missing", proto)) is None
        assert _run(_collect(zs.list())) == ["a/c.0", "a/zarr.json", "b"]
        assert _run(_collect(zs.list_prefix("a/"))) == ["a/c.0", "a/zarr.json"]
        assert sorted(_run(_collect(zs.list_dir("")))) == ["a", "b"]
        assert sorted(_run(_collect(zs.list_dir("a")))) == ["c.0", "zarr.json"]
        assert _run(zs.getsize("a/c.0")) == 10
        _run(zs.delete("b"))
        _run(zs.delete("never-written"))
        assert not _run(zs.exists("b"))
        values = _run(
            zs.get_partial_values(proto, [("a/c.0", RangeByteRequest(0, 1)), ("b", None)])
        )
        assert values[0].to_bytes() == b"0" and values[1] is None
        assert zs == CapsaZarrStore.writing(directory)
        assert zs != zs.with_read_only(True)
        with pytest.raises(ValueError, match="read-only"):
            _run(zs.with_read_only(True).set("c", _buf(b"")))
    art = store.load("w")
    assert sorted(p for p, _ in art.source("raw.zarr").list()) == ["a/c.0", "a/zarr.json"]


def test_reader_is_read_only_and_uses_the_listing(store: Store) -> None:
    x = np.arange(100.0)
    store.save("r", "zarr.array", x, options={"array": {"chunks": [30]}})
    source = store.load("r").source("array")
    zs = CapsaZarrStore.reading(source)
    assert zs.read_only
    with pytest.raises(ValueError, match="cannot be written"):
        zs.with_read_only(False)
    assert zs.with_read_only(True) is zs
    with pytest.raises(ValueError):
        CapsaZarrStore(source=source)
    with pytest.raises(ValueError):
        CapsaZarrStore()
    with pytest.raises(ValueError, match="read-only"):
        _run(zs.set("c.9", _buf(b"")))
    assert sorted(zs.listing()) == ["c.0", "c.1", "c.2", "c.3", "zarr.json"]
    assert _run(_collect(zs.list())) == ["c.0", "c.1", "c.2", "c.3", "zarr.json"]
    assert _run(zs.exists("c.3")) and not _run(zs.exists("c.4"))
    proto = default_buffer_prototype()
    whole = _run(zs.get("c.1", proto)).to_bytes()
    assert len(whole) == 30 * 8 + 4
    assert _run(zs.get("c.1", proto, RangeByteRequest(8, 16))).to_bytes() == whole[8:16]
    assert _run(zs.get("c.1", proto, OffsetByteRequest(240))).to_bytes() == whole[240:]
    assert _run(zs.get("c.1", proto, SuffixByteRequest(4))).to_bytes() == whole[-4:]
    assert _run(zs.getsize("c.1")) == 244
    with pytest.raises(FileNotFoundError):
        _run(zs.getsize("c.9"))
    arr = zarr.open_array(store=zs, mode="r")
    np.testing.assert_array_equal(arr[...], x)
    assert "read-only" in repr(zs) and "array.zarr" in repr(zs)
    assert hash(zs) == hash(CapsaZarrStore.reading(source))
    assert zs == CapsaZarrStore.reading(source)


def test_reader_refuses_tampered_metadata_before_zarr_sees_it(store: Store) -> None:
    store.save("t", "zarr.array", np.zeros(4))
    store.backend.put(f"{store._full('t')}/array.zarr/zarr.json", b'{"zarr_format": 3}')
    zs = CapsaZarrStore.reading(store.load("t").source("array"))
    with pytest.raises(IntegrityError, match="does not match its sha256"):
        _run(zs.get("zarr.json", default_buffer_prototype()))


def test_stale_objects_of_an_older_version_are_invisible_while_writing(dev_store: Store) -> None:
    dev_store.save("k", "zarr.array", np.ones(10), options={"array": {"chunks": [5]}})
    with dev_store.transaction("k", "zarr.array") as tx:
        zs = CapsaZarrStore.writing(tx.directory("array"))
        # on memory:// the older version's objects are still at the same keys
        assert not _run(zs.exists("c.0"))
        assert _run(zs.get("c.0", default_buffer_prototype())) is None
        arr = zarr.create_array(store=zs, shape=(3,), dtype="f8", chunks=(5,))
        arr[:2] = 7.0  # a partial chunk: zarr reads the chunk first and must see nothing
    np.testing.assert_array_equal(dev_store.load("k").read("array"), [7.0, 7.0, 0.0])
