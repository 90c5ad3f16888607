"""A minimal streaming ZIP64 writer for stored (uncompressed) ``.npy`` entries.

Python's :mod:`zipfile` computes each entry's CRC32 on the writing thread,
serially with the write itself. For large arrays that caps the throughput of
a save well below the speed of the disk, because the store's sink already
spends a core on sha256. This writer produces the same kind of archive
``numpy.savez`` does (one ``<name>.npy`` entry per array, readable by
``numpy.load`` and :mod:`zipfile`) but computes the CRC32 of each chunk on a
worker thread while the calling thread hands the same chunk to the sink
(:func:`zlib.crc32` releases the GIL on large buffers).

It never seeks: every entry is written as a local header carrying a ZIP64
extra field and general-purpose flag bit 3, followed by the data and a ZIP64
data descriptor with the real CRC and sizes; the central directory, the
ZIP64 end-of-central-directory record, its locator and the classic
end-of-central-directory record close the archive.

Output is deterministic: the same arrays under the same names always give
the same bytes (timestamps are fixed at 1980-01-01 00:00:00), so identical
artifacts hash identically.

numpy is imported inside functions only.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from numpy.typing import NDArray

CHUNK_SIZE = 16 << 20
"""Bytes handed to the sink per write for large arrays (the CRC32 runs on the
previous chunk's thread while this one is written)."""

_THREAD_MIN = 1 << 20
"""Below this many bytes a chunk's CRC32 is computed inline."""

_SMALL_ENTRY = 1 << 18
"""Entries whose data is at most this large are written in a single sink write."""

_LOCAL_SIG = 0x04034B50
_CENTRAL_SIG = 0x02014B50
_DESCRIPTOR_SIG = 0x08074B50
_EOCD64_SIG = 0x06064B50
_EOCD64_LOCATOR_SIG = 0x07064B50
_EOCD_SIG = 0x06054B50

_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")  # 30 bytes
_ZIP64_LOCAL_EXTRA = struct.Struct("<HHQQ")  # 20 bytes
_DESCRIPTOR64 = struct.Struct("<IIQQ")  # 24 bytes
_CENTRAL_HEADER = struct.Struct("<IHHHHHHIIIHHHHHII")  # 46 bytes
_EOCD64 = struct.Struct("<IQHHIIQQQQ")  # 56 bytes
_EOCD64_LOCATOR = struct.Struct("<IIQI")  # 20 bytes
_EOCD = struct.Struct("<IHHHHIIH")  # 22 bytes

_VERSION = 45
"""ZIP spec version 4.5: ZIP64 extensions."""
_VERSION_MADE_BY = (3 << 8) | _VERSION
"""Made by a UNIX host (so the external attributes carry a file mode)."""
_FLAG_DESCRIPTOR = 0x0008
_FLAG_UTF8 = 0x0800
_DOS_TIME = 0
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01
_EXTERNAL_ATTR = 0o100644 << 16  # regular file, rw-r--r--
_ALIGN_EXTRA_ID = 0xD935
"""The alignment-padding extra field used by Android's zipalign (ignored by readers)."""
_ALIGN_EXTRA_MIN = 6
ALIGNMENT = 64
"""Array data of stored entries starts at a multiple of this many bytes in the file."""
_U32 = 0xFFFFFFFF
_U16 = 0xFFFF

NPY_MAGIC = b"\x93NUMPY"
"""The first six bytes of every ``.npy`` file."""


def numpy_format_impl() -> Any:
    """Return the module defining numpy's ``.npy`` helpers, private ones included.

    ``numpy.lib.format`` re-exports only the public helpers since numpy 2.0;
    the implementation (with ``_write_array_header`` and
    ``_read_array_header``, needed for format 3.0 headers) lives in
    ``numpy.lib._format_impl`` there and in ``numpy.lib.format`` before.
    """
    from importlib import import_module

    try:
        return import_module("numpy.lib._format_impl")
    except ImportError:  # numpy < 2
        return import_module("numpy.lib.format")


def npy_header(array: NDArray[Any]) -> bytes:
    """Return the ``.npy`` header (magic, version, padded dict) for ``array``.

    The oldest format version that can hold the header is used (1.0, else 2.0
    for very large structured dtypes, else 3.0 for non-latin-1 field names),
    exactly as ``numpy.save`` does, but without its warnings. The header
    describes C order unless ``array`` is Fortran- and not C-contiguous.
    """
    fmt = numpy_format_impl()
    header = fmt.header_data_from_array_1_0(array)
    buf = io.BytesIO()
    try:
        fmt.write_array_header_1_0(buf, header)
    except ValueError:
        buf = io.BytesIO()
        try:
            fmt.write_array_header_2_0(buf, header)
        except UnicodeEncodeError:
            buf = io.BytesIO()
            fmt._write_array_header(buf, header, (3, 0))
    return buf.getvalue()


def iter_array_bytes(array: NDArray[Any], chunk_size: int = CHUNK_SIZE) -> Iterator[memoryview]:
    """Yield the data bytes of ``array`` in the order its ``.npy`` header declares.

    C-contiguous arrays are yielded as zero-copy slices of their buffer;
    Fortran-contiguous ones as slices of their transposed (C-contiguous)
    buffer, matching ``fortran_order: True`` in the header. Any other layout
    is copied to C order one block at a time (at most about ``chunk_size``
    bytes at once), so a huge strided view never doubles memory use.
    """
    if array.nbytes == 0:
        return
    if array.flags.c_contiguous:
        yield from _slices(_byte_view(array), chunk_size)
    elif array.flags.f_contiguous:
        yield from _slices(_byte_view(array.T), chunk_size)
    else:
        for block in _c_order_blocks(array, chunk_size):
            yield from _slices(_byte_view(block), chunk_size)


def _byte_view(array: NDArray[Any]) -> memoryview:
    """A flat ``uint8`` memoryview over a C-contiguous array (any dtype, also datetime)."""
    import numpy as np

    return array.reshape(-1).view(np.uint8).data


def _slices(view: memoryview, chunk_size: int) -> Iterator[memoryview]:
    n = view.nbytes
    if n <= chunk_size:
        yield view
        return
    for start in range(0, n, chunk_size):
        yield view[start : start + chunk_size]


def _c_order_blocks(array: NDArray[Any], target: int) -> Iterator[NDArray[Any]]:
    """Yield C-contiguous copies of consecutive blocks of ``array`` in C order."""
    import numpy as np

    if array.flags.c_contiguous or array.nbytes <= target:
        yield np.ascontiguousarray(array)
        return
    rows = array.shape[0]
    row_bytes = array.nbytes // rows
    if array.ndim == 1 or row_bytes <= target:
        per = max(1, target // row_bytes)
        for start in range(0, rows, per):
            yield np.ascontiguousarray(array[start : start + per])
        return
    for i in range(rows):
        yield from _c_order_blocks(array[i], target)


@dataclass(frozen=True)
class _Written:
    name: bytes
    flags: int
    crc: int
    size: int
    offset: int


class StoredNpzWriter:
    """Stream ``.npy`` entries into a non-seekable sink as a stored ZIP64 archive.

    Use it as a context manager, call :meth:`add` once per array, then
    :meth:`finish`::

        with StoredNpzWriter(sink) as zw:
            zw.add("x", x)
            zw.add("y", y)
            zw.finish()

    Leaving the block without :meth:`finish` (an exception) stops the worker
    thread and leaves the archive incomplete; the store aborts the write.

    :param sink: a binary file with ``write``; ``tell`` is used once, at the
        start, when it works (offsets in the archive are absolute).
    :param chunk_size: bytes per sink write for large arrays.
    """

    def __init__(self, sink: BinaryIO, *, chunk_size: int = CHUNK_SIZE):
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        self._sink = sink
        self._chunk_size = chunk_size
        try:
            self._pos = int(sink.tell())
        except (AttributeError, OSError, ValueError):
            self._pos = 0
        self._entries: list[_Written] = []
        self._pool: ThreadPoolExecutor | None = None
        self._finished = False

    def __enter__(self) -> StoredNpzWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the CRC32 worker thread (idempotent)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def add(self, key: str, array: NDArray[Any]) -> None:
        """Append ``array`` as the entry ``<key>.npy``.

        ``array`` must be a plain, already validated ndarray (no object dtype).
        """
        if self._finished:
            raise ValueError("the archive is already finished")
        name = f"{key}.npy".encode()
        flags = _FLAG_DESCRIPTOR
        if not name.isascii():
            flags |= _FLAG_UTF8
        header = npy_header(array)
        size = len(header) + array.nbytes
        offset = self._pos
        # Pad the local extra field so the array data starts on a 64-byte
        # boundary of the file (the .npy header is itself a multiple of 64):
        # memory-mapped arrays are then aligned for every dtype.
        unpadded = offset + _LOCAL_HEADER.size + len(name) + _ZIP64_LOCAL_EXTRA.size
        pad = (-unpadded - _ALIGN_EXTRA_MIN) % ALIGNMENT
        extra = (
            _ZIP64_LOCAL_EXTRA.pack(0x0001, 16, 0, 0)
            + struct.pack("<HHH", _ALIGN_EXTRA_ID, 2 + pad, ALIGNMENT)
            + bytes(pad)
        )
        local = (
            _LOCAL_HEADER.pack(
                _LOCAL_SIG,
                _VERSION,
                flags,
                0,  # stored
                _DOS_TIME,
                _DOS_DATE,
                0,  # crc, sizes: in the data descriptor
                _U32,
                _U32,
                len(name),
                len(extra),
            )
            + name
            + extra
        )
        crc = zlib.crc32(header)
        if array.nbytes <= _SMALL_ENTRY:
            parts = [local, header]
            for piece in iter_array_bytes(array, self._chunk_size):
                crc = zlib.crc32(piece, crc)
                parts.append(bytes(piece))
            parts.append(_DESCRIPTOR64.pack(_DESCRIPTOR_SIG, crc, size, size))
            self._write(b"".join(parts))
        else:
            self._write(local + header)
            for piece in iter_array_bytes(array, self._chunk_size):
                crc = self._write_with_crc(piece, crc)
            self._write(_DESCRIPTOR64.pack(_DESCRIPTOR_SIG, crc, size, size))
        self._entries.append(_Written(name, flags, crc, size, offset))

    def finish(self) -> None:
        """Write the central directory and the end records; the archive is complete."""
        if self._finished:
            return
        self._finished = True
        self.close()
        cd_offset = self._pos
        central = bytearray()
        for e in self._entries:
            extra = b""
            size32 = e.size
            offset32 = e.offset
            fields: list[int] = []
            if e.size >= _U32:
                fields += [e.size, e.size]
                size32 = _U32
            if e.offset >= _U32:
                fields.append(e.offset)
                offset32 = _U32
            if fields:
                extra = struct.pack(f"<HH{len(fields)}Q", 0x0001, 8 * len(fields), *fields)
            central += _CENTRAL_HEADER.pack(
                _CENTRAL_SIG,
                _VERSION_MADE_BY,
                _VERSION,
                e.flags,
                0,
                _DOS_TIME,
                _DOS_DATE,
                e.crc,
                size32,
                size32,
                len(e.name),
                len(extra),
                0,  # comment length
                0,  # disk number start
                0,  # internal attributes
                _EXTERNAL_ATTR,
                offset32,
            )
            central += e.name
            central += extra
        cd_size = len(central)
        eocd64_offset = cd_offset + cd_size
        count = len(self._entries)
        if count == 0 and cd_offset < _U32:
            # An empty archive is the bare end record, as zipfile writes it:
            # numpy.load recognises a zip only by a leading "PK\x03\x04" or
            # "PK\x05\x06".
            self._write(_EOCD.pack(_EOCD_SIG, 0, 0, 0, 0, 0, cd_offset, 0))
            return
        central += _EOCD64.pack(
            _EOCD64_SIG,
            _EOCD64.size - 12,
            _VERSION_MADE_BY,
            _VERSION,
            0,
            0,
            count,
            count,
            cd_size,
            cd_offset,
        )
        central += _EOCD64_LOCATOR.pack(_EOCD64_LOCATOR_SIG, 0, eocd64_offset, 1)
        central += _EOCD.pack(
            _EOCD_SIG,
            0,
            0,
            min(count, _U16),
            min(count, _U16),
            min(cd_size, _U32),
            min(cd_offset, _U32),
            0,
        )
        self._write(bytes(central))

    # -- internals -------------------------------------------------------------

    def _write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        total = view.nbytes
        while view.nbytes:
            n = self._sink.write(view)
            if n is None:
                raise OSError("the sink accepted no bytes (non-blocking sink?)")
            if n >= view.nbytes:
                break
            view = view[n:]
        self._pos += total

    def _write_with_crc(self, piece: memoryview, crc: int) -> int:
        """Write ``piece`` while its CRC32 runs on the worker thread; return the new CRC."""
        if piece.nbytes < _THREAD_MIN:
            crc = zlib.crc32(piece, crc)
            self._write(piece)
            return crc
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="capsa-npz-crc32")
        future: Future[int] = self._pool.submit(zlib.crc32, piece, crc)
        try:
            self._write(piece)
        finally:
            # Never leave the worker reading a buffer the caller may drop.
            new_crc = future.result()
        return new_crc
