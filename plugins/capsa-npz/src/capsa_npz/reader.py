"""Reading ``.npz`` members: the central directory, per-array reads, the lazy mapping.

Stored (uncompressed) entries are read without :mod:`zipfile`'s entry
reader: the data offset is computed from the local header, the ``.npy``
header is parsed, and the array bytes are read straight into a preallocated
array (or memory-mapped when the backend gives a local path). Compressed
entries go through :mod:`zipfile`, which also checks their CRC32. Pickled
(object) arrays are never loaded.

Every malformed, truncated or inconsistent archive raises
:class:`capsa.errors.IntegrityError` naming the member; no raw
``zipfile``/``numpy`` exception escapes.

numpy is imported inside functions only.
"""

from __future__ import annotations

import errno
import io
import math
import struct
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from capsa.errors import CapsaError, IntegrityError
from capsa_npz.zipstream import NPY_MAGIC, numpy_format_impl

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from capsa.formats.base import MemberSource

MAX_HEADER_SIZE = 1 << 20
"""Largest ``.npy`` header accepted (numpy's default of 10000 refuses headers
of big structured dtypes that capsa-npz itself can write)."""

_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
_LOCAL_SIG = 0x04034B50
_DEFLATE_MAX_RATIO = 1100
"""Deflate cannot expand data more than ~1032:1; a directory claiming more is corrupt."""


@dataclass(frozen=True)
class NpzEntry:
    """One array entry of an archive, from its central directory.

    :ivar key: the array name (the entry name without ``.npy``).
    :ivar filename: the entry name inside the zip.
    :ivar compress_type: the zip compression method (0 = stored).
    :ivar header_offset: offset of the entry's local header.
    :ivar compress_size: stored size of the entry.
    :ivar file_size: uncompressed size of the entry (``.npy`` header + data).
    :ivar flag_bits: the general-purpose flags.
    """

    key: str
    filename: str
    compress_type: int
    header_offset: int
    compress_size: int
    file_size: int
    flag_bits: int


@contextmanager
def typed_errors(member: str) -> Iterator[None]:
    """Turn any failure to parse the archive into :class:`IntegrityError` naming ``member``.

    The bytes are untrusted: zipfile, the decompressors and numpy's header
    parser raise a wide range of exceptions on malformed input (``BadZipFile``,
    ``ValueError``, ``zlib.error``, ``lzma.LZMAError``, ``TypeError`` from the
    header literal ...). All of them mean "this member is not a readable npz";
    the original exception is chained. Capsa errors pass through unchanged,
    and so do operating-system I/O errors (an ``OSError`` with an ``errno``),
    which are failures of the storage rather than of the bytes, and
    ``MemoryError`` (a genuine array too large for this machine; sizes are
    checked against the zip directory before anything is allocated).
    ``EINVAL`` is the exception: on a real file it is what seeking to the
    negative offset a corrupt directory computes raises.
    """
    try:
        yield
    except (CapsaError, MemoryError):
        raise
    except OSError as exc:
        if exc.errno is not None and exc.errno != errno.EINVAL:
            raise
        raise IntegrityError(f"npz member {member!r} is not a readable npz file: {exc}") from exc
    except Exception as exc:
        raise IntegrityError(f"npz member {member!r} is not a readable npz file: {exc}") from exc


def _key_of(filename: str) -> str:
    return filename[:-4] if filename.endswith(".npy") else filename


def parse_directory(fh: BinaryIO, member: str) -> list[NpzEntry]:
    """Read the central directory of the archive open as ``fh`` (seekable)."""
    with typed_errors(member), zipfile.ZipFile(fh) as zf:
        infos = zf.infolist()
    entries: list[NpzEntry] = []
    seen: set[str] = set()
    for info in infos:
        if info.is_dir():
            continue
        key = _key_of(info.filename)
        if key in seen:
            raise IntegrityError(f"npz member {member!r} holds the array {key!r} twice")
        seen.add(key)
        entries.append(
            NpzEntry(
                key=key,
                filename=info.filename,
                compress_type=info.compress_type,
                header_offset=info.header_offset,
                compress_size=info.compress_size,
                file_size=info.file_size,
                flag_bits=info.flag_bits,
            )
        )
    return entries


