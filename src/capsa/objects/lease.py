"""The gc lease: a running object collection tells committing saves to wait.

``gc`` (when it deletes) writes ``.capsa/gc/<id>.lease`` before it reads the
pins and removes it after its last object deletion, refreshing it while it
works. A save that references objects checks, just before writing its
``_SUCCESS`` marker, that no live lease exists (waiting while one does) and
then that every object it references is still stored. So a ``gc`` that could
not see a save's pin has finished deleting before the save looks at its
objects, and the save fails cleanly instead of committing a dangling
reference. A lease not refreshed for :data:`LEASE_STALE_SECONDS` belongs to
a ``gc`` that died, and is ignored (and removed by the next ``gc``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from typing import TYPE_CHECKING

import msgspec

from capsa.store.keys import INTERNAL_PREFIX

if TYPE_CHECKING:
    from capsa.backends.base import Backend

LEASES_PREFIX = f"{INTERNAL_PREFIX}/gc"
"""Where gc leases live in a backend root."""

LEASE_SCHEMA = "capsa.gc-lease"
"""The ``schema`` field of a lease object."""

LEASE_VERSION = 1
"""The lease schema version this capsa writes."""

LEASE_REFRESH_SECONDS = 20.0
"""A running gc rewrites its lease at least this often."""

LEASE_STALE_SECONDS = 300.0
"""A lease not rewritten for this long belongs to a gc that died."""


class LeaseRecord(msgspec.Struct, kw_only=True):
    """What a lease object holds (for people looking at a stuck store).

    :ivar schema: :data:`LEASE_SCHEMA`.
    :ivar schema_version: :data:`LEASE_VERSION`.
    :ivar host: host of the gc.
    :ivar pid: process id of the gc.
    :ivar started: ``time.time()`` when the gc took the lease.
    """

    schema: str
    schema_version: int
    host: str
    pid: int
    started: float


class GcLease:
    """A lease held by one gc run; use it as a context manager."""

    def __init__(self, backend: Backend):
        self.backend = backend
        self.key = f"{LEASES_PREFIX}/{time.time_ns():x}-{uuid.uuid4().hex[:8]}.lease"
        """The lease object's key."""
        self._payload = msgspec.json.encode(
            LeaseRecord(
                schema=LEASE_SCHEMA,
                schema_version=LEASE_VERSION,
                host=socket.gethostname(),
                pid=os.getpid(),
                started=time.time(),
            )
        )
        self._written = 0.0

    def __enter__(self) -> GcLease:
        self.backend.put(self.key, self._payload, create_only=True)
        self._written = time.monotonic()
        return self

    def refresh(self) -> None:
        """Rewrite the lease when :data:`LEASE_REFRESH_SECONDS` have passed."""
        if time.monotonic() - self._written >= LEASE_REFRESH_SECONDS:
            self.backend.put(self.key, self._payload)
            self._written = time.monotonic()

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        with contextlib.suppress(Exception):
            self.backend.delete(self.key)


def live_leases(backend: Backend, *, now: float | None = None) -> list[str]:
    """Keys of the leases refreshed within :data:`LEASE_STALE_SECONDS`."""
    cutoff = (time.time() if now is None else now) - LEASE_STALE_SECONDS
    return [
        info.key
        for info in backend.list(LEASES_PREFIX + "/")
        if info.key.endswith(".lease") and info.mtime > cutoff
    ]


def wait_for_gc(backend: Backend, *, timeout: float = LEASE_STALE_SECONDS) -> bool:
    """Wait while a live gc lease exists; return True when none is left.

    Returns False when ``timeout`` seconds pass with a lease still live.
    """
    deadline = time.monotonic() + timeout
    delay = 0.02
    while live_leases(backend):
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 1.0)
    return True


__all__ = [
    "LEASES_PREFIX",
    "LEASE_REFRESH_SECONDS",
    "LEASE_STALE_SECONDS",
    "GcLease",
    "LeaseRecord",
    "live_leases",
    "wait_for_gc",
]
