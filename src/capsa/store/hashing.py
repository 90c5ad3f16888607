"""Streaming sha256 of stored objects, with reading and hashing overlapped."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO

CHUNK = 8 << 20
"""Bytes per read while hashing (two buffers alternate)."""


def hash_stream(fh: BinaryIO, *, chunk: int = CHUNK) -> tuple[int, str]:
    """Return ``(size, sha256 hex)`` of everything left in ``fh``.

    Reads into one buffer while a worker thread hashes the other, so a fast
    disk and sha256 (both GIL-free) run at the same time. Memory is bounded by
    two chunks whatever the object's size.
    """
    digest = hashlib.sha256()
    buffers = [bytearray(chunk), bytearray(chunk)]
    size = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="capsa-verify") as pool:
        pending = None
        i = 0
        while True:
            buf = buffers[i]
            n = fh.readinto(buf)  # type: ignore[attr-defined]
            if pending is not None:
                pending.result()
            if not n:
                break
            size += n
            pending = pool.submit(digest.update, memoryview(buf)[:n])
            i ^= 1
    return size, digest.hexdigest()


def sha256_bytes(data: bytes | bytearray | memoryview) -> str:
    """Hex sha256 of a buffer."""
    return hashlib.sha256(data).hexdigest()
