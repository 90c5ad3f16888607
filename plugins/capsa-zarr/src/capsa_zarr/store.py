"""The zarr store adapter: zarr 3's ``Store`` interface over a capsa directory member.

One adapter makes zarr work on every capsa backend (a local folder,
``memory://``, object stores from capsa-cloud) without backend-specific zarr
code: it speaks to the core's :class:`~capsa.store.transaction.DirectoryWriter`
while a transaction writes, and to :class:`~capsa.store.artifact.StoredDirectory`
when a committed artifact is read.

Writing (:meth:`CapsaZarrStore.writing`)
    Every ``set`` is a ``DirectoryWriter.put`` (hashed on the way, listed in the
    member's ``.sha256sums`` sidecar at commit). Reads see exactly what this
    transaction wrote (zarr reads its metadata back): objects left at the same
    paths by an older version of the artifact are invisible.

Reading (:meth:`CapsaZarrStore.reading`)
    Read-only. The object listing is the sidecar, whose hash the manifest
    records, so listing needs no backend call and an object the listing does
    not name is treated as absent even if something put it there. Metadata
    documents (``zarr.json``) are checked against their sha256 before zarr
    decodes them; an object the listing names but storage lost raises
    :class:`~capsa.errors.IntegrityError`. Byte-range requests become ranged
    gets (``get_range``), so slicing an array reads only the chunks it needs.

Blocking backend calls run in worker threads (``asyncio.to_thread``), so
zarr's event loop keeps several chunk transfers in flight.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

from zarr.abc.store import (
    ByteRequest,
    OffsetByteRequest,
    RangeByteRequest,
    Store,
    SuffixByteRequest,
)
from zarr.core.buffer import Buffer, BufferPrototype
from zarr.core.buffer.core import default_buffer_prototype

from capsa.errors import CapsaError, IntegrityError, ObjectNotFoundError

if TYPE_CHECKING:
    from capsa.formats.base import DirectorySource
    from capsa.store.transaction import DirectoryWriter

METADATA = "zarr.json"
"""File name of a Zarr v3 node's metadata document."""


def member_label(source: object) -> str:
    """``artifact 'k': member 'x.zarr'`` for messages (the key when the source knows it)."""
    name = getattr(source, "name", None) or getattr(source, "file", "?")
    key = getattr(source, "artifact_key", None) or getattr(source, "key", None)
    return f"artifact {key!r}: member {name!r}" if key else f"member {name!r}"


def _slice(data: bytes, byte_range: ByteRequest | None) -> bytes:
    if byte_range is None:
        return data
    if isinstance(byte_range, RangeByteRequest):
        return data[byte_range.start : byte_range.end]
    if isinstance(byte_range, OffsetByteRequest):
        return data[byte_range.offset :]
    if isinstance(byte_range, SuffixByteRequest):
        return data[max(0, len(data) - byte_range.suffix) :]
    raise TypeError(f"unexpected byte range {byte_range!r}")