def _read_exact(read: Callable[[int], bytes], n: int, member: str, what: str) -> bytes:
    data = read(n)
    if len(data) != n:
        raise IntegrityError(
            f"npz member {member!r} is truncated: expected {n} bytes of {what}, got {len(data)}"
        )
    return data


@dataclass(frozen=True)
class _NpyHeader:
    shape: tuple[int, ...]
    fortran_order: bool
    dtype: Any
    length: int
    count: int
    nbytes: int


def _read_npy_header(read: Callable[[int], bytes], member: str, key: str) -> _NpyHeader:
    """Parse a ``.npy`` header with numpy's own parser, reading only the header bytes."""
    fmt = numpy_format_impl()
    prefix = _read_exact(read, 10, member, f"the .npy header of {key!r}")
    if prefix[:6] != NPY_MAGIC:
        raise IntegrityError(f"npz member {member!r}: entry {key!r} is not a .npy array")
    version = (prefix[6], prefix[7])
    if version == (1, 0):
        (hlen,) = struct.unpack("<H", prefix[8:10])
    elif version in ((2, 0), (3, 0)):
        prefix += _read_exact(read, 2, member, f"the .npy header of {key!r}")
        (hlen,) = struct.unpack("<I", prefix[8:12])
    else:
        raise IntegrityError(
            f"npz member {member!r}: entry {key!r} has unsupported .npy version "
            f"{version[0]}.{version[1]}"
        )
    if hlen > MAX_HEADER_SIZE:
        raise IntegrityError(
            f"npz member {member!r}: entry {key!r} has an implausibly large .npy header "
            f"({hlen} bytes)"
        )
    body = _read_exact(read, hlen, member, f"the .npy header of {key!r}")
    buf = io.BytesIO(prefix + body)
    try:
        fmt.read_magic(buf)
        shape, fortran_order, dtype = fmt._read_array_header(
            buf, version, max_header_size=MAX_HEADER_SIZE
        )
    except Exception as exc:  # literal_eval of hostile text can raise almost anything
        raise IntegrityError(
            f"npz member {member!r}: entry {key!r} has a malformed .npy header: {exc}"
        ) from exc
    if any(d < 0 for d in shape):
        raise IntegrityError(f"npz member {member!r}: entry {key!r} has a negative dimension")
    if dtype.hasobject:
        raise IntegrityError(
            f"npz member {member!r}: entry {key!r} holds Python objects (pickled data); "
            "capsa-npz never unpickles (allow_pickle is always False)"
        )
    count = math.prod(shape)
    return _NpyHeader(
        shape=tuple(shape),
        fortran_order=fortran_order,
        dtype=dtype,
        length=len(prefix) + hlen,
        count=count,
        nbytes=count * dtype.itemsize,
    )


def _check_size(entry: NpzEntry, header: _NpyHeader, member: str) -> None:
    expected = header.length + header.nbytes
    if expected != entry.file_size:
        raise IntegrityError(
            f"npz member {member!r}: entry {entry.key!r} should hold {expected} bytes "
            f"(.npy header {header.length} + array {header.nbytes}) but the zip directory "
            f"says {entry.file_size}"
        )


def _empty(header: _NpyHeader) -> NDArray[Any]:
    import numpy as np

    # np.ndarray rather than np.empty: it handles zero-width string dtypes.
    return np.ndarray(header.count, dtype=header.dtype)


def _shaped(flat: NDArray[Any], header: _NpyHeader) -> NDArray[Any]:
    if header.fortran_order:
        return flat.reshape(header.shape[::-1]).transpose()
    return flat.reshape(header.shape)


def _readinto_exact(
    readinto: Callable[[memoryview], int | None], view: memoryview, member: str, key: str
) -> None:
    got = 0
    total = view.nbytes
    while got < total:
        n = readinto(view[got:])
        if not n:
            raise IntegrityError(
                f"npz member {member!r} is truncated: array {key!r} has {got} of {total} bytes"
            )
        got += n


def _readinto_of(f: Any) -> Callable[[memoryview], int | None]:
    """``f.readinto`` (``typing.BinaryIO`` does not declare it; real files all have it)."""
    readinto: Callable[[memoryview], int | None] = f.readinto
    return readinto


