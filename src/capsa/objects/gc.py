"""Collecting unreferenced objects: the object half of ``Store.gc``.

An object is garbage when no committed manifest references it, no live pin
names it, and it is older than the grace period. The referenced set is
derived from the ``_SUCCESS`` manifests alone, read during ``gc``'s own
listing of the store (the catalog's reference counts are derived data and
are not trusted for deletion).

The protocol with saves in flight (:mod:`capsa.objects.pins`,
:mod:`capsa.objects.lease`):

* a save pins an object before it looks for it or writes it, keeps its pins
  after its commit (``gc`` removes pins once older than the grace period),
  and just before writing its marker waits while a gc lease is live, then
  checks that each object it references is still stored;
* ``gc`` lists the store (markers give the referenced set), then takes a
  lease, then reads the pins, then deletes, then drops the lease.

A save whose marker the listing missed either pinned before the pins were
read (its objects are kept) or pinned after the lease was taken (it waits
for the lease, then sees any deletion and fails instead of committing).
"""

from __future__ import annotations

import time
import warnings
from typing import TYPE_CHECKING

from capsa.objects.lease import LEASE_STALE_SECONDS, LEASES_PREFIX, GcLease
from capsa.objects.pins import PINS_PREFIX, live_pins, parse_pin_key
from capsa.objects.store import OBJECTS_PREFIX, digest_of_key

if TYPE_CHECKING:
    from capsa.backends.base import Backend, ObjectInfo
    from capsa.store.manifest import Manifest


class ObjectGcWarning(UserWarning):
    """gc left objects alone because it could not tell which are referenced."""


class ObjectCollector:
    """Gathers what ``gc``'s listing shows about objects, pins and leases, then collects."""

    def __init__(self, backend: Backend, cutoff: float):
        self.backend = backend
        self.cutoff = cutoff
        """Objects and pins modified after this ``time.time()`` value are recent."""
        self.referenced: set[str] = set()
        """Digests referenced by committed manifests."""
        self.unreadable: list[str] = []
        """Markers that did not decode (their references are unknown)."""
        self._objects: list[tuple[str, str, int, float]] = []  # key, digest, size, mtime
        self.debris: list[tuple[str, int]] = []
        """Stale pins and leases: always removable."""

    def owns(self, info: ObjectInfo) -> bool:
        """Take the listed object when it is an object, a pin or a lease; else return False."""
        key = info.key
        if key.startswith(OBJECTS_PREFIX + "/"):
            digest = digest_of_key(key)
            if digest is not None:
                self._objects.append((key, digest, info.size, info.mtime))
            elif info.mtime <= self.cutoff:
                self.debris.append((key, info.size))  # a foreign or temporary file
            return True
        if key.startswith(PINS_PREFIX + "/"):
            if info.mtime <= self.cutoff or parse_pin_key(key) is None:
                self.debris.append((key, info.size))
            return True
        if key.startswith(LEASES_PREFIX + "/"):
            if info.mtime <= time.time() - LEASE_STALE_SECONDS:
                self.debris.append((key, info.size))
            return True
        return False

    def add_manifest(self, manifest: Manifest) -> None:
        """Record the objects a committed manifest references."""
        for record in manifest.members:
            if record.by_reference:
                self.referenced.add(str(record.object))

    def add_unreadable(self, marker_key: str) -> None:
        """Record a marker that does not decode: object deletion is then skipped."""
        self.unreadable.append(marker_key)

    def collect(self, *, dry_run: bool) -> tuple[list[tuple[str, int]], int]:
        """Return ``(garbage objects, recent unreferenced objects)``; delete unless ``dry_run``.

        Deleting takes a gc lease and reads the pins under it (see the module
        docs). With an unreadable marker, no object is deleted and an
        :class:`ObjectGcWarning` says why.
        """
        unreferenced = [o for o in self._objects if o[1] not in self.referenced]
        if not unreferenced:
            return [], 0
        if self.unreadable:
            warnings.warn(
                f"gc kept every unreferenced object: {len(self.unreadable)} marker(s) do not "
                f"decode (first: {self.unreadable[0]!r}), so what they reference is unknown; "
                "`capsa verify` reports them",
                ObjectGcWarning,
                stacklevel=3,
            )
            return [], len(unreferenced)
        if dry_run:
            return self._garbage(unreferenced, live_pins(self.backend, self.cutoff))
        with GcLease(self.backend) as lease:
            garbage, recent = self._garbage(unreferenced, live_pins(self.backend, self.cutoff))
            for key, _size in garbage:
                self.backend.delete(key)
                lease.refresh()
        return garbage, recent

    def _garbage(
        self, unreferenced: list[tuple[str, str, int, float]], pinned: set[str]
    ) -> tuple[list[tuple[str, int]], int]:
        garbage: list[tuple[str, int]] = []
        recent = 0
        for key, digest, size, mtime in unreferenced:
            if digest in pinned:
                continue
            if mtime > self.cutoff:
                recent += 1
            else:
                garbage.append((key, size))
        return garbage, recent


__all__ = ["ObjectCollector", "ObjectGcWarning"]
