"""Zarr-side work: creating arrays from plans, direct chunk I/O, checked lazy views.

Imported only when a zarr member is written or read (it imports zarr and numpy).

Direct chunk I/O
    For the common case (numeric little-endian data, no compression, no
    sharding) a chunk of a Zarr v3 array is just the chunk's C-order bytes,
    followed by a 4-byte crc32c when ``checksum`` is on. Whole-array writes and
    reads then skip zarr's async codec pipeline: chunks go straight from (and
    into) the numpy array's memory, one ``put`` per chunk, zero-copy where the
    chunk is a contiguous block. The bytes are exactly what zarr itself writes
    and reads (the tests open them with plain ``zarr.open``). Every other case
    (compression, sharding, strings, datetimes, big-endian data) goes through
    zarr.

Checked views
    :class:`CheckedArray` and :class:`CheckedGroup` are the ``zarr.Array`` and
    ``zarr.Group`` handed out by lazy reads. They behave exactly like zarr's,
    except that a chunk that cannot be decoded (truncated, corrupted: checksum
    mismatch, compressor error) raises :class:`~capsa.errors.IntegrityError`
    naming the member, instead of a raw zarr/numcodecs exception.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np
import zarr
from zarr.codecs import BloscCodec, Crc32cCodec, ZstdCodec

from capsa.errors import CapsaError, IntegrityError
from capsa_zarr.options import ArrayPlan
from capsa_zarr.store import METADATA, CapsaZarrStore

if TYPE_CHECKING:
    from capsa.formats.base import DirectorySource
    from capsa.store.transaction import DirectoryWriter

T = TypeVar("T")

BLOSC_DEFAULT_LEVEL = 5
ZSTD_DEFAULT_LEVEL = 3
_FAST_KINDS = "biufc"
_USER_ERRORS = (IndexError, TypeError, KeyError, NotImplementedError, CapsaError)


# -- creating arrays ------------------------------------------------------------------


def compressors_for(plan: ArrayPlan) -> list[Any]:
    """The bytes-to-bytes codecs of a plan: the compressor, then the crc32c checksum."""
    codecs: list[Any] = []
    if plan.compressor == "zstd":
        level = ZSTD_DEFAULT_LEVEL if plan.level is None else plan.level
        codecs.append(ZstdCodec(level=level))
    elif plan.compressor == "blosc":
        level = BLOSC_DEFAULT_LEVEL if plan.level is None else plan.level
        shuffle: Literal["shuffle", "bitshuffle"] = (
            "bitshuffle" if plan.dtype.itemsize == 1 else "shuffle"
        )
        codecs.append(
            BloscCodec(cname="lz4", clevel=level, shuffle=shuffle, typesize=plan.dtype.itemsize)
        )
    if plan.checksum:
        codecs.append(Crc32cCodec())
    return codecs


def create_array(
    store: CapsaZarrStore, plan: ArrayPlan, *, shape: tuple[int, ...] | None = None
) -> Any:
    """Create (metadata only) the array described by ``plan`` in ``store``."""
    return zarr.create_array(
        store=store,
        name=plan.name or None,
        shape=plan.shape if shape is None else shape,
        dtype=plan.dtype,
        chunks=plan.chunks,
        shards=plan.shards,
        compressors=compressors_for(plan),
        filters=None,
        fill_value=None,
        dimension_names=plan.dimension_names,
        chunk_key_encoding={"name": "default", "separator": SEPARATOR},
        attributes=plan.attributes or None,
        zarr_format=3,
        write_data=False,
    )


def direct_io_ok(plan: ArrayPlan) -> bool:
    """True when chunks can be written and read as raw bytes (see the module docs)."""
    dtype = plan.dtype
    return (
        plan.compressor is None
        and plan.shards is None
        and len(plan.shape) > 0
        and dtype.kind in _FAST_KINDS
        and (
            (dtype.byteorder in ("=", "|") and sys.byteorder == "little") or dtype.byteorder == "<"
        )
    )


SEPARATOR = "."
"""Chunk key separator written (``c.0.0``): the Zarr v3 "default" chunk key
encoding allows "/" or "."; "." keeps a member's chunks in one folder, where
"/" makes one folder per chunk row, which costs a mkdir and a folder fsync
each on a local disk."""


def chunk_key(prefix: str, index: tuple[int, ...], separator: str = SEPARATOR) -> str:
    """The object key of the chunk at grid ``index`` ("default" chunk key encoding)."""
    return f"{prefix}c{separator}{separator.join(map(str, index))}"


WRITE_THREADS = 3
"""Chunks written concurrently by direct writes (each put also hashes on its own thread)."""


def write_chunks_direct(
    directory: DirectoryWriter,
    plan: ArrayPlan,
    value: Any,
    *,
    prefix: str = "",
    first: int = 0,
) -> None:
    """Write every chunk of ``value`` as raw bytes (+ crc32c), one put per chunk.

    ``value`` holds the rows from chunk row ``first`` on (the appender writes
    an array in pieces); a last, partial chunk is padded with the fill value.
    Chunks are written by :data:`WRITE_THREADS` threads, at most two chunks in
    flight per thread, so memory stays bounded by a few chunks.
    """
    import threading
    from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

    import google_crc32c

    chunks = plan.chunks
    shape = tuple(value.shape)
    dtype = plan.dtype.newbyteorder("<") if plan.dtype.byteorder == "=" else plan.dtype
    grid = [math.ceil(s / c) for s, c in zip(shape, chunks, strict=True)]
    nbytes = dtype.itemsize * math.prod(chunks)
    local = threading.local()

    def write_one(index: tuple[int, ...]) -> None:
        region = tuple(
            slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(index, chunks, shape, strict=True)
        )
        block = value[region]
        if block.shape != chunks:  # an edge chunk is stored whole, padded with the fill value
            pad = np.zeros(chunks, dtype=dtype)
            pad[tuple(slice(0, n) for n in block.shape)] = block
            block = pad
        block = np.ascontiguousarray(block, dtype=dtype)
        key = chunk_key(prefix, (index[0] + first, *index[1:]))
        if not plan.checksum:
            directory.put(key, block.data.cast("B"))
            return
        # One buffer per thread holds the chunk and its crc32c (a put takes one
        # buffer); numpy copies without holding the GIL.
        scratch = getattr(local, "scratch", None)
        if scratch is None:
            scratch = local.scratch = np.empty(nbytes + 4, dtype=np.uint8)
        crc = google_crc32c.value(block)  # (a numpy array: the C extension wants read-only buffers)
        scratch[:nbytes] = block.reshape(-1).view(np.uint8)
        scratch[nbytes:] = np.frombuffer(int(crc).to_bytes(4, "little"), dtype=np.uint8)
        directory.put(key, scratch.data)

    indices = itertools.product(*(range(n) for n in grid))
    if math.prod(grid) <= 1 or WRITE_THREADS <= 1:
        for index in indices:
            write_one(index)
        return
    with ThreadPoolExecutor(WRITE_THREADS, thread_name_prefix="capsa-zarr") as pool:
        pending: set[Future[None]] = set()
        try:
            for index in indices:
                if len(pending) >= 2 * WRITE_THREADS:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        future.result()
                pending.add(pool.submit(write_one, index))
            for future in pending:
                future.result()
        finally:
            for future in pending:
                future.cancel()


# -- reading ---------------------------------------------------------------------------


_NUMERIC_TYPES = {
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
}


def _direct_layout(
    meta: Mapping[str, Any],
) -> tuple[Any, tuple[int, ...], bool, Any, str] | None:
    """(dtype, chunks, checksum, fill, separator) of an array that allows direct reads, or None."""
    try:
        if meta.get("node_type") != "array" or meta.get("zarr_format") != 3:
            return None
        if meta.get("storage_transformers") or not meta.get("shape"):
            return None
        dtype_name = meta["data_type"]
        if not isinstance(dtype_name, str) or dtype_name not in _NUMERIC_TYPES:
            return None
        grid = meta["chunk_grid"]
        if grid.get("name") != "regular":
            return None
        chunks = tuple(int(c) for c in grid["configuration"]["chunk_shape"])
        cke = meta["chunk_key_encoding"]
        if cke.get("name") != "default":
            return None
        separator = (cke.get("configuration") or {}).get("separator", "/")
        if separator not in ("/", "."):
            return None
        codecs = meta["codecs"]
        if not codecs or codecs[0].get("name") != "bytes":
            return None
        endian = (codecs[0].get("configuration") or {}).get("endian", "little")
        if endian != "little":
            return None
        rest = [c.get("name") for c in codecs[1:]]
        if rest not in ([], ["crc32c"]):
            return None
        fill = meta["fill_value"]
        if isinstance(fill, list) and len(fill) == 2 and dtype_name.startswith("complex"):
            fill = complex(float(fill[0]), float(fill[1]))
        elif not isinstance(fill, bool | int | float):
            return None
        return np.dtype(dtype_name).newbyteorder("<"), chunks, bool(rest), fill, separator
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _decode_metadata(raw: bytes, where: str) -> dict[str, Any]:
    try:
        meta = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IntegrityError(f"{where}: zarr metadata is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise IntegrityError(f"{where}: zarr metadata is not a JSON object")
    return meta


def read_metadata(store: CapsaZarrStore, path: str = "") -> dict[str, Any]:
    """Read and decode a node's ``zarr.json`` (checked against its sha256)."""
    key = f"{path}/{METADATA}" if path else METADATA
    raw = store._read_sync(key, None)
    if raw is None:
        raise IntegrityError(f"{store.label}: no zarr metadata {key!r} (not a Zarr v3 node)")
    return _decode_metadata(raw, store.label)


