"""Rebuilding the catalog from the ``_SUCCESS`` manifests alone.

The catalog is derived data: every row comes from one committed manifest. A
reindex lists the store's whole root (every namespace), decodes every marker
and makes the catalog hold exactly those rows. Rows of artifacts that are
gone are dropped, except rows committed after the scan started (a save that
finished during the scan is kept, whether or not the listing saw it).
"""

from __future__ import annotations

import datetime as _dt
import time
from typing import TYPE_CHECKING

import msgspec

from capsa.backends.concurrency import map_bounded
from capsa.catalog.records import CatalogRecord, record_from_manifest
from capsa.errors import CapsaError, ObjectNotFoundError
from capsa.store.keys import INTERNAL_PREFIX, MARKER
from capsa.store.manifest import decode_manifest

if TYPE_CHECKING:
    from capsa.catalog.base import Catalog
    from capsa.store.store import Store


class ReindexReport(msgspec.Struct, kw_only=True):
    """What a reindex did.

    :ivar catalog: where the catalog is.
    :ivar artifacts: rows written (committed artifacts found).
    :ivar removed: rows dropped (artifacts that are gone).
    :ivar unreadable: markers that did not decode (``capsa verify`` reports them).
    :ivar seconds: how long it took.
    """

    catalog: str
    artifacts: int = 0
    removed: int = 0
    unreadable: list[str] = msgspec.field(default_factory=list)
    seconds: float = 0.0


def _now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def scan(store: Store) -> tuple[list[CatalogRecord], list[str]]:
    """Records of every committed artifact in the store's root, and the unreadable markers."""
    backend = store.backend
    suffix = f"/{MARKER}"
    markers = [
        info.key
        for info in backend.list("")
        if info.key.endswith(suffix) and not info.key.startswith(f"{INTERNAL_PREFIX}/")
    ]

    def read(marker: str) -> CatalogRecord | str | None:
        full_key = marker[: -len(suffix)]
        try:
            manifest = decode_manifest(backend.get(marker), key=full_key)
        except ObjectNotFoundError:
            return None  # deleted since the listing
        except CapsaError:
            return marker
        return record_from_manifest(full_key, manifest, store.registry)

    records: list[CatalogRecord] = []
    unreadable: list[str] = []
    for item in map_bounded(read, markers, backend.io_concurrency):
        if isinstance(item, CatalogRecord):
            records.append(item)
        elif isinstance(item, str):
            unreadable.append(item)
    return records, unreadable


def reindex(catalog: Catalog, store: Store) -> ReindexReport:
    """Make ``catalog`` hold one row per committed artifact of ``store``'s root."""
    t0 = time.perf_counter()
    catalog.enable()  # commits from now on are recorded by their listeners
    started = _now_iso()
    records, unreadable = scan(store)
    removed = catalog._replace(records, started=started)
    return ReindexReport(
        catalog=catalog.location,
        artifacts=len(records),
        removed=removed,
        unreadable=unreadable,
        seconds=round(time.perf_counter() - t0, 3),
    )


__all__ = ["ReindexReport", "reindex", "scan"]
