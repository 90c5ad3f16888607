"""The catalog interface: record commits, query them, export them, rebuild them.

Two implementations: :class:`~capsa.catalog.local.SqliteCatalog` (a local
store: one SQLite file in WAL mode) and
:class:`~capsa.catalog.objectstore.ObjectStoreCatalog` (object stores:
per-commit records plus compacted snapshots, queried through an in-memory
SQLite index). :func:`capsa.catalog.open_catalog` picks the right one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capsa.catalog.query import CatalogRow

if TYPE_CHECKING:
    from capsa.catalog.index import ObjectUsage, SqliteIndex
    from capsa.catalog.records import CatalogRecord
    from capsa.catalog.reindex import ReindexReport
    from capsa.store.store import Store


class Catalog(ABC):
    """Every committed artifact of one backend root, one row each."""

    location: str
    """Where the catalog lives (a file path or a URL prefix)."""

    namespace: str = ""
    """The namespace queries look at by default (the store's)."""

    store: Store | None = None
    """The store the catalog was opened for; a missing catalog is built from it on first query."""

    @abstractmethod
    def enabled(self, *, cached: bool = False) -> bool:
        """True when the catalog exists in the store (commits are then recorded)."""

    @abstractmethod
    def enable(self) -> None:
        """Create the catalog, empty, if it does not exist (:meth:`reindex` fills it)."""

    @abstractmethod
    def add(self, record: CatalogRecord) -> None:
        """Record one commit (what the commit listener calls)."""

    @abstractmethod
    def add_many(self, records: Iterable[CatalogRecord]) -> int:
        """Record many commits at once; return how many changed a row."""

    @abstractmethod
    def _index(self) -> SqliteIndex:
        """The SQL index of an existing catalog."""

    def index(self) -> SqliteIndex:
        """The SQL index queries run on (the file itself, or one built in memory).

        A catalog that does not exist yet is built first from the store's
        manifests (when the catalog was opened for a store).
        """
        if self.store is not None and not self.enabled():
            self.reindex(self.store)
        return self._index()

    @abstractmethod
    def _replace(self, records: list[CatalogRecord], *, started: str) -> int:
        """Make the catalog hold ``records`` (reindex); return how many stale rows went."""

    def reindex(self, store: Store) -> ReindexReport:
        """Rebuild the catalog from the ``_SUCCESS`` manifests of the store's whole root."""
        from capsa.catalog.reindex import reindex

        return reindex(self, store)

    # -- queries ----------------------------------------------------------------------

    def query(
        self,
        *,
        kind: str | None = None,
        where: Any = None,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
        prefix: str = "",
        namespace: str | None = None,
        all_namespaces: bool = False,
    ) -> list[CatalogRow]:
        """Rows of one kind matching every filter, ordered by a column or field, limited.

        :param kind: only artifacts of this kind.
        :param where: filters: a mapping (equality, ``{"status": "success"}``),
            or strings/:class:`~capsa.catalog.query.Filter` s (``"loss<0.5"``).
        :param order_by: a column (``created_at``, ``size`` ...) or a field
            (``loss``); rows without the field are left out.
        :param descending: largest first.
        :param limit: at most this many rows.
        :param prefix: only keys starting with this.
        :param namespace: the namespace to look in (default: the store's).
        :param all_namespaces: look in every namespace of the root.
        """
        return self.index().query(
            kind=kind,
            namespace=self._namespace(namespace, all_namespaces),
            prefix=prefix,
            where=where,
            order_by=order_by,
            descending=descending,
            limit=limit,
        )

    def _namespace(self, namespace: str | None, all_namespaces: bool) -> str | None:
        if all_namespaces:
            return None
        return self.namespace if namespace is None else namespace

    def rows(
        self, *, namespace: str | None = None, all_namespaces: bool = False
    ) -> Iterator[CatalogRow]:
        """Every row of the namespace (default: the store's), in key order."""
        return self.index().iter_rows(namespace=self._namespace(namespace, all_namespaces))

    def count(self, *, namespace: str | None = None, all_namespaces: bool = False) -> int:
        """How many rows the namespace has (default: the store's)."""
        return self.index().count(namespace=self._namespace(namespace, all_namespaces))

    def objects(self) -> list[ObjectUsage]:
        """Reference counts of the content-addressed objects, over the whole root."""
        return self.index().objects()

    def export(
        self,
        path: str | Path,
        rows: Iterable[CatalogRow] | None = None,
        *,
        format: str | None = None,
    ) -> int:
        """Write rows (default: every row of the namespace) to Parquet or CSV; return the count.

        The format comes from ``format`` (``"parquet"``/``"csv"``) or the file's
        extension. Parquet needs pyarrow (``pip install capsa-parquet``).
        """
        from capsa.catalog.export import export_format, export_rows, write_columns

        if rows is not None:
            return export_rows(rows, path, format=format)
        export_format(path, format)  # a bad target fails before the catalog is read
        return write_columns(self.index().columns(namespace=self.namespace), path, format=format)


__all__ = ["Catalog"]