def read_direct(
    source: DirectorySource, store: CapsaZarrStore, meta: Mapping[str, Any], *, path: str = ""
) -> Any | None:
    """Read a whole array straight into numpy, or return None when zarr must decode it.

    On a local backend each chunk file is read into its place in the output
    (one copy, like ``np.load``); elsewhere each chunk is one ``get``. Sizes
    and crc32c checksums are checked.
    """
    import google_crc32c

    layout = _direct_layout(meta)
    if layout is None:
        return None
    dtype, chunks, checksum, fill, separator = layout
    shape = tuple(int(s) for s in meta["shape"])
    if len(chunks) != len(shape):
        raise IntegrityError(f"{store.label}: chunk shape {chunks} does not match shape {shape}")
    prefix = f"{path}/" if path else ""
    listing = store.listing()
    folder = source.local_path()
    out = _empty_offset(shape, dtype)
    grid = [math.ceil(s / c) for s, c in zip(shape, chunks, strict=True)]
    nbytes = dtype.itemsize * math.prod(chunks)
    expect = nbytes + (4 if checksum else 0)
    # Chunks that span every trailing axis are contiguous blocks of the output.
    whole_rows = chunks[1:] == shape[1:]
    for index in itertools.product(*(range(n) for n in grid)):
        key = chunk_key(prefix, index, separator)
        region = tuple(
            slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(index, chunks, shape, strict=True)
        )
        target = out[region]
        if key not in listing:
            target[...] = fill
            continue
        full = target.shape == chunks
        if folder is not None and full and whole_rows:
            _read_into(folder / key, target, nbytes, checksum, store, key)
            continue
        data = store._read_sync(key, None)
        if data is None or len(data) != expect:
            got = "no" if data is None else len(data)
            raise IntegrityError(
                f"{store.label}: chunk {key!r} has {got} bytes, expected {expect} (truncated?)"
            )
        raw = np.frombuffer(data, dtype=np.uint8, count=nbytes)
        if checksum and google_crc32c.value(raw) != int.from_bytes(data[nbytes:], "little"):
            raise IntegrityError(f"{store.label}: chunk {key!r} fails its crc32c checksum")
        chunk = raw.view(dtype).reshape(chunks)
        target[...] = chunk[tuple(slice(0, n) for n in target.shape)]
    return out.astype(out.dtype.newbyteorder("="), copy=False)


