"""ZIP64 for real: an entry and offsets beyond 4 GiB (slow; written as a sparse file)."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from capsa_npz.zipstream import npy_header

pytestmark = pytest.mark.slow


class SparseFileSink(io.RawIOBase):
    """Non-seekable to its writer; all-zero chunks become holes in the file."""

    def __init__(self, path: Path):
        super().__init__()
        self._f = open(path, "wb")  # noqa: SIM115 (closed in close())
        self._pos = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._pos

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        n = view.nbytes
        if n >= 1 << 16 and not np.frombuffer(view, dtype=np.uint8).any():
            self._f.seek(n, io.SEEK_CUR)
        else:
            self._f.write(view)
        self._pos += n
        return n

    def close(self) -> None:
        if not self._f.closed:
            self._f.truncate(self._pos)
            self._f.close()
        super().close()


def test_entry_and_offsets_beyond_4gib(fmt, tmp_path, path_source_cls):
    n = (1 << 32) + 100  # the first entry alone needs ZIP64 sizes
    huge = np.broadcast_to(np.zeros(1, dtype=np.uint8), (n,))  # strided: block copies
    small = np.arange(7, dtype=np.int64)  # its local header lies beyond 4 GiB
    path = tmp_path / "big.npz"
    sink = SparseFileSink(path)
    info = fmt.write({"huge": huge, "small": small}, sink)
    sink.close()
    assert path.stat().st_size > n

    zf = zipfile.ZipFile(path)
    infos = {i.filename: i for i in zf.infolist()}
    assert infos["huge.npy"].file_size > 0xFFFFFFFF
    assert infos["small.npy"].header_offset > 0xFFFFFFFF
    with zf.open("small.npy") as f:
        f.read()  # reading to the end checks the CRC
    assert np.load(path)["small"].tolist() == small.tolist()

    src = path_source_cls(path, info=info)
    back = fmt.read(src, mmap=True)
    assert back["huge"].shape == (n,)
    assert not back["huge"][-1000:].any() and not back["huge"][:1000].any()
    assert back["small"].tolist() == small.tolist()
    lazy = fmt.read_lazy(src)
    assert lazy["small"].tolist() == small.tolist()

    # The CRC32 of the 4 GiB entry, computed here from what the bytes must
    # be (reading the file back through zipfile takes ~20 s).
    crc = zlib.crc32(npy_header(huge))
    zeros = bytes(16 << 20)
    left = n
    while left:
        k = min(left, len(zeros))
        crc = zlib.crc32(memoryview(zeros)[:k], crc)
        left -= k
    assert crc == infos["huge.npy"].CRC

    if shutil.which("unzip"):
        # Info-ZIP parses the ZIP64 directory and tests the entry beyond 4 GiB.
        out = subprocess.run(
            ["unzip", "-tq", str(path), "small.npy"], capture_output=True, text=True
        )
        assert out.returncode == 0, out.stdout + out.stderr
        listing = subprocess.run(["unzip", "-Zl", str(path)], capture_output=True, text=True)
        assert listing.returncode == 0, listing.stderr
        assert str(infos["huge.npy"].file_size) in listing.stdout