class CapsaZarrStore(Store):
    """A zarr 3 store over one capsa directory member (see the module docs).

    Build it with :meth:`writing` (inside a transaction) or :meth:`reading`
    (a committed member); then hand it to ``zarr.open_array``,
    ``zarr.create_array`` or ``zarr.open_group`` like any zarr store.
    """

    supports_writes: bool = True
    supports_deletes: bool = True
    supports_listing: bool = True

    def __init__(
        self,
        *,
        writer: DirectoryWriter | None = None,
        source: DirectorySource | None = None,
        read_only: bool = False,
        sums: dict[str, str] | None = None,
    ):
        if (writer is None) == (source is None):
            raise ValueError("CapsaZarrStore needs exactly one of writer= or source=")
        if source is not None and not read_only:
            raise ValueError("a committed member is read-only")
        super().__init__(read_only=read_only)
        self._writer = writer
        self._source = source
        self._sums = sums
        self._sizes: dict[str, int] = {}
        self._lock = threading.Lock()

    # -- construction --------------------------------------------------------------

    @classmethod
    def writing(cls, directory: DirectoryWriter) -> CapsaZarrStore:
        """A writable store over a transaction's directory member."""
        return cls(writer=directory)

    @classmethod
    def reading(cls, source: DirectorySource) -> CapsaZarrStore:
        """A read-only store over a committed directory member."""
        return cls(source=source, read_only=True)

    def with_read_only(self, read_only: bool = False) -> CapsaZarrStore:
        """The same member with another read-only flag (a committed member stays read-only)."""
        if self._source is not None:
            if not read_only:
                raise ValueError(f"{self.label} is committed and cannot be written")
            return self
        return type(self)(writer=self._writer, read_only=read_only)

    # -- identity ------------------------------------------------------------------

    @property
    def label(self) -> str:
        """``artifact 'k': member 'x.zarr'``, for messages."""
        target: object = self._writer if self._writer is not None else self._source
        return member_label(target)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, CapsaZarrStore)
            and other._writer is self._writer
            and other._source is self._source
            and other.read_only == self.read_only
        )

    def __hash__(self) -> int:
        return hash((id(self._writer), id(self._source), self.read_only))

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "writable"
        return f"<CapsaZarrStore {self.label} ({mode})>"

    # -- the sidecar listing (reading) ------------------------------------------------

    def listing(self) -> dict[str, str]:
        """Path -> sha256 of every object of a committed member (from the sidecar)."""
        if self._sums is None:
            with self._lock:
                if self._sums is None:
                    self._sums = self._load_sums()
        return self._sums

    def _load_sums(self) -> dict[str, str]:
        source = self._source
        assert source is not None
        sums = getattr(source, "sums", None)
        if callable(sums):
            out = sums()
            assert isinstance(out, dict)
            return out
        # A DirectorySource without a sidecar (a test double): list the objects.
        return {path: "" for path, _size in source.list()}

    def _size(self, key: str) -> int:
        size = self._sizes.get(key)
        if size is None:
            assert self._source is not None
            try:
                size = self._source.object_size(key)
            except ObjectNotFoundError:
                raise self._missing(key) from None
            self._sizes[key] = size
        return size

    def _missing(self, key: str) -> IntegrityError:
        return IntegrityError(
            f"{self.label}: object {key!r} is listed in the member but missing from storage"
        )

    # -- synchronous cores (run in worker threads) --------------------------------------

    def _read_sync(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        if self._writer is not None:
            if not self._writer.exists(key):
                return None
            return _slice(self._writer.get(key), byte_range)
        source = self._source
        assert source is not None
        listing = self.listing()
        if key not in listing:
            return None
        try:
            if key.endswith(METADATA) or key == METADATA:
                data = source.get(key)
                expected = listing[key]
                if expected and hashlib.sha256(data).hexdigest() != expected:
                    raise IntegrityError(
                        f"{self.label}: zarr metadata {key!r} does not match its sha256 "
                        "(corrupted or tampered)"
                    )
                return _slice(data, byte_range)
            if byte_range is None:
                return source.get(key)
            if isinstance(byte_range, RangeByteRequest):
                return source.get_range(key, byte_range.start, byte_range.end)
            size = self._size(key)
            if isinstance(byte_range, OffsetByteRequest):
                return source.get_range(key, byte_range.offset, size)
            if isinstance(byte_range, SuffixByteRequest):
                return source.get_range(key, max(0, size - byte_range.suffix), size)
            raise TypeError(f"unexpected byte range {byte_range!r}")
        except ObjectNotFoundError:
            raise self._missing(key) from None

    def _write_sync(self, key: str, data: Any) -> None:
        assert self._writer is not None
        self._writer.put(key, data)

    # -- zarr's Store interface ---------------------------------------------------

    async def get(
        self,
        key: str,
        prototype: BufferPrototype | None = None,
        byte_range: ByteRequest | None = None,
    ) -> Buffer | None:
        """Return the object (or a byte range of it); None when absent."""
        if prototype is None:
            prototype = default_buffer_prototype()
        data = await asyncio.to_thread(self._read_sync, key, byte_range)
        if data is None:
            return None
        return prototype.buffer.from_bytes(data)

    async def get_partial_values(
        self,
        prototype: BufferPrototype,
        key_ranges: Iterable[tuple[str, ByteRequest | None]],
    ) -> list[Buffer | None]:
        """Fetch several (key, byte range) pairs concurrently."""
        return list(
            await asyncio.gather(*(self.get(key, prototype, rng) for key, rng in key_ranges))
        )

    async def exists(self, key: str) -> bool:
        """True when the object exists (in this transaction, or in the member's listing)."""
        if self._writer is not None:
            return self._writer.exists(key)
        return key in self.listing()

    async def set(self, key: str, value: Buffer) -> None:
        """Write an object through the transaction (hashed, listed at commit)."""
        self._check_writable()
        if not isinstance(value, Buffer):
            raise TypeError(f"CapsaZarrStore.set() needs a zarr Buffer, got {type(value)!r}")
        await asyncio.to_thread(self._write_sync, key, value.as_buffer_like())

    async def set_if_not_exists(self, key: str, value: Buffer) -> None:
        """Write the object unless this transaction already wrote it."""
        if not await self.exists(key):
            await self.set(key, value)

    async def delete(self, key: str) -> None:
        """Remove an object this transaction wrote (absent keys are ignored)."""
        self._check_writable()
        assert self._writer is not None
        if self._writer.exists(key):
            await asyncio.to_thread(self._writer.delete, key)

    def _keys(self) -> list[str]:
        if self._writer is not None:
            return [path for path, _size in self._writer.list()]
        return sorted(self.listing())

    async def list(self) -> AsyncIterator[str]:
        """Yield every key."""
        for key in self._keys():
            yield key

    async def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        """Yield every key that starts with ``prefix``."""
        for key in self._keys():
            if key.startswith(prefix):
                yield key

    async def list_dir(self, prefix: str) -> AsyncIterator[str]:
        """Yield the names directly under ``prefix`` (keys and pseudo-folders)."""
        base = prefix.rstrip("/")
        base = f"{base}/" if base else ""
        seen: set[str] = set()
        for key in self._keys():
            if key.startswith(base) and key != base:
                head = key[len(base) :].split("/", 1)[0]
                if head not in seen:
                    seen.add(head)
                    yield head

    async def getsize(self, key: str) -> int:
        """Size of one object in bytes."""
        if self._writer is not None:
            for path, size in self._writer.list(key):
                if path == key:
                    return size
            raise FileNotFoundError(key)
        if key not in self.listing():
            raise FileNotFoundError(key)
        try:
            return await asyncio.to_thread(self._size, key)
        except CapsaError:
            raise FileNotFoundError(key) from None