_PAGE = 4096
_OUT_OFFSET = 2048


def _empty_offset(shape: tuple[int, ...], dtype: Any) -> Any:
    """``numpy.empty`` whose data starts half-way into a memory page.

    Chunk files start at file offset 0, i.e. at the start of a page-cache
    page. When the destination is at (almost) the same offset within its page,
    the kernel's ``rep movsb`` copy runs about 3x slower on some CPUs (seen on
    AMD EPYC: 1.5 vs 5 GB/s); half a page apart it runs at full speed.
    ``np.load`` gets this for free from the 128-byte ``.npy`` header.
    """
    count = math.prod(shape)
    nbytes = count * dtype.itemsize
    if nbytes < (1 << 20):
        return np.empty(shape, dtype=dtype)
    raw = np.empty(nbytes + _PAGE, dtype=np.uint8)
    skip = (_OUT_OFFSET - raw.ctypes.data) % _PAGE
    return raw[skip : skip + nbytes].view(dtype).reshape(shape)


def _read_into(
    file: Any, target: Any, nbytes: int, checksum: bool, store: CapsaZarrStore, key: str
) -> None:
    import google_crc32c

    view = target.data.cast("B")
    try:
        with open(file, "rb", buffering=0) as fh:
            n = fh.readinto(view) or 0
            while n < nbytes:
                more = fh.readinto(view[n:]) or 0
                if not more:
                    break
                n += more
            tail = fh.read(5)
    except FileNotFoundError:
        raise store._missing(key) from None
    if n != nbytes or len(tail) != (4 if checksum else 0):
        raise IntegrityError(
            f"{store.label}: chunk {key!r} has {n + len(tail)} bytes, expected "
            f"{nbytes + (4 if checksum else 0)} (truncated or overwritten)"
        )
    if checksum and google_crc32c.value(target) != int.from_bytes(tail, "little"):
        raise IntegrityError(f"{store.label}: chunk {key!r} fails its crc32c checksum")


