"""Content-addressed objects: identical bytes stored once, referenced by digest.

* :class:`ObjectStore` (``store.objects``) puts and reads objects under
  ``.capsa/objects/<2 hex>/<sha256>`` in any backend.
* ``store.save(..., by_reference=True)`` and ``Transaction.write(...,
  by_reference=True)`` store members as objects; the manifest records each
  digest (``MemberRecord.object``); ``load`` and ``verify`` read and re-hash
  the object.
* ``gc`` deletes objects no committed manifest references, after the grace
  period, never one a save in flight pinned (:mod:`capsa.objects.gc`).
* :func:`export_bundle` / :func:`import_bundle` move an artifact and its
  objects between stores as one verified file.

See ``docs/artifacts-and-outputs.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from capsa.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from capsa.objects.bundle import (
        BundleError,
        BundleIndex,
        BundleInfo,
        export_bundle,
        import_bundle,
        read_bundle_index,
    )
    from capsa.objects.store import OBJECTS_PREFIX, ObjectRef, ObjectStore, object_key

_LAZY = {
    "BundleError": "capsa.objects.bundle",
    "BundleIndex": "capsa.objects.bundle",
    "BundleInfo": "capsa.objects.bundle",
    "export_bundle": "capsa.objects.bundle",
    "import_bundle": "capsa.objects.bundle",
    "read_bundle_index": "capsa.objects.bundle",
    "OBJECTS_PREFIX": "capsa.objects.store",
    "ObjectRef": "capsa.objects.store",
    "ObjectStore": "capsa.objects.store",
    "object_key": "capsa.objects.store",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "OBJECTS_PREFIX",
    "BundleError",
    "BundleIndex",
    "BundleInfo",
    "ObjectRef",
    "ObjectStore",
    "export_bundle",
    "import_bundle",
    "object_key",
    "read_bundle_index",
]
