"""The written archives are plain npz/zip files, and plain npz files are read."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import zipfile

import numpy as np
import pytest
from capsa_npz import NpzArrays

from capsa.backends.base import ObjectWriter
from capsa.formats.base import BytesSource
from capsa.store.sink import HashingSink


class _ListWriter(ObjectWriter):
    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.committed = False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def commit(self) -> None:
        self.committed = True

    def abort(self) -> None:
        self.chunks.clear()


ARRAYS = {
    "weights": np.arange(300_000, dtype=np.float32).reshape(600, 500),
    "bias": np.linspace(0, 1, 17),
    "mask": np.arange(40) % 3 == 0,
    "when": np.array(["2024-01-02", "NaT"], dtype="datetime64[s]"),
    "names": np.array(["é✓", "beta"]),
}


@pytest.mark.parametrize("compressed", [False, True])
def test_through_hashing_sink(fmt, compressed):
    writer = _ListWriter()
    sink = HashingSink(writer)
    info = fmt.write(ARRAYS, sink, compressed=compressed)
    digest = sink.hexdigest()
    size = sink.size
    sink.close()
    data = b"".join(writer.chunks)
    assert len(data) == size
    assert hashlib.sha256(data).hexdigest() == digest
    back = fmt.read(BytesSource(data, info=info))
    for k, v in ARRAYS.items():
        np.testing.assert_array_equal(back[k], v)


@pytest.mark.parametrize("compressed", [False, True])
def test_zipfile_and_numpy_read_it(write_npz, compressed):
    data, _ = write_npz(ARRAYS, compressed=compressed)
    zf = zipfile.ZipFile(io.BytesIO(data))
    assert zf.testzip() is None  # every CRC32 checks out
    assert zf.namelist() == [f"{k}.npy" for k in ARRAYS]
    expected_type = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    assert {i.compress_type for i in zf.infolist()} == {expected_type}
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(ARRAYS)
        for k, v in ARRAYS.items():
            np.testing.assert_array_equal(npz[k], v)
            assert npz[k].dtype == v.dtype


def test_stored_entries_use_zip64_and_data_descriptors(write_npz):
    data, _ = write_npz(ARRAYS)
    zf = zipfile.ZipFile(io.BytesIO(data))
    for info in zf.infolist():
        assert info.flag_bits & 0x08, "bit 3: sizes and CRC follow in a data descriptor"
        local = data[info.header_offset : info.header_offset + 30]
        assert local[:4] == b"PK\x03\x04"
        name_len = int.from_bytes(local[26:28], "little")
        extra = data[info.header_offset + 30 + name_len :][: int.from_bytes(local[28:30], "little")]
        assert extra[:2] == b"\x01\x00", "ZIP64 extra field first"
        # The data descriptor right after the entry holds the real CRC and sizes.
        start = info.header_offset + 30 + name_len + len(extra)
        desc = data[start + info.compress_size :][:24]
        assert desc[:4] == b"PK\x07\x08"
        assert int.from_bytes(desc[4:8], "little") == info.CRC
        assert int.from_bytes(desc[8:16], "little") == info.compress_size
        assert int.from_bytes(desc[16:24], "little") == info.file_size
    assert b"PK\x06\x06" in data[-98:] and b"PK\x06\x07" in data[-42:]
    assert data[-22:-18] == b"PK\x05\x06"


@pytest.mark.skipif(shutil.which("unzip") is None, reason="Info-ZIP unzip not installed")
@pytest.mark.parametrize("compressed", [False, True])
def test_info_zip_unzip_verifies_it(write_npz, tmp_path, compressed):
    data, _ = write_npz(ARRAYS, compressed=compressed)
    path = tmp_path / "a.zip"
    path.write_bytes(data)
    out = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "No errors detected" in out.stdout


@pytest.mark.parametrize("compressed", [False, True])
def test_write_never_seeks(fmt, sink_cls, compressed):
    sink = sink_cls()
    with pytest.raises(OSError):
        sink.seek(0)
    sink.seek_calls = 0
    fmt.write(ARRAYS, sink, compressed=compressed)
    assert zipfile.ZipFile(io.BytesIO(sink.getvalue())).testzip() is None
    if not compressed:
        assert sink.seek_calls == 0, "the stored writer never even tries to seek"


@pytest.mark.parametrize("saver", [np.savez, np.savez_compressed])
@pytest.mark.parametrize("info", [{}, None])
def test_reads_plain_numpy_savez_output(fmt, saver, info):
    buf = io.BytesIO()
    saver(buf, ARRAYS["bias"], **{k: v for k, v in ARRAYS.items() if k != "bias"})
    src = BytesSource(buf.getvalue(), name="legacy.npz", info=info)
    back = fmt.read(src)
    assert isinstance(back, dict)
    assert sorted(back) == sorted(["arr_0", *[k for k in ARRAYS if k != "bias"]])
    np.testing.assert_array_equal(back["arr_0"], ARRAYS["bias"])
    np.testing.assert_array_equal(back["weights"], ARRAYS["weights"])
    lazy = fmt.read_lazy(src)
    assert isinstance(lazy, NpzArrays)
    np.testing.assert_array_equal(lazy["names"], ARRAYS["names"])
    np.testing.assert_array_equal(lazy["when"], ARRAYS["when"])


def test_reads_savez_file_on_disk(fmt, tmp_path, path_source_cls):
    path = tmp_path / "legacy.npz"
    np.savez(path, x=np.arange(5), y=np.eye(3, order="F"))
    back = fmt.read(path_source_cls(path), mmap=True)
    assert isinstance(back["x"], np.memmap)
    np.testing.assert_array_equal(back["y"], np.eye(3))


def test_reads_zip_with_mixed_compression(fmt):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, arr, method in [
            ("a", np.arange(10), zipfile.ZIP_STORED),
            ("b", np.ones(1000), zipfile.ZIP_DEFLATED),
            ("c", np.arange(6.0).reshape(2, 3), zipfile.ZIP_BZIP2),
            ("d", np.array([1 + 2j]), zipfile.ZIP_LZMA),
        ]:
            npy = io.BytesIO()
            np.save(npy, arr)
            zf.writestr(zipfile.ZipInfo(f"{name}.npy"), npy.getvalue(), compress_type=method)
    src = BytesSource(buf.getvalue())
    back = fmt.read(src)
    assert back["a"].tolist() == list(range(10))
    assert back["b"].sum() == 1000
    assert back["c"].shape == (2, 3)
    assert back["d"][0] == 1 + 2j
    assert fmt.read_lazy(src)["c"].tolist() == [[0, 1, 2], [3, 4, 5]]
