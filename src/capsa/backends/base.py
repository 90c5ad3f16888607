"""The storage-backend interface, shaped like an object store.

Keys are ``/``-separated strings relative to the backend's root, already
validated by the store. A backend stores opaque objects; everything about
artifacts (staging, markers, manifests) lives in :mod:`capsa.store`.
"""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

import msgspec

if TYPE_CHECKING:
    from pathlib import Path

PutData = bytes | bytearray | memoryview | Iterable[bytes]
"""What :meth:`Backend.put` accepts: a buffer or an iterable of chunks."""


class ObjectInfo(msgspec.Struct, frozen=True):
    """One listed object.

    :ivar key: key relative to the backend root.
    :ivar size: size in bytes.
    :ivar mtime: last-modified time, seconds since the epoch.
    """

    key: str
    size: int
    mtime: float


class ObjectWriter(ABC):
    """A streamed put: ``write`` chunks, then ``commit`` (or ``abort``).

    Nothing is visible at the key before :meth:`commit` returns. Writers are
    context managers: leaving the block with an exception aborts.
    """

    @abstractmethod
    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Append ``data``; return the number of bytes taken."""

    @abstractmethod
    def commit(self) -> None:
        """Make the object visible. Raises ``ObjectExistsError`` for a create-only put that lost."""

    @abstractmethod
    def abort(self) -> None:
        """Discard everything written; the key is untouched."""

    def __enter__(self) -> ObjectWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()


class BufferedObjectWriter(ObjectWriter):
    """Default streamed put: gathers the chunks, then one :meth:`Backend.put`."""

    def __init__(self, backend: Backend, key: str, *, create_only: bool):
        self._backend = backend
        self._key = key
        self._create_only = create_only
        self._chunks: list[bytes] = []
        self._done = False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Buffer a chunk (copied, so the caller may reuse its buffer)."""
        chunk = bytes(data)
        self._chunks.append(chunk)
        return len(chunk)

    def commit(self) -> None:
        """Put the gathered bytes."""
        if self._done:
            return
        self._done = True
        self._backend.put(self._key, b"".join(self._chunks), create_only=self._create_only)
        self._chunks.clear()

    def abort(self) -> None:
        """Drop the buffered bytes."""
        self._done = True
        self._chunks.clear()


class RangedReader(io.RawIOBase):
    """A seekable raw file over :meth:`Backend.get_range`, with adaptive read-ahead.

    Sparse reads (a parquet footer, then one column chunk) fetch little more
    than they ask for: the first read of a run fetches at least
    :attr:`MIN_READAHEAD` bytes. Each read that continues where the last
    fetch ended doubles the read-ahead, up to :attr:`MAX_READAHEAD`, so
    streaming a whole object (hashing it) takes few large requests. A seek
    elsewhere starts over small. The last fetched block is kept, so reads
    inside it cost no request.
    """

    MIN_READAHEAD = 64 << 10
    """Bytes fetched at least by the first read after a seek."""

    MAX_READAHEAD = 8 << 20
    """The most a single fetch reads ahead on sequential access."""

    def __init__(self, backend: Backend, key: str, size: int):
        super().__init__()
        self._backend = backend
        self._key = key
        self._size = size
        self._pos = 0
        self._block = b""
        self._block_start = 0
        self._window = self.MIN_READAHEAD

    def readable(self) -> bool:
        """Readable."""
        return True

    def seekable(self) -> bool:
        """Seekable."""
        return True

    def tell(self) -> int:
        """Current position."""
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move the position."""
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` from the cached block, or with one ranged get."""
        view = memoryview(buffer).cast("B")
        if self._pos >= self._size or len(view) == 0:
            return 0
        block_end = self._block_start + len(self._block)
        if not self._block_start <= self._pos < block_end:
            if self._pos == block_end and self._block:
                self._window = min(self._window * 2, self.MAX_READAHEAD)  # sequential
            else:
                self._window = self.MIN_READAHEAD
            end = min(self._size, self._pos + max(len(view), self._window))
            self._block = self._backend.get_range(self._key, self._pos, end)
            self._block_start = self._pos
            if not self._block:
                return 0
        offset = self._pos - self._block_start
        n = min(len(view), len(self._block) - offset)
        view[:n] = self._block[offset : offset + n]
        self._pos += n
        return n


