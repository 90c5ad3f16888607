"""Round trips through NpzFormat.write / read / read_lazy, stored and compressed."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from capsa_npz import NpzArrays, zipstream

from capsa.formats.base import BytesSource

DTYPES = [
    np.bool_,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
    np.float16,
    np.float32,
    np.float64,
    np.complex64,
    np.complex128,
    ">i4",
    ">f8",
    "datetime64[ns]",
    "datetime64[D]",
    "timedelta64[s]",
    "U7",
    "S5",
    "V3",
]


def _sample(dtype: object, shape: tuple[int, ...] = (4, 5)) -> np.ndarray:
    dt = np.dtype(dtype)  # type: ignore[call-overload]
    n = int(np.prod(shape))
    if dt.kind == "b":
        flat = np.arange(n) % 3 == 0
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        flat = (np.arange(n) % 100).astype(dt)
        if n >= 2:
            flat[0], flat[-1] = info.min, info.max
    elif dt.kind in "fc":
        flat = (np.arange(n) - n / 2).astype(dt) / 3
        if n >= 3:
            flat[1], flat[2] = np.inf, np.nan
    elif dt.kind in "mM":
        flat = np.arange(n).astype(dt)
        if n >= 1:
            flat[0] = np.array("NaT").astype(dt)
    elif dt.kind == "U":
        flat = np.array([f"é{i}✓" for i in range(n)], dtype=dt)
    elif dt.kind == "S":
        flat = np.array([f"b{i}".encode() for i in range(n)], dtype=dt)
    else:
        flat = np.frombuffer(bytes(range(n * dt.itemsize)), dtype=dt).copy()
    return flat.astype(dt).reshape(shape)


def _same(a: np.ndarray, b: np.ndarray) -> None:
    assert type(b) in (np.ndarray, np.memmap)
    assert a.dtype == b.dtype
    assert a.shape == b.shape
    if a.dtype.kind in "fc":
        np.testing.assert_array_equal(a, b)  # treats NaN == NaN
    else:
        assert a.tobytes() == np.ascontiguousarray(b).tobytes()


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_dtype_round_trip(write_npz, fmt, dtype, compressed):
    arrays = {"a": _sample(dtype), "empty": _sample(dtype, (0, 3)), "scalar": _sample(dtype, ())}
    data, info = write_npz(arrays, compressed=compressed)
    assert info == {"arrays": ["a", "empty", "scalar"], "single": False, "compressed": compressed}
    back = fmt.read(BytesSource(data, info=info))
    assert list(back) == ["a", "empty", "scalar"]
    for k, v in arrays.items():
        _same(v, back[k])
    via_numpy = np.load(io.BytesIO(data), allow_pickle=False)
    for k, v in arrays.items():
        _same(v, via_numpy[k])


def test_structured_dtype(write_npz, fmt):
    dt = np.dtype([("x", "<f8"), ("n", ">i2"), ("name", "U4"), ("sub", [("a", "u1", (2,))])])
    arr = np.zeros(7, dtype=dt)
    arr["x"] = np.arange(7) / 7
    arr["n"] = -np.arange(7)
    arr["name"] = [f"n{i}" for i in range(7)]
    arr["sub"]["a"] = np.arange(14).reshape(7, 2)
    data, info = write_npz({"rec": arr})
    back = fmt.read(BytesSource(data, info=info))["rec"]
    assert back.dtype == dt
    assert back.tobytes() == arr.tobytes()
    assert np.load(io.BytesIO(data))["rec"].tobytes() == arr.tobytes()


def test_padded_structured_dtype(write_npz, fmt):
    dt = np.dtype(
        {"names": ["a", "b"], "formats": ["u1", "<i4"], "offsets": [0, 4], "itemsize": 12}
    )
    arr = np.zeros(3, dtype=dt)
    arr["a"] = [1, 2, 3]
    arr["b"] = [-1, -2, -3]
    data, info = write_npz({"p": arr})
    back = fmt.read(BytesSource(data, info=info))["p"]
    np.testing.assert_array_equal(back["a"], arr["a"])
    np.testing.assert_array_equal(back["b"], arr["b"])
    assert back.dtype.itemsize == 12


def test_unicode_field_names_need_format_3(write_npz, fmt):
    arr = np.zeros(2, dtype=[("größe✓", "<f4")])
    data, info = write_npz({"u": arr})
    back = fmt.read(BytesSource(data, info=info))["u"]
    assert back.dtype.names == ("größe✓",)
    assert np.load(io.BytesIO(data))["u"].dtype == arr.dtype


def test_huge_structured_header_needs_format_2(write_npz, fmt):
    dt = np.dtype([(f"field_{i:05d}", "<u1") for i in range(6000)])
    arr = np.zeros(2, dtype=dt)
    arr["field_00042"] = [4, 2]
    data, info = write_npz({"wide": arr})
    back = fmt.read(BytesSource(data, info=info))["wide"]
    assert back.dtype == dt
    assert back["field_00042"].tolist() == [4, 2]


@pytest.mark.parametrize("compressed", [False, True])
def test_single_array(write_npz, fmt, compressed):
    arr = np.arange(12, dtype=np.int32).reshape(3, 4)
    data, info = write_npz(arr, compressed=compressed)
    assert info == {"arrays": ["arr_0"], "single": True, "compressed": compressed}
    src = BytesSource(data, info=info)
    back = fmt.read(src)
    assert isinstance(back, np.ndarray)
    _same(arr, back)
    lazy = fmt.read_lazy(src)
    assert isinstance(lazy, np.ndarray)
    _same(arr, lazy)
    assert np.load(io.BytesIO(data))["arr_0"].tolist() == arr.tolist()


def test_single_key_in_dict_is_not_single(write_npz, fmt):
    data, info = write_npz({"arr_0": np.ones(2)})
    assert info["single"] is False
    back = fmt.read(BytesSource(data, info=info))
    assert isinstance(back, dict)
    assert list(back) == ["arr_0"]


@pytest.mark.parametrize("compressed", [False, True])
def test_empty_dict(write_npz, fmt, compressed):
    data, info = write_npz({}, compressed=compressed)
    assert info["arrays"] == []
    assert fmt.read(BytesSource(data, info=info)) == {}
    assert len(fmt.read_lazy(BytesSource(data, info=info))) == 0
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == []
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        assert npz.files == []


@pytest.mark.parametrize("compressed", [False, True])
def test_fortran_order_is_kept(write_npz, fmt, compressed):
    arr = np.asfortranarray(np.arange(24, dtype=np.float64).reshape(2, 3, 4))
    data, info = write_npz({"f": arr}, compressed=compressed)
    back = fmt.read(BytesSource(data, info=info))["f"]
    _same(arr, back)
    assert back.flags.f_contiguous and not back.flags.c_contiguous
    header = zipstream.npy_header(arr)
    assert b"'fortran_order': True" in header


@pytest.mark.parametrize("compressed", [False, True])
def test_non_contiguous_views(write_npz, fmt, compressed):
    base = np.arange(4 * 6 * 10, dtype=np.int64).reshape(4, 6, 10)
    views = {
        "step": base[::2, 1::2, ::3],
        "transposed3": base.transpose(1, 2, 0),
        "neg": base[::-1, :, ::-1],
        "col": base[:, 2, :],
        "strided1d": base.reshape(-1)[::7],
        "broadcast": np.broadcast_to(np.arange(5.0), (3, 5)),
    }
    for v in views.values():
        assert not (v.flags.c_contiguous or v.flags.f_contiguous) or v is views["transposed3"]
    data, info = write_npz(views, compressed=compressed)
    back = fmt.read(BytesSource(data, info=info))
    for k, v in views.items():
        _same(np.ascontiguousarray(v), np.ascontiguousarray(back[k]))
        np.testing.assert_array_equal(back[k], v)


def test_non_contiguous_block_copy_bounds_memory(monkeypatch):
    # A strided view larger than the chunk is copied block by block: every
    # yielded piece is at most one chunk and the pieces concatenate to the
    # C-order bytes.
    base = np.arange(40 * 30 * 8, dtype=np.int32).reshape(40, 30, 8)
    view = base[:, ::2, ::3]
    pieces = list(zipstream.iter_array_bytes(view, chunk_size=256))
    assert max(p.nbytes for p in pieces) <= 256
    assert b"".join(bytes(p) for p in pieces) == np.ascontiguousarray(view).tobytes()
    # A single row wider than the chunk is split along its own axes.
    wide = np.arange(2 * 1000, dtype=np.int64).reshape(2, 1000)[:, ::2]
    pieces = list(zipstream.iter_array_bytes(wide, chunk_size=64))
    assert max(p.nbytes for p in pieces) <= 64
    assert b"".join(bytes(p) for p in pieces) == np.ascontiguousarray(wide).tobytes()


@pytest.mark.parametrize("compressed", [False, True])
def test_larger_than_chunk(write_npz, fmt, monkeypatch, compressed):
    monkeypatch.setattr(zipstream, "CHUNK_SIZE", 1 << 20)
    monkeypatch.setattr(zipstream, "_THREAD_MIN", 1 << 16)
    rng = np.random.default_rng(0)
    big = rng.standard_normal(3 * (1 << 20) // 8 + 123)  # > 3 chunks, ragged tail
    strided = rng.standard_normal((700, 1000))[:, ::2]  # non-contiguous, > 2 chunks
    data, info = write_npz({"big": big, "strided": strided}, compressed=compressed)
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    back = fmt.read(BytesSource(data, info=info))
    _same(big, back["big"])
    np.testing.assert_array_equal(back["strided"], strided)


def test_default_chunking_of_a_big_array(write_npz, fmt, sink_cls):
    # Real defaults: 40 MiB spans three 16 MiB chunks, CRC on the worker thread.
    big = np.arange(5 << 20, dtype=np.float64)
    sink = sink_cls()
    info = fmt.write(big, sink)
    data = sink.getvalue()
    assert sink.writes >= 3
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    back = fmt.read(BytesSource(data, info=info))
    assert np.array_equal(back, big)


class _Tagged(np.ndarray):
    pass


def test_subclasses_are_stored_as_plain_arrays(write_npz, fmt):
    m = np.array([[1, 2], [3, 4]]).view(_Tagged)
    data, info = write_npz({"m": m})
    back = fmt.read(BytesSource(data, info=info))["m"]
    assert type(back) is np.ndarray
    assert back.tolist() == [[1, 2], [3, 4]]


def test_unicode_and_odd_names(write_npz, fmt):
    arrays = {"é✓ name": np.ones(1), "a.b": np.zeros(2), "x.npy": np.arange(3), " ": np.ones(0)}
    data, info = write_npz(arrays)
    back = fmt.read(BytesSource(data, info=info))
    assert list(back) == list(arrays)
    assert sorted(np.load(io.BytesIO(data)).files) == sorted(arrays)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names == [f"{k}.npy" for k in arrays]


def test_output_is_deterministic(write_npz):
    arrays = {"a": np.arange(10), "b": np.ones((3, 3), order="F")}
    assert write_npz(arrays)[0] == write_npz(arrays)[0]
    assert write_npz(arrays, compressed=True)[0] == write_npz(arrays, compressed=True)[0]


def test_stored_data_is_64_byte_aligned(write_npz):
    arrays = {"a": np.arange(3, dtype=np.int8), "bb": np.ones(5), "ccc": np.zeros((2, 2))}
    data, _ = write_npz(arrays)
    zf = zipfile.ZipFile(io.BytesIO(data))
    for info in zf.infolist():
        local = data[info.header_offset : info.header_offset + 30]
        name_len = int.from_bytes(local[26:28], "little")
        extra_len = int.from_bytes(local[28:30], "little")
        start = info.header_offset + 30 + name_len + extra_len
        header_len = zf.read(info).index(b"\n") + 1
        assert (start + header_len) % 64 == 0, info.filename


def test_read_lazy_returns_npzarrays(write_npz, fmt):
    arrays = {"a": np.arange(3), "b": np.ones(2)}
    data, info = write_npz(arrays)
    lazy = fmt.read_lazy(BytesSource(data, info=info))
    assert isinstance(lazy, NpzArrays)
    assert dict(lazy).keys() == arrays.keys()


def test_mmap_read(write_npz, fmt, tmp_path, path_source_cls):
    arrays = {
        "c": np.arange(1000, dtype=np.float32).reshape(10, 100),
        "f": np.asfortranarray(np.arange(60, dtype=np.int16).reshape(6, 10)),
        "scalar": np.array(3.5),
        "empty": np.zeros((0, 4)),
    }
    data, info = write_npz(arrays)
    path = tmp_path / "arrays.npz"
    path.write_bytes(data)
    src = path_source_cls(path, info=info)
    back = fmt.read(src, mmap=True)
    assert isinstance(back["c"], np.memmap)
    assert not back["c"].flags.writeable
    assert back["c"].flags.aligned
    assert back["f"].flags.f_contiguous
    for k, v in arrays.items():
        _same(v, back[k])
    lazy = fmt.read_lazy(src, mmap=True)
    assert isinstance(lazy["c"], np.memmap)
    _same(arrays["f"], lazy["f"])
    # Without a local path, mmap=True silently reads instead.
    plain = fmt.read(BytesSource(data, info=info), mmap=True)
    assert type(plain["c"]) is np.ndarray


def test_mmap_of_compressed_reads(write_npz, fmt, tmp_path, path_source_cls):
    arr = np.arange(100.0)
    data, info = write_npz({"a": arr}, compressed=True)
    path = tmp_path / "arrays.npz"
    path.write_bytes(data)
    back = fmt.read(path_source_cls(path, info=info), mmap=True)["a"]
    assert type(back) is np.ndarray
    _same(arr, back)
