"""Fuzzing the npz reader (hypothesis): random bytes, truncations, bit flips, hostile headers.

Archives written by capsa-npz (stored and deflated) and by ``numpy.savez``
from random arrays are truncated at random offsets and at every kind of
structural offset (local headers, ``.npy`` headers, array data, data
descriptors, central directory, ZIP64 end records), have bits flipped and zip
fields overwritten, and get hostile ``.npy`` header dicts; random bytes are
read too. Every archive is read eagerly (``read``), lazily (``read_lazy``,
then every array) and memory-mapped from a local file. What must hold:

* the only exception is :class:`~capsa.errors.IntegrityError` naming the
  member; anything else fails the test;
* a truncated archive is never accepted; an intact one reads back equal, all
  three ways;
* whatever a damaged archive yields is plain data: ndarrays without object
  dtype, named as the manifest recorded, whose size matches their shape;
* end to end, a member damaged behind capsa's back fails ``load(verify=True)``
  and ``verify`` and never raises anything but capsa's typed errors on a lazy
  read.
"""

from __future__ import annotations

import io
import math
import struct
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from capsa_npz.format import NpzFormat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import capsa
from capsa.errors import CapsaError, IntegrityError
from capsa.formats.base import BytesSource
from capsa.testing.formats import StreamingSink

NAME = "runs/1/arrays.npz"
FMT = NpzFormat()
FUZZ = settings(deadline=None, max_examples=80, suppress_health_check=[HealthCheck.too_slow])

_STRUCTURED = np.dtype([("a", "<i4"), ("b", ">f8", (2,)), ("c", "S3")])
_dtypes = (
    hnp.boolean_dtypes()
    | hnp.integer_dtypes()
    | hnp.floating_dtypes()
    | hnp.complex_number_dtypes()
    | hnp.datetime64_dtypes()
    | hnp.unicode_string_dtypes(max_len=4)
    | hnp.byte_string_dtypes(max_len=4)
    | st.just(_STRUCTURED)
)
_arrays = hnp.arrays(
    dtype=_dtypes, shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
).flatmap(lambda a: st.sampled_from([a, np.asfortranarray(a)]))
_names = st.text(min_size=1, max_size=8).filter(
    lambda s: (
        not s.startswith(".")
        and not any(c in s for c in "/\\\x00")
        and not any(0xD800 <= ord(c) <= 0xDFFF for c in s)
    )
)
array_dicts = st.dictionaries(_names, _arrays, min_size=1, max_size=3)
single_arrays = _arrays


def write(value: Any, *, compressed: bool) -> tuple[bytes, dict[str, Any]]:
    FMT.validate(value, compressed=compressed)
    sink = StreamingSink()
    info = FMT.write(value, sink, compressed=compressed)
    return sink.getvalue(), dict(info)


def savez(arrays: dict[str, np.ndarray], *, compressed: bool) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


class FileSource:
    """A MemberSource over a local file, so stored arrays are memory-mapped."""

    def __init__(self, path: Path, info: dict[str, Any]):
        self._path, self._info = path, info

    @property
    def name(self) -> str:
        return NAME

    @property
    def size(self) -> int:
        return self._path.stat().st_size

    @property
    def info(self) -> dict[str, Any]:
        return self._info

    def open(self) -> Any:
        return open(self._path, "rb")

    def read_bytes(self) -> bytes:
        return self._path.read_bytes()

    def local_path(self) -> Path | None:
        return self._path


def _materialise(value: Any) -> Any:
    """Touch every array (lazy mappings read here); copy memory maps out of their file."""
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True)
    return {key: np.array(value[key], copy=True) for key in value}


