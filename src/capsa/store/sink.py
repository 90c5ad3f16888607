"""The write side handed to formats: a sequential sink that hashes on the way.

sha256 runs on a helper thread while the calling thread writes the same
buffer (hashlib and file writes both release the GIL), so hashing overlaps
I/O instead of adding to it. The io contract holds: when ``write`` returns,
the caller may reuse its buffer.
"""

from __future__ import annotations

import hashlib
import io
import threading
from typing import Any

from capsa.backends.base import ObjectWriter

_OVERLAP_MIN = 1 << 18
"""Below this many bytes a write hashes inline: a thread hand-off costs more."""


class _Hasher(threading.Thread):
    """A long-lived worker that hashes buffers handed to it one at a time."""

    def __init__(self) -> None:
        super().__init__(name="capsa-sha256", daemon=True)
        self.digest = hashlib.sha256()
        self._job: memoryview | None = None
        self._stop = False
        self._have_job = threading.Condition()
        self._done = threading.Event()
        self._done.set()

    def submit(self, view: memoryview) -> None:
        self._done.clear()
        with self._have_job:
            self._job = view
            self._have_job.notify()

    def wait(self) -> None:
        self._done.wait()

    def close(self) -> None:
        with self._have_job:
            self._stop = True
            self._have_job.notify()

    def run(self) -> None:
        while True:
            with self._have_job:
                while self._job is None and not self._stop:
                    self._have_job.wait()
                if self._job is None:
                    return
                job, self._job = self._job, None
            self.digest.update(job)
            self._done.set()


class HashingSink(io.RawIOBase):
    """A write-only, non-seekable binary file over an :class:`ObjectWriter`.

    Tracks the byte count and the sha256 of everything written. Formats see
    it as ``sink``; ``tell`` works, ``seek`` raises ``io.UnsupportedOperation``
    (zipfile and friends then stream with data descriptors).
    """

    def __init__(self, writer: ObjectWriter):
        super().__init__()
        self._writer = writer
        self._size = 0
        self._hasher: _Hasher | None = None
        self._inline = hashlib.sha256()
        self._inline_used = False

    def writable(self) -> bool:
        """Writable."""
        return True

    def seekable(self) -> bool:
        """Not seekable: the bytes stream out as they come."""
        return False

    def tell(self) -> int:
        """Bytes written so far."""
        return self._size

    def write(self, data: Any) -> int:
        """Write ``data``, hashing it concurrently when it is large."""
        view = memoryview(data).cast("B")
        n = view.nbytes
        if n == 0:
            return 0
        if n >= _OVERLAP_MIN:
            if self._inline_used:
                # Keep one running digest: fold the inline prefix in first.
                self._ensure_hasher_from_inline()
            if self._hasher is None:
                self._hasher = _Hasher()
                self._hasher.start()
            self._hasher.submit(view)
            try:
                self._writer.write(view)
            finally:
                self._hasher.wait()
        else:
            if self._hasher is not None:
                self._hasher.digest.update(view)
            else:
                self._inline.update(view)
                self._inline_used = True
            self._writer.write(view)
        self._size += n
        return n

    def _ensure_hasher_from_inline(self) -> None:
        if self._hasher is None:
            self._hasher = _Hasher()
            self._hasher.digest = self._inline.copy()
            self._hasher.start()
        self._inline_used = False

    @property
    def size(self) -> int:
        """Bytes written."""
        return self._size

    def hexdigest(self) -> str:
        """The sha256 of everything written, as hex."""
        if self._hasher is not None:
            return self._hasher.digest.hexdigest()
        return self._inline.hexdigest()

    def close(self) -> None:
        """Stop the hashing thread (the object writer is committed by the store)."""
        if self._hasher is not None:
            self._hasher.close()
        super().close()
