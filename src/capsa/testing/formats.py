"""Doubles for testing a format plugin without a store.

A format writes into a sequential, non-seekable sink and reads from a
:class:`~capsa.formats.base.MemberSource`. :class:`StreamingSink` behaves
like the store's sink (and counts writes and seek attempts);
:class:`CountingSource` counts the bytes read through the files it opens, so
a test can prove a lazy or partial read touches only what it needs.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, BinaryIO, ClassVar

from capsa.formats.base import BytesSource


class StreamingSink(io.RawIOBase):
    """A write-only sink like the store's: ``write`` and ``tell`` work, seeking raises.

    :ivar writes: how many ``write`` calls it received.
    :ivar seek_calls: how many times something tried to seek.
    """

    def __init__(self) -> None:
        super().__init__()
        self._buf = bytearray()
        self.writes = 0
        self.seek_calls = 0

    def writable(self) -> bool:
        """Writable."""
        return True

    def seekable(self) -> bool:
        """Not seekable, like a stream to an object store."""
        return False

    def seek(self, offset: int, whence: int = 0) -> int:
        """Count the attempt and refuse."""
        self.seek_calls += 1
        raise io.UnsupportedOperation("seek on a streaming sink")

    def truncate(self, size: int | None = None) -> int:
        """Refuse."""
        raise io.UnsupportedOperation("truncate on a streaming sink")

    def tell(self) -> int:
        """Bytes written so far."""
        return len(self._buf)

    def write(self, data: Any) -> int:
        """Append ``data``."""
        view = memoryview(data).cast("B")
        self._buf += view
        self.writes += 1
        return view.nbytes

    def getvalue(self) -> bytes:
        """Everything written."""
        return bytes(self._buf)


class _CountingRaw(io.RawIOBase):
    def __init__(self, data: bytes, counter: list[int]):
        super().__init__()
        self._inner = io.BytesIO(data)
        self._counter = counter

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._inner.seek(offset, whence)

    def tell(self) -> int:
        return self._inner.tell()

    def readinto(self, buffer: Any) -> int:
        n = self._inner.readinto(buffer)
        self._counter[0] += n
        return n


class CountingSource(BytesSource):
    """A member source without a local path whose opened files count the bytes read.

    Subclasses may lower :attr:`buffer_size` so that what is counted stays
    close to what the format asked for.
    """

    buffer_size: ClassVar[int] = io.DEFAULT_BUFFER_SIZE
    """Buffer of the files :meth:`open` returns."""

    def __init__(self, data: bytes, *, name: str = "member", info: Mapping[str, Any] | None = None):
        super().__init__(data, name=name, info=info)
        self._counter = [0]
        self.opens = 0
        """How many times the member was opened."""

    @property
    def bytes_read(self) -> int:
        """Bytes read through every file opened so far."""
        return self._counter[0]

    def open(self) -> BinaryIO:
        """Open a counting, seekable file over the bytes."""
        self.opens += 1
        raw = _CountingRaw(self.read_bytes(), self._counter)
        return io.BufferedReader(raw, buffer_size=self.buffer_size)
