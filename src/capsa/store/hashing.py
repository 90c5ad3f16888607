"""Streaming sha256 of stored objects, with reading and hashing overlapped."""

from __future__ import annotations

import hashlib
import threading
from typing import BinaryIO

CHUNK = 8 << 20
"""Bytes per read while hashing (two buffers alternate)."""


def hash_stream(
    fh: BinaryIO, *, size_hint: int | None = None, chunk: int = CHUNK
) -> tuple[int, str]:
    """Return ``(size, sha256 hex)`` of everything left in ``fh``.

    Small objects (``size_hint`` below one chunk) are read and hashed in one
    go. Large ones are read into one buffer while a helper thread hashes the
    other, so disk reads and sha256 (both GIL-free) overlap. Memory stays
    bounded by two chunks whatever the object's size.
    """
    digest = hashlib.sha256()
    if size_hint is not None and size_hint < chunk:
        data = fh.read()
        digest.update(data)
        return len(data), digest.hexdigest()
    buffers = [bytearray(chunk), bytearray(chunk)]
    size = 0
    worker: threading.Thread | None = None
    i = 0
    while True:
        buf = buffers[i]
        n = fh.readinto(buf)  # type: ignore[attr-defined]
        if worker is not None:
            worker.join()
        if not n:
            break
        size += n
        view = memoryview(buf)[:n]
        worker = threading.Thread(target=digest.update, args=(view,), daemon=True)
        worker.start()
        i ^= 1
    return size, digest.hexdigest()


def sha256_bytes(data: bytes | bytearray | memoryview) -> str:
    """Hex sha256 of a buffer."""
    return hashlib.sha256(data).hexdigest()
