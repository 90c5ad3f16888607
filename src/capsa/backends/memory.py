"""The in-process ``memory://`` backend: object-store semantics, no rename."""

from __future__ import annotations

import _thread
import time
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from capsa.backends.base import Backend, ObjectInfo, PutData
from capsa.errors import ObjectExistsError, ObjectNotFoundError

_SPACES: dict[str, dict[str, tuple[bytes, float]]] = {}
_LOCK = _thread.allocate_lock()  # _thread: already loaded, unlike threading


class MemoryBackend(Backend):
    """Objects in a process-wide dict keyed by the URL's name.

    Two stores opened on ``memory://name`` in one process share their
    objects. Like an object store, it has no rename, so capsa commits on it
    with in-place members and a create-only ``_SUCCESS`` marker, the same
    protocol it uses on S3.
    """

    schemes: ClassVar[tuple[str, ...]] = ("memory",)
    description: ClassVar[str] = "in-process object store (tests, scratch)"

    def __init__(self, name: str):
        self.name = name
        self.url = f"memory://{name}"
        with _LOCK:
            self._objects = _SPACES.setdefault(name, {})

    @classmethod
    def from_url(cls, url: str, options: Mapping[str, Any]) -> MemoryBackend:
        """Open ``memory://name`` (``memory://`` alone is the space ``default``)."""
        name = url.split("://", 1)[1].strip("/") if "://" in url else url
        return cls(name or "default")

    @staticmethod
    def clear_all() -> None:
        """Drop every memory space in this process (tests)."""
        with _LOCK:
            for space in _SPACES.values():
                space.clear()

    def put(self, key: str, data: PutData, *, create_only: bool = False) -> None:
        """Store a copy of ``data``."""
        blob = bytes(data) if isinstance(data, bytes | bytearray | memoryview) else b"".join(data)
        with _LOCK:
            if create_only and key in self._objects:
                raise ObjectExistsError(f"object {key!r} already exists in {self.url}")
            self._objects[key] = (blob, time.time())

    def _get(self, key: str) -> tuple[bytes, float]:
        with _LOCK:
            try:
                return self._objects[key]
            except KeyError:
                raise ObjectNotFoundError(f"no object at {key!r} in {self.url}") from None

    def get(self, key: str) -> bytes:
        """Return the object."""
        return self._get(key)[0]

    def get_range(self, key: str, start: int, end: int) -> bytes:
        """Return a slice of the object."""
        return self._get(key)[0][start:end]

    def head(self, key: str) -> ObjectInfo:
        """Size and time of the object."""
        blob, mtime = self._get(key)
        return ObjectInfo(key=key, size=len(blob), mtime=mtime)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield objects under ``prefix`` in key order (a snapshot of the keys)."""
        with _LOCK:
            keys = sorted(k for k in self._objects if k.startswith(prefix))
        for key in keys:
            with _LOCK:
                item = self._objects.get(key)
            if item is not None:
                yield ObjectInfo(key=key, size=len(item[0]), mtime=item[1])

    def delete(self, key: str) -> None:
        """Remove the object if present."""
        with _LOCK:
            self._objects.pop(key, None)