def read_every_way(data: bytes, info: dict[str, Any]) -> list[Any]:
    """``read``, ``read_lazy`` and a memory-mapped read; a typed error becomes None."""
    results: list[Any] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "arrays.npz")
        path.write_bytes(data)
        ways = [
            lambda: FMT.read(BytesSource(data, name=NAME, info=info)),
            lambda: FMT.read_lazy(BytesSource(data, name=NAME, info=info)),
            lambda: FMT.read(FileSource(path, info), mmap=True),
            lambda: FMT.read_lazy(FileSource(path, info), mmap=True),
        ]
        for way in ways:
            try:
                value = _materialise(way())
            except CapsaError as exc:
                assert isinstance(exc, IntegrityError)
                assert repr(NAME) in str(exc)
                value = None
            if value is not None:
                assert_plain(value, info)
            results.append(value)
    return results


def assert_plain(value: Any, info: dict[str, Any]) -> None:
    """What any accepted archive yields: plain arrays, named as recorded, sized by their shape."""
    arrays = {"arr_0": value} if isinstance(value, np.ndarray) else value
    if info.get("single"):
        assert isinstance(value, np.ndarray)
    recorded = info.get("arrays")
    if recorded is not None and not info.get("single"):
        assert sorted(arrays) == sorted(recorded)
    for array in arrays.values():
        assert isinstance(array, np.ndarray)
        assert not array.dtype.hasobject
        assert array.nbytes == math.prod(array.shape) * array.dtype.itemsize


def assert_same(got: Any, expected: Any) -> None:
    if isinstance(expected, np.ndarray):
        expected = {"arr_0": expected}
        got = {"arr_0": got}
    assert sorted(got) == sorted(expected)
    for key, array in expected.items():
        assert got[key].dtype == array.dtype and got[key].shape == array.shape
        assert np.ascontiguousarray(got[key]).tobytes() == np.ascontiguousarray(array).tobytes()


SIGNATURES = [b"PK\x03\x04", b"PK\x01\x02", b"PK\x07\x08", b"PK\x06\x06", b"PK\x06\x07"]
SIGNATURES += [b"PK\x05\x06", b"\x93NUMPY"]


def structural_offsets(data: bytes) -> list[int]:
    """Offsets where a zip record or a .npy header starts, the header dicts, and the end."""
    offsets = {0, len(data) - 1}
    for sig in SIGNATURES:
        start = data.find(sig)
        while start != -1:
            offsets.add(start)
            start = data.find(sig, start + 1)
    for marker in (b"{'descr'", b"'shape'", b"}"):
        at = data.find(marker)
        if at != -1:
            offsets.add(at)
    return sorted(o for o in offsets if 0 <= o < len(data))


def an_offset(data: bytes, draw: st.DataObject) -> int:
    """A random offset, or one at (or just around) a structural boundary."""
    if draw.draw(st.booleans()):
        return draw.draw(st.integers(0, len(data) - 1))
    base = draw.draw(st.sampled_from(structural_offsets(data)))
    return min(max(base + draw.draw(st.integers(-2, 30)), 0), len(data) - 1)


@st.composite
def archives(draw: st.DrawFn) -> tuple[bytes, dict[str, Any], Any]:
    """(bytes, manifest info, the value written) from capsa-npz or numpy.savez."""
    compressed = draw(st.booleans())
    if draw(st.integers(0, 4)) == 0:
        arrays = draw(array_dicts)
        info: dict[str, Any] = draw(st.sampled_from([{}, {"arrays": sorted(arrays)}]))
        return savez(arrays, compressed=compressed), info, arrays
    value = draw(st.one_of(array_dicts, single_arrays))
    data, info = write(value, compressed=compressed)
    return data, info, value


# -- the tests ---------------------------------------------------------------------


@FUZZ
@given(archives())
def test_intact_archives_read_back_equal_every_way(
    archive: tuple[bytes, dict[str, Any], Any],
) -> None:
    data, info, value = archive
    for got in read_every_way(data, info):
        assert got is not None
        assert_same(got, value)


@FUZZ
@given(archives(), st.data())
def test_truncations_are_refused_every_way(
    archive: tuple[bytes, dict[str, Any], Any], data: st.DataObject
) -> None:
    raw, info, _ = archive
    cut = an_offset(raw, data)
    assert read_every_way(raw[:cut], info) == [None] * 4, f"cut at {cut} of {len(raw)} accepted"