def _fill(
    flat: NDArray[Any], readinto: Callable[[memoryview], int | None], member: str, key: str
) -> None:
    import numpy as np

    if flat.nbytes:
        _readinto_exact(readinto, flat.view(np.uint8).data, member, key)


def read_entry(
    fh: BinaryIO,
    entry: NpzEntry,
    member: str,
    *,
    total_size: int,
    path: Path | None = None,
    zf: zipfile.ZipFile | None = None,
) -> NDArray[Any]:
    """Read one array.

    :param fh: the archive, open and seekable.
    :param total_size: the archive's size in bytes (for bounds checks).
    :param path: a local path to the archive: stored entries are then
        memory-mapped (read-only) instead of read.
    :param zf: an open :class:`zipfile.ZipFile` over ``fh`` for compressed
        entries (one is opened when needed and not given).
    """
    with typed_errors(member):
        if entry.flag_bits & 0x1:
            raise IntegrityError(
                f"npz member {member!r}: entry {entry.key!r} is encrypted, which npz never is"
            )
        if entry.compress_type == zipfile.ZIP_STORED:
            return _read_stored(fh, entry, member, total_size=total_size, path=path)
        return _read_compressed(fh, entry, member, zf=zf)


def _read_stored(
    fh: BinaryIO, entry: NpzEntry, member: str, *, total_size: int, path: Path | None
) -> NDArray[Any]:
    if entry.compress_size != entry.file_size:
        raise IntegrityError(
            f"npz member {member!r}: stored entry {entry.key!r} has compressed size "
            f"{entry.compress_size} != size {entry.file_size}"
        )
    if entry.header_offset + _LOCAL_HEADER.size > total_size:
        raise IntegrityError(
            f"npz member {member!r} is truncated: local header of {entry.key!r} lies past the end"
        )
    fh.seek(entry.header_offset)
    local = _LOCAL_HEADER.unpack(
        _read_exact(fh.read, _LOCAL_HEADER.size, member, f"the zip header of {entry.key!r}")
    )
    if local[0] != _LOCAL_SIG:
        raise IntegrityError(
            f"npz member {member!r}: bad zip local header signature for {entry.key!r}"
        )
    name_len, extra_len = local[9], local[10]
    name = _read_exact(fh.read, name_len, member, f"the zip header of {entry.key!r}")
    expected_name = entry.filename.encode("utf-8" if local[2] & 0x800 else "cp437")
    if name != expected_name:
        raise IntegrityError(
            f"npz member {member!r}: local header names {name!r} where the directory "
            f"names {entry.filename!r}"
        )
    data_start = entry.header_offset + _LOCAL_HEADER.size + name_len + extra_len
    if data_start + entry.file_size > total_size:
        raise IntegrityError(
            f"npz member {member!r} is truncated: array {entry.key!r} needs bytes up to "
            f"{data_start + entry.file_size}, the member holds {total_size}"
        )
    fh.seek(data_start)
    header = _read_npy_header(fh.read, member, entry.key)
    _check_size(entry, header, member)
    if path is not None and header.nbytes > 0 and header.shape:
        import numpy as np

        mapped: NDArray[Any] = np.memmap(
            path,
            dtype=header.dtype,
            mode="r",
            offset=data_start + header.length,
            shape=header.shape,
            order="F" if header.fortran_order else "C",
        )
        return mapped
    flat = _empty(header)
    _fill(flat, _readinto_of(fh), member, entry.key)
    return _shaped(flat, header)


def _read_compressed(
    fh: BinaryIO, entry: NpzEntry, member: str, *, zf: zipfile.ZipFile | None
) -> NDArray[Any]:
    if entry.compress_type == zipfile.ZIP_DEFLATED and entry.file_size > (
        entry.compress_size * _DEFLATE_MAX_RATIO + 1024
    ):
        raise IntegrityError(
            f"npz member {member!r}: entry {entry.key!r} claims {entry.file_size} bytes from "
            f"{entry.compress_size} deflated bytes, which deflate cannot produce"
        )
    own = zf is None
    archive = zipfile.ZipFile(fh) if zf is None else zf
    try:
        with archive.open(entry.filename) as f:
            header = _read_npy_header(f.read, member, entry.key)
            _check_size(entry, header, member)
            flat = _empty(header)
            _fill(flat, _readinto_of(f), member, entry.key)
            # Reading past the end makes zipfile compare the CRC32.
            if f.read(1):
                raise IntegrityError(
                    f"npz member {member!r}: entry {entry.key!r} holds data past its array"
                )
    finally:
        if own:
            archive.close()
    return _shaped(flat, header)


