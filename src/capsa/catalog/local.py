"""The local catalog: one SQLite database in WAL mode, ``<root>/.capsa/catalog.sqlite``.

Every process that commits to the store upserts its record in a short write
transaction (``BEGIN IMMEDIATE``); SQLite's lock serialises writers across
processes and WAL lets readers run alongside. ``synchronous=NORMAL``: a
power cut may lose the last commits' records, never corrupt the file, and
the catalog is derived data that ``capsa reindex`` rebuilds from the
``_SUCCESS`` manifests.

One connection is kept per process and database file (reopened after a
fork, or when the file was deleted or replaced).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from capsa.catalog.base import Catalog
from capsa.catalog.errors import CatalogError
from capsa.catalog.index import SqliteIndex
from capsa.store.keys import INTERNAL_PREFIX

if TYPE_CHECKING:
    from capsa.catalog.records import CatalogRecord
    from capsa.store.store import Store

CATALOG_FILE = f"{INTERNAL_PREFIX}/catalog.sqlite"
"""Where a local store keeps its catalog, relative to the store root."""

BUSY_TIMEOUT_MS = 60_000
"""How long a writer waits for another process's write transaction."""

_cache: dict[str, tuple[int, tuple[int, int], SqliteIndex]] = {}  # path -> (pid, (dev, ino), index)
_cache_lock = threading.Lock()


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _open(path: Path) -> SqliteIndex:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
    except sqlite3.Error as exc:
        raise CatalogError(f"catalog {path} cannot be opened: {exc}") from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise CatalogError(
            f"catalog {path} cannot be opened: {exc} (it is derived data: `capsa reindex` "
            "rebuilds it)"
        ) from None
    if mode is None or str(mode[0]).lower() != "wal":
        conn.close()
        raise CatalogError(f"catalog {path}: the filesystem refuses SQLite's WAL mode")
    index = SqliteIndex(conn, source=str(path))
    try:
        index.create()
    except CatalogError:
        conn.close()
        raise
    return index


def index_for(path: Path) -> SqliteIndex:
    """The process's index on the database at ``path``, opened (and created) on first use."""
    key = str(path)
    pid = os.getpid()
    with _cache_lock:
        entry = _cache.get(key)
        ident = _identity(path)
        if entry is not None and entry[0] == pid and entry[1] == ident:
            return entry[2]
        if entry is not None and entry[0] == pid:
            with contextlib.suppress(Exception):
                entry[2].conn.close()
        index = _open(path)
        ident = _identity(path)
        assert ident is not None
        _cache[key] = (pid, ident, index)
        return index


def forget(path: Path) -> None:
    """Close and forget this process's connection to ``path`` (before deleting the file)."""
    with _cache_lock:
        entry = _cache.pop(str(path), None)
    if entry is not None and entry[0] == os.getpid():
        with contextlib.suppress(Exception):
            entry[2].conn.close()


class SqliteCatalog(Catalog):
    """The catalog of a local store (see the module docs)."""

    def __init__(
        self, path: str | os.PathLike[str], *, namespace: str = "", store: Store | None = None
    ):
        self.path = Path(path)
        """The database file."""
        self.location = str(self.path)
        self.namespace = namespace
        self.store = store

    def __repr__(self) -> str:
        return f"<capsa.SqliteCatalog {self.location!r}>"

    def enabled(self, *, cached: bool = False) -> bool:
        """True when the database file exists."""
        return self.path.is_file()

    def enable(self) -> None:
        """Create the database (empty) when it does not exist."""
        if not self.path.is_file():
            index_for(self.path)

    def _index(self) -> SqliteIndex:
        return index_for(self.path)

    def add(self, record: CatalogRecord) -> None:
        """Upsert one record in its own transaction."""
        self._index().upsert([record])

    def add_many(self, records: Iterable[CatalogRecord]) -> int:
        """Upsert many records in one transaction."""
        return self._index().upsert(records)

    def _replace(self, records: list[CatalogRecord], *, started: str) -> int:
        try:
            index = self._index()
        except CatalogError:
            # A corrupt file: it is derived data, start again from nothing.
            self.destroy()
            index = self._index()
        index.upsert(records)
        return index.drop_missing({r.full_key for r in records}, committed_before=started)

    def destroy(self) -> None:
        """Delete the database file (and its WAL); the next use starts an empty one."""
        forget(self.path)
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.path}{suffix}")


__all__ = ["CATALOG_FILE", "SqliteCatalog", "forget", "index_for"]