# -- checked lazy views ----------------------------------------------------------------


def _checked(method: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except _USER_ERRORS:
            raise
        except Exception as exc:
            raise IntegrityError(
                f"{getattr(self, '_capsa_label', 'zarr member')}: could not decode the data "
                f"({type(exc).__name__}: {exc})"
            ) from exc

    return wrapper


class CheckedArray(zarr.Array):  # type: ignore[type-arg]
    """A read-only ``zarr.Array`` whose decode failures raise ``IntegrityError``."""

    _capsa_label: str

    get_basic_selection = _checked(zarr.Array.get_basic_selection)
    get_orthogonal_selection = _checked(zarr.Array.get_orthogonal_selection)
    get_mask_selection = _checked(zarr.Array.get_mask_selection)
    get_coordinate_selection = _checked(zarr.Array.get_coordinate_selection)
    get_block_selection = _checked(zarr.Array.get_block_selection)

    @classmethod
    def wrap(cls, array: Any, label: str) -> CheckedArray:
        """Wrap a ``zarr.Array`` (sharing its store and metadata)."""
        checked = cls(array._async_array)
        checked._capsa_label = label
        return checked

    def __repr__(self) -> str:
        return f"<capsa zarr array {self._capsa_label} shape={self.shape} dtype={self.dtype}>"


class CheckedGroup(zarr.Group):
    """A read-only ``zarr.Group`` whose arrays are :class:`CheckedArray`."""

    _capsa_label: str

    @classmethod
    def wrap(cls, group: zarr.Group, label: str) -> CheckedGroup:
        """Wrap a ``zarr.Group``."""
        checked = cls(group._async_group)
        object.__setattr__(checked, "_capsa_label", label)
        return checked

    def _wrap_node(self, node: Any) -> Any:
        if isinstance(node, zarr.Array):
            return CheckedArray.wrap(node, f"{self._capsa_label}, array {node.basename!r}")
        if isinstance(node, zarr.Group):
            return CheckedGroup.wrap(node, self._capsa_label)
        return node

    def __getitem__(self, path: str) -> Any:
        return self._wrap_node(super().__getitem__(path))

    def get(self, path: str, default: Any = None) -> Any:
        """Return the member at ``path`` (checked), or ``default``."""
        return self._wrap_node(super().get(path, default))

    def arrays(self) -> Any:
        """Yield ``(name, array)`` pairs of the arrays directly in this group."""
        for name, array in super().arrays():
            yield name, self._wrap_node(array)

    def __repr__(self) -> str:
        return f"<capsa zarr group {self._capsa_label} arrays={sorted(self.array_keys())}>"


def open_lazy(source: DirectorySource) -> Any:
    """Open a committed member read-only: a :class:`CheckedArray` or :class:`CheckedGroup`."""
    store = CapsaZarrStore.reading(source)
    meta = read_metadata(store)
    node = meta.get("node_type")
    try:
        if node == "array":
            return CheckedArray.wrap(
                zarr.open_array(store=store, mode="r", zarr_format=3), store.label
            )
        if node == "group":
            return CheckedGroup.wrap(
                zarr.open_group(store=store, mode="r", zarr_format=3, use_consolidated=False),
                store.label,
            )
    except _USER_ERRORS:
        raise
    except Exception as exc:
        raise IntegrityError(
            f"{store.label}: zarr cannot open the metadata ({type(exc).__name__}: {exc})"
        ) from exc
    raise IntegrityError(f"{store.label}: zarr.json has node_type {node!r}, not an array or group")


def read_all(source: DirectorySource) -> Any:
    """Read a whole member: a numpy array, or a dict of name -> numpy array for a group."""
    store = CapsaZarrStore.reading(source)
    meta = read_metadata(store)
    if meta.get("node_type") == "array":
        out = read_direct(source, store, meta)
        if out is not None:
            return out
        return np.asarray(open_lazy(source)[...])
    group = open_lazy(source)
    if not isinstance(group, CheckedGroup):
        raise IntegrityError(f"{store.label}: expected a zarr group")
    result: dict[str, Any] = {}
    for name in sorted(group.array_keys()):
        sub = read_metadata(store, name)
        out = read_direct(source, store, sub, path=name)
        result[name] = out if out is not None else np.asarray(group[name][...])
    return result