@FUZZ
@given(archives(), st.data())
def test_bit_flips(archive: tuple[bytes, dict[str, Any], Any], data: st.DataObject) -> None:
    raw, info, _ = archive
    damaged = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 3))):
        damaged[an_offset(raw, data)] ^= data.draw(st.integers(1, 255))
    info = data.draw(st.sampled_from([info, {}]))
    read_every_way(bytes(damaged), info)


_ZIP_FIELDS = {
    # (record signature, offset of the field in the record, struct format)
    "local.flags": (b"PK\x03\x04", 6, "<H"),
    "local.method": (b"PK\x03\x04", 8, "<H"),
    "local.name_len": (b"PK\x03\x04", 26, "<H"),
    "local.extra_len": (b"PK\x03\x04", 28, "<H"),
    "central.flags": (b"PK\x01\x02", 8, "<H"),
    "central.method": (b"PK\x01\x02", 10, "<H"),
    "central.crc": (b"PK\x01\x02", 16, "<I"),
    "central.compressed": (b"PK\x01\x02", 20, "<I"),
    "central.size": (b"PK\x01\x02", 24, "<I"),
    "central.name_len": (b"PK\x01\x02", 28, "<H"),
    "central.extra_len": (b"PK\x01\x02", 30, "<H"),
    "central.offset": (b"PK\x01\x02", 42, "<I"),
    "eocd.entries": (b"PK\x05\x06", 10, "<H"),
    "eocd.cd_size": (b"PK\x05\x06", 12, "<I"),
    "eocd.cd_offset": (b"PK\x05\x06", 16, "<I"),
    "eocd64.entries": (b"PK\x06\x06", 32, "<Q"),
    "eocd64.cd_size": (b"PK\x06\x06", 40, "<Q"),
    "eocd64.cd_offset": (b"PK\x06\x06", 48, "<Q"),
    "locator.offset": (b"PK\x06\x07", 8, "<Q"),
}


@FUZZ
@given(archives(), st.data())
def test_zip_fields_overwritten(
    archive: tuple[bytes, dict[str, Any], Any], data: st.DataObject
) -> None:
    raw, info, _ = archive
    damaged = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 2))):
        sig, field_at, fmt = _ZIP_FIELDS[data.draw(st.sampled_from(sorted(_ZIP_FIELDS)))]
        starts = [i for i in range(len(raw)) if raw.startswith(sig, i)]
        if not starts:
            continue
        at = data.draw(st.sampled_from(starts)) + field_at
        bits = struct.calcsize(fmt) * 8
        value = data.draw(
            st.sampled_from([0, 1, 8, 12, 14, 99, 2**15, 2 ** (bits - 1), 2**bits - 1])
            | st.integers(0, 2**bits - 1)
        )
        if at + struct.calcsize(fmt) <= len(damaged):
            struct.pack_into(fmt, damaged, at, value)
    read_every_way(bytes(damaged), info)


_header_values = st.fixed_dictionaries(
    {
        "descr": st.sampled_from(
            ["<i8", ">f4", "|b1", "|O", "<U0", "|S0", "|V0", "<M8[ns]", "zz", "<i8<", "|V4"]
        )
        | st.lists(
            st.tuples(st.sampled_from(["a", "b", ""]), st.sampled_from(["<i4", "|O", "x"])),
            max_size=2,
        ),
        "fortran_order": st.sampled_from([True, False, 0, 1, None, "yes"]),
        "shape": st.lists(
            st.integers(-2, 4) | st.sampled_from([2**31, 2**62, 2**64]), max_size=3
        ).map(tuple)
        | st.sampled_from([[], None, "3", (1.5,)]),
    },
    optional={"extra": st.integers()},
)


