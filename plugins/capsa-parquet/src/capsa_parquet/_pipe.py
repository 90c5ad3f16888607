"""A write-behind pipe between pyarrow's encoder and the store's sink.

pyarrow writes to a Python file object many small pieces (one per page) from
the thread that encodes. Handing each piece straight to the store's sink
would serialise encoding, sha256 and the disk write on one thread. The pipe
copies the pieces into a few reusable chunks of a few MiB and a worker thread
writes full chunks to the sink while pyarrow (which releases the GIL) encodes
the next ones. The sink then sees large writes, which it hashes concurrently
with the storage write. Memory is bounded by ``chunks * chunk_size``.
"""

from __future__ import annotations

import io
import queue
import threading
from typing import Any, BinaryIO

CHUNK_SIZE = 4 << 20
"""Bytes per chunk handed to the sink."""

CHUNKS = 4
"""Chunks in flight (bounds the pipe's memory to 16 MiB)."""


class WriteBehindPipe(io.RawIOBase):
    """A write-only, non-seekable file whose bytes reach ``sink`` from a worker thread.

    Call :meth:`finish` on success (it flushes, waits for the worker and
    re-raises the worker's error, with its original type) and :meth:`abort`
    on failure. ``close`` finishes unless aborted. ``tell`` counts the bytes
    accepted.
    """

    def __init__(self, sink: BinaryIO, *, chunk_size: int = CHUNK_SIZE, chunks: int = CHUNKS):
        super().__init__()
        self._sink = sink
        self._chunk_size = chunk_size
        self._free: queue.Queue[bytearray] = queue.Queue()
        self._full: queue.Queue[tuple[bytearray, int] | None] = queue.Queue()
        self._chunks = chunks
        self._made = 0
        self._current: bytearray | None = None
        self._fill = 0
        self._pos = 0
        self._worker: threading.Thread | None = None
        self._error: BaseException | None = None
        self._finished = False

    def writable(self) -> bool:
        """Writable."""
        return True

    def seekable(self) -> bool:
        """Not seekable."""
        return False

    def tell(self) -> int:
        """Bytes written so far."""
        return self._pos

    def _raise_worker_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _new_chunk(self) -> bytearray:
        if self._made < self._chunks:
            self._made += 1
            return bytearray(self._chunk_size)
        while True:
            try:
                return self._free.get(timeout=0.5)
            except queue.Empty:
                self._raise_worker_error()

    def _run(self) -> None:
        while True:
            item = self._full.get()
            if item is None:
                return
            chunk, n = item
            if self._error is None:
                try:
                    self._sink.write(memoryview(chunk)[:n])
                except BaseException as exc:
                    self._error = exc
            self._free.put(chunk)

    def _hand_off(self) -> None:
        if self._current is None or self._fill == 0:
            return
        if self._worker is None:
            self._worker = threading.Thread(
                target=self._run, name="capsa-parquet-pipe", daemon=True
            )
            self._worker.start()
        self._full.put((self._current, self._fill))
        self._current, self._fill = None, 0

    def write(self, data: Any) -> int:
        """Copy ``data`` into the current chunk, handing full chunks to the worker."""
        self._raise_worker_error()
        view = memoryview(data).cast("B")
        n = view.nbytes
        done = 0
        while done < n:
            if self._current is None:
                self._current = self._new_chunk()
                self._fill = 0
            take = min(n - done, self._chunk_size - self._fill)
            self._current[self._fill : self._fill + take] = view[done : done + take]
            self._fill += take
            done += take
            if self._fill == self._chunk_size:
                self._hand_off()
        self._pos += n
        return n

    def finish(self) -> None:
        """Write what is left and wait for the worker; raise its error if it failed."""
        if self._finished:
            self._raise_worker_error()
            return
        self._finished = True
        if self._worker is None:
            # Everything fitted in one chunk: write it from this thread.
            if self._current is not None and self._fill:
                self._sink.write(memoryview(self._current)[: self._fill])
            self._current = None
            return
        self._hand_off()
        self._full.put(None)
        self._worker.join()
        self._raise_worker_error()

    def abort(self) -> None:
        """Stop the worker without writing the rest (after a failure)."""
        self._finished = True
        self._current = None
        if self._worker is not None:
            self._error = self._error or RuntimeError("aborted")
            self._full.put(None)
            self._worker.join()

    def close(self) -> None:
        """Finish (unless aborted), then close; pyarrow may close its output itself."""
        try:
            if not self._finished and not self.closed:
                self.finish()
        finally:
            super().close()
