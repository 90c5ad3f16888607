"""The catalog's SQL engine: tables, upserts and queries on one SQLite connection.

Used on the local catalog file (:mod:`capsa.catalog.local`) and on an
in-memory database materialised from an object store's records
(:mod:`capsa.catalog.objectstore`). Tables::

    artifacts(id, full_key UNIQUE, key, namespace, kind, kind_version,
              created_at, txid, mode, size, fingerprint, status)
    fields(artifact, name, type, value)      -- one row per declared field
    object_refs(artifact, member, digest, size)

``fields.type`` is ``n`` (number), ``b`` (boolean, stored 0/1) or ``s``
(string); the index on ``(name, type, value)`` makes "top k by a metric" an
index walk that stops after k rows, whatever the catalog's size. An upsert
touches a constant number of B-tree entries: O(log n).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from capsa.catalog.errors import CatalogError, QueryError
from capsa.catalog.query import COLUMNS, CatalogRow, Filter, parse_where
from capsa.catalog.records import CatalogRecord, Scalar

if TYPE_CHECKING:
    from capsa.catalog.export import Columns

INDEX_SCHEMA = "capsa.catalog.sqlite"
"""Recorded in the ``catalog_info`` table of every catalog database."""

INDEX_VERSION = 1
"""The catalog database schema version this capsa writes and reads."""

_DDL = (
    "CREATE TABLE IF NOT EXISTS catalog_info(name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS artifacts(
        id INTEGER PRIMARY KEY,
        full_key TEXT NOT NULL UNIQUE,
        key TEXT NOT NULL,
        namespace TEXT NOT NULL,
        kind TEXT NOT NULL,
        kind_version INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        txid TEXT NOT NULL,
        mode TEXT NOT NULL,
        size INTEGER NOT NULL,
        fingerprint TEXT,
        status TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS artifacts_kind ON artifacts(namespace, kind, created_at)",
    """CREATE TABLE IF NOT EXISTS fields(
        artifact INTEGER NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL, value,
        PRIMARY KEY(artifact, name)) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS fields_value ON fields(name, type, value)",
    """CREATE TABLE IF NOT EXISTS object_refs(
        artifact INTEGER NOT NULL, member TEXT NOT NULL, digest TEXT NOT NULL,
        size INTEGER NOT NULL, PRIMARY KEY(artifact, member)) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS object_refs_digest ON object_refs(digest)",
)

_UPSERT = """
INSERT INTO artifacts(full_key, key, namespace, kind, kind_version, created_at, txid, mode,
                      size, fingerprint, status)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(full_key) DO UPDATE SET
    key = excluded.key, namespace = excluded.namespace, kind = excluded.kind,
    kind_version = excluded.kind_version, created_at = excluded.created_at,
    txid = excluded.txid, mode = excluded.mode, size = excluded.size,
    fingerprint = excluded.fingerprint, status = excluded.status
