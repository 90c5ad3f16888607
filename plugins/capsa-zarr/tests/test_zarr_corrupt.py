"""Tampered, truncated or lost objects give a typed error naming the member, never garbage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from capsa.errors import IntegrityError
from capsa.store.store import Store

X = np.arange(40 * 8, dtype=np.float64).reshape(40, 8)
CHUNKS = {"chunks": [10, 8]}


def _member(store: Store, key: str) -> Path:
    folder = store.load(key).path("array")
    assert folder is not None
    return folder


def _overwrite(store: Store, key: str, path: str, data: bytes) -> None:
    """Replace one object of a member behind capsa's back (any backend)."""
    full = store._full(key)
    store.backend.put(f"{full}/array.zarr/{path}", data)


def _raw(store: Store, key: str, path: str) -> bytes:
    return store.backend.get(f"{store._full(key)}/array.zarr/{path}")


OPTIONS = [
    CHUNKS,
    {**CHUNKS, "checksum": False},
    {**CHUNKS, "compressor": "zstd"},
    {**CHUNKS, "compressor": "blosc", "checksum": False},
]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(map(str, o.values())))
def test_truncated_chunk(store: Store, options: dict[str, Any]) -> None:
    store.save("t", "zarr.array", X, options={"array": options})
    raw = _raw(store, "t", "c.1.0")
    _overwrite(store, "t", "c.1.0", raw[: len(raw) // 2])
    art = store.load("t")
    np.testing.assert_array_equal(art["array"][:10], X[:10])  # other chunks still read
    with pytest.raises(IntegrityError, match=r"member 'array.zarr'") as info:
        art["array"][5:15]
    assert "artifact 't'" in str(info.value)
    with pytest.raises(IntegrityError, match=r"member 'array.zarr'"):
        store.load("t").read("array")
    report = store.verify("t")
    assert not report.ok
    assert [p.member for p in report.problems] == ["array.zarr/c.1.0"]
    with pytest.raises(IntegrityError):
        store.load("t", verify=True)


@pytest.mark.parametrize("options", [CHUNKS, {**CHUNKS, "compressor": "zstd"}], ids=str)
def test_flipped_bytes_in_a_checksummed_chunk(store: Store, options: dict[str, Any]) -> None:
    store.save("f", "zarr.array", X, options={"array": options})
    raw = bytearray(_raw(store, "f", "c.2.0"))
    raw[len(raw) // 3] ^= 0xFF
    _overwrite(store, "f", "c.2.0", bytes(raw))
    with pytest.raises(IntegrityError, match=r"array.zarr"):
        store.load("f")["array"][20:30]
    with pytest.raises(IntegrityError, match=r"c.2.0|decode"):
        store.load("f").read("array")
    assert [p.problem for p in store.verify("f").problems] == ["sha256"]


def test_unchecksummed_tampering_is_caught_by_verify(store: Store) -> None:
    store.save("u", "zarr.array", X, options={"array": {**CHUNKS, "checksum": False}})
    raw = bytearray(_raw(store, "u", "c.0.0"))
    raw[0] ^= 0x01
    _overwrite(store, "u", "c.0.0", bytes(raw))
    problems = store.verify("u").problems
    assert [(p.member, p.problem) for p in problems] == [("array.zarr/c.0.0", "sha256")]
    with pytest.raises(IntegrityError, match=r"c.0.0"):
        store.load("u", verify=True)


@pytest.mark.parametrize(
    "damage",
    [
        b'{"zarr_format": 3, "node_type": "array", "shape": [40, 8',
        b"\x00\x01garbage",
        b'{"zarr_format": 3, "node_type": "array", "shape": [4000, 8]}',
        b"",
    ],
    ids=["truncated", "binary", "valid-json-wrong-shape", "empty"],
)
def test_corrupted_metadata(store: Store, damage: bytes) -> None:
    store.save("m", "zarr.array", X)
    _overwrite(store, "m", "zarr.json", damage)
    art = store.load("m")
    with pytest.raises(IntegrityError, match=r"artifact 'm': member 'array.zarr'.*zarr.json"):
        art["array"]
    with pytest.raises(IntegrityError, match=r"array.zarr"):
        art.read("array")


def test_corrupted_group_array_metadata(store: Store) -> None:
    store.save("g", "zarr.array", {"a": X, "b": X[:, 0]})
    _overwrite(store, "g", "b/zarr.json", b"{}")
    group = store.load("g")["array"]
    np.testing.assert_array_equal(group["a"][...], X)
    with pytest.raises(IntegrityError, match=r"b/zarr.json"):
        group["b"]
    with pytest.raises(IntegrityError):
        store.load("g").read("array")


def test_lost_chunk_is_not_read_as_fill_value(store: Store) -> None:
    store.save("l", "zarr.array", X, options={"array": CHUNKS})
    store.backend.delete(f"{store._full('l')}/array.zarr/c.3.0")
    with pytest.raises(IntegrityError, match=r"c.3.0.*missing"):
        store.load("l")["array"][35]
    with pytest.raises(IntegrityError, match=r"c.3.0"):
        store.load("l").read("array")
    assert [p.problem for p in store.verify("l").problems] == ["missing"]


def test_foreign_object_is_invisible(store: Store) -> None:
    """An object the listing does not name is ignored (stale debris, a stray put)."""
    zeros = np.zeros((40, 8))
    zeros[:10] = 1.0
    store.save("s", "zarr.array", zeros, options={"array": {**CHUNKS, "compressor": "zstd"}})
    # zarr skips chunks equal to the fill value: c.1.0 .. c.3.0 were never written
    _overwrite(store, "s", "c.2.0", _raw(store, "s", "c.0.0"))
    art = store.load("s")
    np.testing.assert_array_equal(art["array"][...], zeros)
    np.testing.assert_array_equal(art.read("array"), zeros)
    assert [p.problem for p in store.verify("s").problems] == ["extra"]


def test_lost_listing(local_store: Store) -> None:
    local_store.save("n", "zarr.array", X)
    folder = _member(local_store, "n")
    (folder.parent / "array.zarr.sha256sums").unlink()
    with pytest.raises(IntegrityError, match="lost its"):
        local_store.load("n")["array"]


def test_truncated_chunk_file_on_disk(local_store: Store) -> None:
    local_store.save("d", "zarr.array", X, options={"array": CHUNKS})
    chunk = _member(local_store, "d") / "c.1.0"
    with open(chunk, "r+b") as fh:
        fh.truncate(17)
    with pytest.raises(IntegrityError, match=r"c.1.0.*truncated"):
        local_store.load("d").read("array")
    with pytest.raises(IntegrityError, match=r"array.zarr"):
        local_store.load("d")["array"][10:20]
