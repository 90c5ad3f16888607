"""NpzArrays reads only the central directory up front and each array on demand."""

from __future__ import annotations

import io

import numpy as np
import pytest
from capsa_npz import NpzArrays

from capsa.formats.base import BytesSource

MiB = 1 << 20


def _three(write_npz, compressed=False):
    arrays = {
        "a": np.full(MiB // 8, 1.0),
        "b": np.arange(2 * MiB // 4, dtype=np.int32),
        "c": np.zeros((512, 1024), dtype=np.uint8) + 7,
    }
    data, info = write_npz(arrays, compressed=compressed)
    return arrays, data, info


def test_accessing_one_array_reads_about_that_array(write_npz, fmt, source_cls):
    arrays, data, info = _three(write_npz)
    assert len(data) > 3.5 * MiB
    src = source_cls(data, info=info)
    lazy = fmt.read_lazy(src)
    assert isinstance(lazy, NpzArrays)
    after_open = src.bytes_read
    assert after_open < 64 * 1024, "building the mapping reads only the directory"

    assert list(lazy.keys()) == ["a", "b", "c"]
    assert len(lazy) == 3 and "b" in lazy and "z" not in lazy
    assert src.bytes_read == after_open, "keys/len/in read nothing"
    assert lazy.loaded == []

    b = lazy["b"]
    np.testing.assert_array_equal(b, arrays["b"])
    spent = src.bytes_read - after_open
    assert arrays["b"].nbytes <= spent < arrays["b"].nbytes + 64 * 1024
    assert lazy.loaded == ["b"]

    # Cached: a second access reads nothing more.
    before = src.bytes_read
    assert lazy["b"] is b
    assert src.bytes_read == before

    c = lazy["c"]
    assert src.bytes_read - before < arrays["c"].nbytes + 64 * 1024
    np.testing.assert_array_equal(c, arrays["c"])
    assert src.bytes_read < len(data) - arrays["a"].nbytes + 128 * 1024


def test_compressed_entries_are_lazy_too(write_npz, fmt, source_cls):
    arrays, data, info = _three(write_npz, compressed=True)
    src = source_cls(data, info=info)
    lazy = fmt.read_lazy(src)
    base = src.bytes_read
    np.testing.assert_array_equal(lazy["c"], arrays["c"])
    # The deflated archive is small; what matters is that "a" and "b" stay unread.
    assert lazy.loaded == ["c"]
    assert src.bytes_read - base < len(data)


def test_mapping_protocol_and_close(write_npz, fmt):
    arrays, data, info = _three(write_npz)
    with fmt.read_lazy(BytesSource(data, info=info)) as lazy:
        assert dict(lazy).keys() == arrays.keys()
        assert set(lazy.items().__iter__().__next__()[0]) <= set("abc")
        assert "NpzArrays(member=" in repr(lazy)
        assert lazy.nbytes("b") >= arrays["b"].nbytes
        assert lazy.get("zz") is None
        with pytest.raises(KeyError):
            lazy["zz"]
        assert not lazy.closed
    assert lazy.closed
    assert lazy.loaded == []
    with pytest.raises(ValueError, match="closed"):
        lazy["a"]
    lazy.close()  # idempotent


def test_no_file_is_held_open(write_npz, fmt):
    opened: list[io.BytesIO] = []

    class Tracking(BytesSource):
        def open(self):
            f = super().open()
            opened.append(f)
            return f

    _, data, info = _three(write_npz)
    lazy = fmt.read_lazy(Tracking(data, info=info))
    lazy["a"]
    assert opened and all(f.closed for f in opened)


def test_arrays_survive_close(write_npz, fmt):
    arrays, data, info = _three(write_npz)
    lazy = fmt.read_lazy(BytesSource(data, info=info))
    a = lazy["a"]
    lazy.close()
    np.testing.assert_array_equal(a, arrays["a"])