WHERE (excluded.created_at, excluded.txid) > (artifacts.created_at, artifacts.txid)
RETURNING id
"""

_SELECT = "SELECT a.id, " + ", ".join(f"a.{c}" for c in COLUMNS)


class ObjectUsage(msgspec.Struct, frozen=True, kw_only=True):
    """How many catalogued members reference one content-addressed object.

    :ivar digest: the object's sha256.
    :ivar size: its size in bytes.
    :ivar refs: members (over every artifact of the root) that reference it.
    """

    digest: str
    size: int
    refs: int


def _typed(value: Scalar) -> tuple[str, Scalar]:
    if isinstance(value, bool):
        return "b", int(value)
    if isinstance(value, int | float):
        return "n", value
    return "s", value


def _untyped(kind: str, value: Any) -> Scalar:
    return bool(value) if kind == "b" else value


class SqliteIndex:
    """Upserts and queries on one SQLite connection (thread-safe through a lock)."""

    def __init__(self, conn: sqlite3.Connection, *, source: str):
        self.conn = conn
        self.source = source
        """Where the database is (for messages)."""
        self.lock = threading.RLock()

    # -- schema ------------------------------------------------------------------------

    def create(self) -> None:
        """Create the tables when missing; refuse a database of another schema or a newer one."""
        with self.lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in _DDL:
                        self.conn.execute(statement)
                    info = dict(self.conn.execute("SELECT name, value FROM catalog_info"))
                    if not info:
                        self.conn.executemany(
                            "INSERT INTO catalog_info(name, value) VALUES (?, ?)",
                            [("schema", INDEX_SCHEMA), ("schema_version", str(INDEX_VERSION))],
                        )
                    self.conn.execute("COMMIT")
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
            except sqlite3.DatabaseError as exc:
                raise CatalogError(
                    f"catalog {self.source} cannot be opened: {exc} (it is derived data: "
                    "`capsa reindex` rebuilds it)"
                ) from None
        if info and (
            info.get("schema") != INDEX_SCHEMA
            or not info.get("schema_version", "").isdigit()
            or int(info["schema_version"]) > INDEX_VERSION
        ):
            raise CatalogError(
                f"catalog {self.source} has schema {info.get('schema')!r} version "
                f"{info.get('schema_version')!r}; this capsa reads {INDEX_SCHEMA} up to version "
                f"{INDEX_VERSION} (upgrade capsa, or `capsa reindex` to rebuild it)"
            )

    # -- writing -----------------------------------------------------------------------

    def _upsert(self, record: CatalogRecord) -> bool:
        row = self.conn.execute(
            _UPSERT,
            (
                record.full_key,
                record.key,
                record.namespace,
                record.kind,
                record.kind_version,
                record.created_at,
                record.txid,
                record.mode,
                record.size,
                record.fingerprint,
                record.status,
            ),
        ).fetchone()
        if row is None:
            return False  # the catalog already holds this commit or a newer one of the key
        artifact = row[0]
        self.conn.execute("DELETE FROM fields WHERE artifact = ?", (artifact,))
        if record.fields:
            self.conn.executemany(
                "INSERT INTO fields(artifact, name, type, value) VALUES (?, ?, ?, ?)",
                [(artifact, name, *_typed(value)) for name, value in record.fields.items()],
            )
        self.conn.execute("DELETE FROM object_refs WHERE artifact = ?", (artifact,))
        if record.objects:
            self.conn.executemany(
                "INSERT OR REPLACE INTO object_refs(artifact, member, digest, size) "
                "VALUES (?, ?, ?, ?)",
                [(artifact, o.member, o.digest, o.size) for o in record.objects],
            )
        return True

    def upsert(self, records: Iterable[CatalogRecord]) -> int:
        """Insert or update records in one transaction; return how many changed a row.

        A record older than the row already held for its key (by
        ``created_at``, then ``txid``) changes nothing.
        """
        changed = 0
        with self.lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    for record in records:
                        changed += self._upsert(record)
                    self.conn.execute("COMMIT")
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
            except sqlite3.DatabaseError as exc:
                raise CatalogError(f"catalog {self.source}: write failed: {exc}") from None
        return changed

    def drop_missing(self, present: set[str], *, committed_before: str) -> int:
        """Delete rows whose full key is not in ``present`` and that were committed before a time.

        Rows committed at or after ``committed_before`` (a UTC ISO time) may
        belong to saves that a scan missed and are kept.
        """
        with self.lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    stale = [
                        (artifact,)
                        for artifact, full_key in self.conn.execute(
                            "SELECT id, full_key FROM artifacts WHERE created_at < ?",
                            (committed_before,),
                        )
                        if full_key not in present
                    ]
                    for table in ("fields", "object_refs"):
                        self.conn.executemany(f"DELETE FROM {table} WHERE artifact = ?", stale)
                    self.conn.executemany("DELETE FROM artifacts WHERE id = ?", stale)
                    self.conn.execute("COMMIT")
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
            except sqlite3.DatabaseError as exc:
                raise CatalogError(f"catalog {self.source}: write failed: {exc}") from None
        return len(stale)

    # -- reading -----------------------------------------------------------------------

    def _field_type(self, name: str) -> str:
        """``n`` when the field has numeric values somewhere, else ``s`` (then ``b``)."""
        for kind in ("n", "s", "b"):
            row = self.conn.execute(
                "SELECT 1 FROM fields WHERE name = ? AND type = ? LIMIT 1", (name, kind)
            ).fetchone()
            if row is not None:
                return kind
        return "n"

    def query(
        self,
        *,
        kind: str | None = None,
        namespace: str | None = "",
        prefix: str = "",
        where: Any = None,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[CatalogRow]:
        """Rows matching every filter, ordered and limited (see ``Catalog.query``)."""
        filters = parse_where(where)
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            raise QueryError(f"limit must be a whole number >= 0, got {limit!r}")
        if order_by is not None and (not isinstance(order_by, str) or not order_by.strip()):
            raise QueryError(f"order_by must be a column or field name, got {order_by!r}")
        sql: list[str] = []
        params: list[Any] = []
        conditions: list[str] = []
        if order_by is not None and order_by not in COLUMNS:
            # Walk the (name, type, value) index in order; stop after `limit` matches.
            sql.append(f"{_SELECT} FROM fields o CROSS JOIN artifacts a ON a.id = o.artifact")
            conditions.append("o.name = ? AND o.type = ?")
            with self.lock:
                params += [order_by, self._field_type(order_by)]
            order = f"o.value {'DESC' if descending else 'ASC'}, a.full_key"
        else:
            sql.append(f"{_SELECT} FROM artifacts a")
            column = order_by or "full_key"
            order = f"a.{column} {'DESC' if descending else 'ASC'}, a.full_key"
        if namespace is not None:
            conditions.append("a.namespace = ?")
            params.append(namespace)
        if kind is not None:
            conditions.append("a.kind = ?")
            params.append(kind)
        if prefix:
            conditions.append("substr(a.key, 1, ?) = ?")
            params += [len(prefix), prefix]
        for condition in filters:
            text, values = _condition(condition)
            conditions.append(text)
            params += values
        if conditions:
            sql.append("WHERE " + " AND ".join(conditions))
        sql.append(f"ORDER BY {order}")
        if limit is not None:
            sql.append("LIMIT ?")
            params.append(limit)
        with self.lock:
            try:
                found = self.conn.execute(" ".join(sql), params).fetchall()
                return self._rows(found)
            except sqlite3.DatabaseError as exc:
                raise CatalogError(f"catalog {self.source}: query failed: {exc}") from None

    def _rows(self, found: Sequence[tuple[Any, ...]]) -> list[CatalogRow]:
        fields: dict[int, dict[str, Scalar]] = {row[0]: {} for row in found}
        ids = list(fields)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for artifact, name, kind, value in self.conn.execute(
                f"SELECT artifact, name, type, value FROM fields WHERE artifact IN ({marks})",
                chunk,
            ):
                fields[artifact][name] = _untyped(kind, value)
        return [_row(row, fields[row[0]]) for row in found]

    def iter_rows(self, *, namespace: str | None = None, batch: int = 5000) -> Iterator[CatalogRow]:
        """Every row (optionally of one namespace), in key order, in batches."""
        last = ""
        while True:
            with self.lock:
                conditions = ["a.full_key > ?"]
                params: list[Any] = [last]
                if namespace is not None:
                    conditions.append("a.namespace = ?")
                    params.append(namespace)
                found = self.conn.execute(
                    f"{_SELECT} FROM artifacts a WHERE {' AND '.join(conditions)} "
                    "ORDER BY a.full_key LIMIT ?",
                    [*params, batch],
                ).fetchall()
                rows = self._rows(found)
            if not rows:
                return
            yield from rows
            last = rows[-1].namespace + "/" + rows[-1].key if rows[-1].namespace else rows[-1].key

    def columns(self, *, namespace: str | None = None) -> Columns:
        """Every row (optionally of one namespace) as columns, in full-key order, in one pass.

        One scan of ``artifacts`` and one of ``fields``, placed by row position:
        no per-row query, no per-row object.
        """
        from capsa.catalog.export import Columns, field_type

        with self.lock:
            where, params = (
                ("WHERE a.namespace = ?", [namespace]) if namespace is not None else ("", [])
            )
            found = self.conn.execute(
                f"{_SELECT} FROM artifacts a {where} ORDER BY a.full_key", params
            ).fetchall()
            position = {row[0]: i for i, row in enumerate(found)}
            values: dict[str, list[Any]] = {}
            kinds: dict[str, set[str]] = {}
            for artifact, name, kind, value in self.conn.execute(
                "SELECT artifact, name, type, value FROM fields"
            ):
                at = position.get(artifact)
                if at is None:
                    continue
                column = values.get(name)
                if column is None:
                    column = values[name] = [None] * len(found)
                    kinds[name] = set()
                column[at] = bool(value) if kind == "b" else value
                kinds[name].add(kind)
        transposed = (
            list(zip(*found, strict=True)) if found else [() for _ in range(len(COLUMNS) + 1)]
        )
        columns: dict[str, list[Any]] = {
            name: list(transposed[i + 1]) for i, name in enumerate(COLUMNS)
        }
        types: dict[str, str] = {}
        for name, column in values.items():
            if name in columns:
                continue  # a column wins over a field of the same name
            columns[name] = column
            types[name] = field_type(column, kinds[name])
        return Columns(columns, types)

    def count(self, *, namespace: str | None = None) -> int:
        """How many rows (optionally of one namespace)."""
        with self.lock:
            if namespace is None:
                row = self.conn.execute("SELECT COUNT(*) FROM artifacts").fetchone()
            else:
                row = self.conn.execute(
                    "SELECT COUNT(*) FROM artifacts WHERE namespace = ?", (namespace,)
                ).fetchone()
        return int(row[0])

    def objects(self) -> list[ObjectUsage]:
        """Reference counts of every object referenced by a catalogued artifact."""
        with self.lock:
            return [
                ObjectUsage(digest=digest, size=size, refs=refs)
                for digest, size, refs in self.conn.execute(
                    "SELECT digest, MAX(size), COUNT(*) FROM object_refs GROUP BY digest "
                    "ORDER BY digest"
                )
            ]


def _row(row: tuple[Any, ...], fields: dict[str, Scalar]) -> CatalogRow:
    values = dict(zip(COLUMNS, row[1:], strict=True))
    return CatalogRow(**values, fields=fields)


def _condition(condition: Filter) -> tuple[str, list[Any]]:
    """SQL and parameters for one filter."""
    name, op, value = condition.name, condition.op, condition.value
    if name in COLUMNS:
        if value is None:
            return f"a.{name} IS {'' if op == '=' else 'NOT '}NULL", []
        if isinstance(value, bool):
            raise QueryError(f"filter on {name!r}: the column holds no booleans")
        return f"a.{name} {op} ?", [value]
    if value is None:
        exists = "EXISTS" if op == "!=" else "NOT EXISTS"
        return f"{exists}(SELECT 1 FROM fields f WHERE f.artifact = a.id AND f.name = ?)", [name]
    kind, stored = _typed(value)
    # Comparisons stay within one type: "loss < 0.5" never matches a string.
    return (
        "EXISTS(SELECT 1 FROM fields f WHERE f.artifact = a.id AND f.name = ? AND f.type = ? "
        f"AND f.value {op} ?)",
        [name, kind, stored],
    )


def open_memory_index(records: Iterable[CatalogRecord] = (), *, source: str) -> SqliteIndex:
    """An in-memory index holding ``records`` (queries over an object store's catalog)."""
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    index = SqliteIndex(conn, source=source)
    index.create()
    index.upsert(records)
    return index


__all__ = [
    "INDEX_SCHEMA",
    "INDEX_VERSION",
    "ObjectUsage",
    "SqliteIndex",
    "open_memory_index",
]
