"""Finding a store's catalog: SQLite on a local root, records on an object store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from capsa.catalog.local import CATALOG_FILE, SqliteCatalog
from capsa.catalog.objectstore import ObjectStoreCatalog

if TYPE_CHECKING:
    from capsa.backends.base import Backend
    from capsa.catalog.base import Catalog
    from capsa.store.store import Store


def catalog_for_backend(
    backend: Backend, *, namespace: str = "", store: Store | None = None
) -> Catalog:
    """The catalog of a backend root: SQLite when it has a local path, else object records."""
    path = backend.local_path(CATALOG_FILE)
    if path is not None:
        return SqliteCatalog(path, namespace=namespace, store=store)
    return ObjectStoreCatalog(backend, namespace=namespace, store=store)


def open_catalog(store: Store) -> Catalog:
    """The catalog of ``store``'s root; queries look at the store's namespace by default.

    On a local store it is ``<root>/.capsa/catalog.sqlite``; on an object
    store, records under ``.capsa/catalog/`` (:mod:`capsa.catalog.objectstore`).
    A store has no catalog until one is created: the first query builds it
    from the manifests (so does ``capsa reindex``), and from then on every
    commit, from any process, is recorded.
    """
    return catalog_for_backend(store.backend, namespace=store.namespace, store=store)


__all__ = ["catalog_for_backend", "open_catalog"]
