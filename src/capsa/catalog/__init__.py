"""The catalog: one row per committed artifact, queryable, exportable, derived.

Every commit is recorded (key, kind, time, size, fingerprint, status, the
scalar fields its kind declares, the objects it references) by a commit
listener; queries filter and order those rows; exports write them to Parquet
or CSV; ``reindex`` rebuilds everything from the ``_SUCCESS`` manifests::

    from capsa.catalog import open_catalog

    catalog = open_catalog(store)
    best = catalog.query(kind="experiment.run", where={"status": "success"},
                         order_by="loss", limit=10)
    catalog.export("runs.parquet")

See ``docs/catalog.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from capsa.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from capsa.catalog.base import Catalog
    from capsa.catalog.errors import (
        CatalogError,
        CatalogWarning,
        ParquetUnavailableError,
        QueryError,
    )
    from capsa.catalog.index import ObjectUsage
    from capsa.catalog.local import SqliteCatalog
    from capsa.catalog.objectstore import ObjectStoreCatalog
    from capsa.catalog.open import catalog_for_backend, open_catalog
    from capsa.catalog.query import CatalogRow, Filter, parse_filter
    from capsa.catalog.records import CatalogRecord, ObjectUse, record_from_manifest
    from capsa.catalog.reindex import ReindexReport

_LAZY = {
    "Catalog": "capsa.catalog.base",
    "CatalogError": "capsa.catalog.errors",
    "CatalogWarning": "capsa.catalog.errors",
    "ParquetUnavailableError": "capsa.catalog.errors",
    "QueryError": "capsa.catalog.errors",
    "ObjectUsage": "capsa.catalog.index",
    "SqliteCatalog": "capsa.catalog.local",
    "ObjectStoreCatalog": "capsa.catalog.objectstore",
    "catalog_for_backend": "capsa.catalog.open",
    "open_catalog": "capsa.catalog.open",
    "CatalogRow": "capsa.catalog.query",
    "Filter": "capsa.catalog.query",
    "parse_filter": "capsa.catalog.query",
    "CatalogRecord": "capsa.catalog.records",
    "ObjectUse": "capsa.catalog.records",
    "record_from_manifest": "capsa.catalog.records",
    "ReindexReport": "capsa.catalog.reindex",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "Catalog",
    "CatalogError",
    "CatalogRecord",
    "CatalogRow",
    "CatalogWarning",
    "Filter",
    "ObjectStoreCatalog",
    "ObjectUsage",
    "ObjectUse",
    "ParquetUnavailableError",
    "QueryError",
    "ReindexReport",
    "SqliteCatalog",
    "catalog_for_backend",
    "open_catalog",
    "parse_filter",
    "record_from_manifest",
]