def _size_of(fh: BinaryIO) -> int:
    end = fh.seek(0, io.SEEK_END)
    fh.seek(0)
    return int(end)


def check_names(entries: list[NpzEntry], info: Mapping[str, Any], member: str) -> None:
    """Compare the archive's array names with those the manifest recorded, when it did."""
    recorded = info.get("arrays")
    if recorded is None:
        return
    found = [e.key for e in entries]
    if not isinstance(recorded, list) or sorted(map(str, recorded)) != sorted(found):
        raise IntegrityError(
            f"npz member {member!r} holds arrays {found} but the manifest records {recorded}"
        )


def read_all(source: MemberSource, *, mmap: bool = False) -> dict[str, NDArray[Any]]:
    """Read every array of ``source`` in archive order."""
    path = source.local_path() if mmap else None
    with source.open() as fh:
        total = _size_of(fh)
        entries = parse_directory(fh, source.name)
        check_names(entries, source.info, source.name)
        out: dict[str, NDArray[Any]] = {}
        zf: zipfile.ZipFile | None = None
        try:
            for entry in entries:
                if entry.compress_type != zipfile.ZIP_STORED and zf is None:
                    with typed_errors(source.name):
                        zf = zipfile.ZipFile(fh)
                out[entry.key] = read_entry(
                    fh, entry, source.name, total_size=total, path=path, zf=zf
                )
        finally:
            if zf is not None:
                zf.close()
    return out


class NpzArrays(Mapping[str, "NDArray[Any]"]):
    """A read-only mapping of array name to array that reads each array on first access.

    Building it reads only the zip central directory, so ``keys()``, ``len``
    and ``in`` never touch array data. ``m[name]`` reads that one array
    (ranged reads on object stores), caches it and returns the cached array
    on later accesses. Stored entries are memory-mapped instead when the
    mapping was made with ``mmap=True`` and the backend has a local path.

    It holds no open file between accesses; :meth:`close` drops the cache
    and refuses further reads. It is a context manager.
    """

    def __init__(self, source: MemberSource, *, mmap: bool = False):
        self._source = source
        self._path = source.local_path() if mmap else None
        with source.open() as fh:
            entries = parse_directory(fh, source.name)
        check_names(entries, source.info, source.name)
        self._entries = {e.key: e for e in entries}
        self._cache: dict[str, NDArray[Any]] = {}
        self._closed = False

    @property
    def name(self) -> str:
        """The member name this mapping reads from."""
        return self._source.name

    @property
    def loaded(self) -> list[str]:
        """Names of the arrays read so far."""
        return list(self._cache)

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def __getitem__(self, key: str) -> NDArray[Any]:
        """Return the array ``key``, reading it on first access."""
        if self._closed:
            raise ValueError(f"the npz arrays of {self.name!r} are closed")
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        entry = self._entries[key]
        with self._source.open() as fh:
            total = _size_of(fh)
            array = read_entry(fh, entry, self.name, total_size=total, path=self._path)
        # Two threads racing on one key both read it; the first result wins.
        return self._cache.setdefault(key, array)

    def __iter__(self) -> Iterator[str]:
        """Iterate over array names in archive order (reads no data)."""
        return iter(self._entries)

    def __len__(self) -> int:
        """Number of arrays."""
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        """True when the archive holds an array named ``key`` (reads no data)."""
        return key in self._entries

    def nbytes(self, key: str) -> int:
        """Stored size in bytes of the entry ``key`` (``.npy`` header included), without reading."""
        return self._entries[key].file_size

    def close(self) -> None:
        """Drop cached arrays; later accesses raise ``ValueError``. Idempotent."""
        self._closed = True
        self._cache.clear()

    def __enter__(self) -> NpzArrays:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.close()

    def __repr__(self) -> str:
        """Names, and which of them are loaded."""
        return (
            f"NpzArrays(member={self.name!r}, arrays={list(self._entries)}, loaded={self.loaded})"
        )
