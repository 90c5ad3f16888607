"""Spooling a format's output to learn its digest before it is stored.

A content-addressed object is named by the sha256 of its bytes, which are
known only once the format has written them all. A member stored by
reference is therefore written into a spool (memory up to
:data:`SPOOL_MEMORY`, then a temporary file), hashed on the way; the object
is then stored from the spool, or not at all when it already exists.
"""

from __future__ import annotations

import tempfile
from typing import IO, Any, BinaryIO, cast

from capsa.backends.base import ObjectWriter
from capsa.store.sink import HashingSink

SPOOL_MEMORY = 64 << 20
"""Bytes a spool keeps in memory before it moves to a temporary file."""


class _SpoolWriter(ObjectWriter):
    def __init__(self, file: IO[bytes]):
        self._file = file

    def write(self, data: bytes | bytearray | memoryview) -> int:
        return self._file.write(data)

    def commit(self) -> None:
        self._file.flush()

    def abort(self) -> None:
        self._file.close()


class Spool:
    """A temporary holder of one member's bytes; use it as a context manager.

    Write through :attr:`sink` (a hashing, non-seekable file like the one
    formats get when they write in place), then :meth:`finish` to learn the
    size and digest and rewind :attr:`file` for storing.
    """

    def __init__(self, memory_limit: int = SPOOL_MEMORY):
        self.file = cast(
            BinaryIO,
            tempfile.SpooledTemporaryFile(max_size=memory_limit, prefix="capsa-spool-"),  # noqa: SIM115
        )
        self._writer = _SpoolWriter(self.file)
        self.sink = HashingSink(self._writer)
        """Where the format writes."""
        self.size = 0
        """Bytes written (after :meth:`finish`)."""
        self.digest = ""
        """Their sha256 (after :meth:`finish`)."""

    def finish(self) -> None:
        """Close the sink, record size and digest, and rewind the spool."""
        self.sink.close()
        self.size = self.sink.size
        self.digest = self.sink.hexdigest()
        self._writer.commit()
        self.file.seek(0)

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: Any) -> None:
        if not self.sink.closed:
            self.sink.close()
        self.file.close()


__all__ = ["SPOOL_MEMORY", "Spool"]