class Backend(ABC):
    """Object-store shaped storage. Subclass it and register the class.

    Required: :meth:`put`, :meth:`get`, :meth:`get_range`, :meth:`head`,
    :meth:`list`, :meth:`delete`. Everything else has a default built on
    those. Errors: a missing key raises
    :class:`~capsa.errors.ObjectNotFoundError`; a create-only put that finds
    the key raises :class:`~capsa.errors.ObjectExistsError`.
    """

    schemes: ClassVar[tuple[str, ...]] = ()
    """URL schemes this backend serves (``("s3",)``)."""

    description: ClassVar[str] = ""
    """One line shown by ``capsa plugins``."""

    supports_rename: bool = False
    """True when :meth:`rename_prefix` is atomic (a local filesystem)."""

    can_fail_transiently: bool = False
    """True when operations may raise :class:`~capsa.errors.TransientError` (a network)."""

    retries_internally: bool = False
    """True when the backend already retries transient failures itself (obstore does).

    ``open_store`` wraps a backend that can fail transiently and does not retry
    internally in :class:`capsa.backends.retrying.RetryingBackend`.
    """

    io_concurrency: int = 1
    """How many requests capsa may run at once against this backend.

    Writing or reading many small objects (members of a bundle, files of a
    folder member, verification) runs that many calls in parallel threads
    (:func:`capsa.backends.concurrency.map_bounded`). 1, the default, keeps
    everything sequential: right for local disks, where the latency is low.
    Network backends set it from their options (capsa-cloud: ``concurrency``).
    """

    url: str
    """The URL the backend was opened on (its root)."""

    @classmethod
    @abstractmethod
    def from_url(cls, url: str, options: Mapping[str, Any]) -> Backend:
        """Open the backend rooted at ``url`` with config ``options``."""

    # -- required ----------------------------------------------------------

    @abstractmethod
    def put(self, key: str, data: PutData, *, create_only: bool = False) -> None:
        """Store ``data`` at ``key`` atomically (readers see old or new, never partial).

        With ``create_only=True`` the put fails with ``ObjectExistsError``
        when the key exists, atomically (``O_EXCL``/link locally,
        ``If-None-Match: *`` on object stores).
        """

    @abstractmethod
    def get(self, key: str) -> bytes:
        """Return the whole object."""

    @abstractmethod
    def get_range(self, key: str, start: int, end: int) -> bytes:
        """Return bytes ``[start, end)`` of the object (shorter at its end)."""

    @abstractmethod
    def head(self, key: str) -> ObjectInfo:
        """Return the object's info without reading it."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield every object whose key starts with ``prefix``, lazily (paginated)."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Delete one object; deleting a missing key is not an error."""

    # -- optional, with defaults ---------------------------------------------

    def get_hashed(self, key: str) -> tuple[bytes, str]:
        """Return the whole object and its sha256 (hex).

        The default hashes after the download; network backends override it
        to hash each chunk as it arrives, so a verified read costs about one
        download.
        """
        import hashlib

        data = self.get(key)
        return data, hashlib.sha256(data).hexdigest()

    def exists(self, key: str) -> bool:
        """Return True when an object is stored at ``key``."""
        from capsa.errors import ObjectNotFoundError

        try:
            self.head(key)
        except ObjectNotFoundError:
            return False
        return True

    def open_writer(self, key: str, *, create_only: bool = False) -> ObjectWriter:
        """Start a streamed put (default: buffer in memory, then :meth:`put`)."""
        return BufferedObjectWriter(self, key, create_only=create_only)

    def open_reader(self, key: str) -> BinaryIO:
        """Open the object as a seekable buffered file (default: ranged gets)."""
        size = self.head(key).size
        raw = RangedReader(self, key, size)
        return io.BufferedReader(raw, buffer_size=16 << 10)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix``; return how many."""
        keys = [info.key for info in self.list(prefix)]
        for key in keys:
            self.delete(key)
        return len(keys)

    def local_path(self, key: str) -> Path | None:
        """Return a local filesystem path for ``key`` when the backend has one."""
        return None

    def rename_prefix(self, src: str, dst: str, *, exchange: bool = False) -> None:
        """Atomically and durably move everything under ``src/`` to ``dst/``.

        Without ``exchange``: fails with ``ObjectExistsError`` when ``dst``
        exists (no-replace). With ``exchange``: atomically swaps ``src`` and an
        existing ``dst``. Only backends with ``supports_rename`` implement it.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot rename")

    def sync_prefix(self, prefix: str) -> None:  # noqa: B027 - optional, no-op by default
        """Make everything written under ``prefix`` durable; default no-op.

        Object stores need nothing: a completed put is durable.
        """

    def join(self, key: str) -> str:
        """Return the URL of ``key`` under this backend's root."""
        return f"{self.url.rstrip('/')}/{key}" if key else self.url