@FUZZ
@given(st.dictionaries(_names, _arrays, min_size=1, max_size=2), st.data())
def test_hostile_npy_headers(arrays: dict[str, np.ndarray], data: st.DataObject) -> None:
    raw, info = write(arrays, compressed=False)
    start = raw.index(b"{'descr'")
    end = raw.index(b"\n", start)  # the header is padded with spaces up to a newline
    if data.draw(st.booleans()):
        text = repr(data.draw(_header_values)).encode()
    else:
        text = data.draw(
            st.text(
                st.sampled_from("{}[]()'\":,-0123456789 descrshapeTrueFalsNn<>|"),
                max_size=end - start,
            )
        ).encode()
    if len(text) > end - start:
        return  # does not fit; the same length keeps every zip offset valid
    damaged = raw[:start] + text.ljust(end - start) + raw[end:]
    read_every_way(damaged, info)


@FUZZ
@given(st.binary(max_size=400), st.sampled_from([b"", b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY"]))
def test_random_bytes(raw: bytes, prefix: bytes) -> None:
    read_every_way(prefix + raw, {})
    read_every_way(prefix + raw, {"arrays": ["a"], "single": False})


# -- end to end through a store ----------------------------------------------------


@contextmanager
def arrays_store(backend: str) -> Iterator[Any]:
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "file":
            url = str(Path(tmp) / "store")
        else:
            url = f"memory://npz-fuzz-{uuid.uuid4().hex}"
        store = capsa.open_store(url)
        try:
            yield store
        finally:
            if backend == "memory":
                from capsa.backends.memory import MemoryBackend

                MemoryBackend(url.removeprefix("memory://"))._objects.clear()


@settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(
    array_dicts,
    st.booleans(),
    st.sampled_from(["file", "memory"]),
    st.sampled_from(["cut", "flip"]),
    st.data(),
)
def test_damaged_member_in_a_store(
    arrays: dict[str, np.ndarray], compressed: bool, backend: str, how: str, data: st.DataObject
) -> None:
    with arrays_store(backend) as store:
        ref = store.save(
            "exp/fit", "arrays", arrays, options={"arrays": {"compressed": compressed}}
        )
        member = f"{ref.full_key}/arrays.npz"
        raw = store.backend.get(member)
        if how == "cut":
            damaged = raw[: an_offset(raw, data)]
        else:
            flipped = bytearray(raw)
            flipped[an_offset(raw, data)] ^= data.draw(st.integers(1, 255))
            damaged = bytes(flipped)
        store.backend.put(member, damaged)
        with pytest.raises(IntegrityError, match=r"'exp/fit'"):
            store.load("exp/fit", verify=True)
        assert [p.member for p in store.verify("exp/fit").problems] == ["arrays.npz"]
        art = store.load("exp/fit")
        for read in (lambda: art["arrays"], lambda: art.read("arrays", mmap=True)):
            try:
                value = _materialise(read())
            except CapsaError as exc:
                assert isinstance(exc, IntegrityError)
                assert "arrays.npz" in str(exc)
                continue
            assert_plain(value, {"arrays": sorted(arrays)})
            if how == "cut":
                pytest.fail("a truncated member was read")


@pytest.mark.parametrize(
    ("compressed", "record", "field", "fmt"),
    [(True, b"PK\x05\x06", 16, "<I"), (False, b"PK\x06\x06", 48, "<Q")],
    ids=["deflated-eocd", "stored-zip64-eocd"],
)
def test_directory_offset_past_its_start_on_a_real_file(
    compressed: bool, record: bytes, field: int, fmt: str
) -> None:
    # Found by fuzzing: the end record's central-directory offset one byte too
    # large makes the reader seek a real file to offset -1; the EINVAL OSError
    # escaped instead of an IntegrityError.
    raw, info = write({"0": np.array(False)}, compressed=compressed)
    damaged = bytearray(raw)
    at = raw.rindex(record) + field
    (cd_offset,) = struct.unpack_from(fmt, raw, at)
    struct.pack_into(fmt, damaged, at, cd_offset + 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "arrays.npz")
        path.write_bytes(bytes(damaged))
        for read in (
            lambda: FMT.read(FileSource(path, info), mmap=True),
            lambda: _materialise(FMT.read_lazy(FileSource(path, info))),
        ):
            with pytest.raises(IntegrityError, match=r"'runs/1/arrays\.npz'"):
                read()
