"""Malformed, truncated and hostile members raise typed capsa errors naming the member."""

from __future__ import annotations

import io
import struct
import zipfile

import numpy as np
import pytest

from capsa.errors import CapsaError, IntegrityError
from capsa.formats.base import BytesSource

NAME = "fit/arrays.npz"


def _read_all_ways(fmt, data, info):
    src = BytesSource(data, name=NAME, info=info)
    out = fmt.read(src)
    lazy = fmt.read_lazy(src)
    if isinstance(lazy, np.ndarray):
        return out
    for k in lazy:
        lazy[k]
    return out


@pytest.mark.parametrize(
    "data", [b"", b"garbage", b"PK\x03\x04" + b"\x00" * 100, bytes(range(256)) * 40]
)
@pytest.mark.parametrize("info", [{}, {"arrays": ["a"], "single": False}])
def test_garbage(fmt, data, info):
    with pytest.raises(IntegrityError, match=r"'fit/arrays.npz'"):
        fmt.read(BytesSource(data, name=NAME, info=info))
    with pytest.raises(IntegrityError, match=r"'fit/arrays.npz'"):
        fmt.read_lazy(BytesSource(data, name=NAME, info=info))


@pytest.mark.parametrize("compressed", [False, True])
def test_every_truncation_raises_integrity_error(write_npz, fmt, compressed):
    data, info = write_npz(
        {"a": np.arange(50, dtype=np.int16), "b": np.ones((3, 4))}, compressed=compressed
    )
    for cut in range(len(data)):
        with pytest.raises(IntegrityError, match=r"fit/arrays\.npz"):
            _read_all_ways(fmt, data[:cut], info)


@pytest.mark.parametrize("compressed", [False, True])
def test_byte_flips_never_leak_raw_exceptions(write_npz, fmt, compressed):
    arrays = {"a": np.arange(20, dtype=np.int16), "b": np.ones((2, 3))}
    data, info = write_npz(arrays, compressed=compressed)
    outcomes = {"ok": 0, "error": 0}
    for pos in range(len(data)):
        for flip in (0x01, 0x80, 0xFF):
            bad = bytearray(data)
            bad[pos] ^= flip
            try:
                _read_all_ways(fmt, bytes(bad), info)
            except CapsaError as exc:
                assert "fit/arrays.npz" in str(exc)
                outcomes["error"] += 1
            else:
                outcomes["ok"] += 1
    # Flips inside stored array data (or unused fields) read "fine": stored
    # entries carry no check of their own; the store's sha256 catches them.
    assert outcomes["error"] > 0 and outcomes["ok"] > 0


def test_corrupt_deflated_data_fails_its_crc(write_npz, fmt):
    data, info = write_npz({"a": np.arange(10_000)}, compressed=True)
    zi = zipfile.ZipFile(io.BytesIO(data)).infolist()[0]
    # Corrupt the stored CRC32 in the central directory; the inflated bytes are fine.
    cd = data.rindex(b"PK\x01\x02")
    bad = bytearray(data)
    struct.pack_into("<I", bad, cd + 16, zi.CRC ^ 0xDEADBEEF)
    with pytest.raises(IntegrityError, match="CRC"):
        _read_all_ways(fmt, bytes(bad), info)


def test_object_array_from_foreign_npz_is_refused(fmt):
    buf = io.BytesIO()
    np.savez(buf, ok=np.ones(2), objs=np.array([{"x": 1}, None], dtype=object))
    src = BytesSource(buf.getvalue(), name=NAME)
    with pytest.raises(IntegrityError, match=r"'objs'.*allow_pickle is always False"):
        fmt.read(src)
    lazy = fmt.read_lazy(src)
    np.testing.assert_array_equal(lazy["ok"], np.ones(2))
    with pytest.raises(IntegrityError, match="never unpickles"):
        lazy["objs"]


def test_header_shape_disagreeing_with_entry_size(write_npz, fmt):
    data, info = write_npz({"a": np.arange(10, dtype=np.int64)})
    bad = data.replace(b"'shape': (10,)", b"'shape': (11,)")
    assert bad != data
    with pytest.raises(IntegrityError, match="'a' should hold"):
        fmt.read(BytesSource(bad, name=NAME, info=info))


def test_huge_claimed_shape_is_not_allocated(write_npz, fmt):
    # Same header length (padding eaten), but a shape of 10**13 elements:
    # refused from the entry size, before any allocation is attempted.
    data, info = write_npz({"a": np.arange(10, dtype=np.int64)})
    good = b"'shape': (10,), }" + b" " * 12
    evil = b"'shape': (10000000000000,), }"
    assert len(good) == len(evil) and good in data
    bad = data.replace(good, evil)
    with pytest.raises(IntegrityError, match="'a' should hold 80000000000"):
        fmt.read(BytesSource(bad, name=NAME, info=info))
    with pytest.raises(IntegrityError, match="'a' should hold 80000000000"):
        fmt.read_lazy(BytesSource(bad, name=NAME, info=info))["a"]


@pytest.mark.parametrize(
    "replacement",
    [b"[" * 3000, b"{[1]: 2, 'x': (", b"__import__('os')", b"{'descr': '|O', 'sh"],
    ids=["nested", "unhashable", "call", "truncated-dict"],
)
def test_hostile_npy_headers(write_npz, fmt, replacement):
    data, info = write_npz({"a": np.arange(3, dtype=np.int64)})
    header = b"{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }"
    i = data.index(header)
    evil = (replacement + b" " * len(header))[: len(header)]
    bad = data[:i] + evil + data[i + len(header) :]
    with pytest.raises(IntegrityError, match=r"'a' has a malformed \.npy header"):
        fmt.read(BytesSource(bad, name=NAME, info=info))


def test_manifest_names_must_match(write_npz, fmt):
    data, info = write_npz({"a": np.ones(1), "b": np.ones(1)})
    with pytest.raises(IntegrityError, match="manifest records"):
        fmt.read(BytesSource(data, name=NAME, info={**info, "arrays": ["a", "c"]}))
    with pytest.raises(IntegrityError, match="manifest records"):
        fmt.read_lazy(BytesSource(data, name=NAME, info={**info, "arrays": ["a"]}))
    with pytest.raises(IntegrityError, match="single array"):
        fmt.read(BytesSource(data, name=NAME, info={"single": True}))


def test_duplicate_entries_refused(fmt):
    npy = io.BytesIO()
    np.save(npy, np.ones(2))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.npy", npy.getvalue())
        with pytest.warns(UserWarning, match="Duplicate name"):
            zf.writestr("a.npy", npy.getvalue())
    with pytest.raises(IntegrityError, match="'a' twice"):
        fmt.read(BytesSource(buf.getvalue(), name=NAME))


def test_non_npy_entry(fmt):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", b"hello, this is not an array")
    with pytest.raises(IntegrityError, match=r"'readme\.txt' is not a \.npy array"):
        fmt.read(BytesSource(buf.getvalue(), name=NAME))


def test_io_errors_are_not_disguised(write_npz, fmt):
    data, info = write_npz({"a": np.ones(3)})

    class Failing(BytesSource):
        def open(self):
            raise PermissionError(13, "denied")

    with pytest.raises(PermissionError):
        fmt.read(Failing(data, name=NAME, info=info))
