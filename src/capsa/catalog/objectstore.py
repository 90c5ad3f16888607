"""The catalog on object stores: per-commit records, compacted into snapshots.

There is no single mutable object that writers race on::

    .capsa/catalog/catalog.json              settings; its presence enables the catalog
    .capsa/catalog/records/<txid>.json       one per commit, create-only, never rewritten
    .capsa/catalog/snapshots/<seq>.json      compacted rows, create-only, seq = 1, 2, ...

* **Commit**: the listener puts the commit's record under its unique
  transaction id (a create-only put; two commits never share a name).
* **Read**: list the records first, then read the newest snapshot, then the
  records; a record is applied on top of the snapshot when it is newer than
  the row there (by ``created_at``, then ``txid``), so applying one twice
  changes nothing. A record that vanished between the listing and the read
  was compacted into a newer snapshot: the read starts again.
* **Compaction** (by readers once :data:`COMPACT_AFTER` records pile up, or
  :meth:`ObjectStoreCatalog.compact`): read as above, write snapshot
  ``seq + 1`` with a create-only put (of two compactors, one wins; the other
  stops), then delete the records it absorbed and snapshots older than
  ``seq``.
* **Reindex** writes a snapshot from the ``_SUCCESS`` manifests and deletes
  the records listed before it scanned.

It is opt-in per store (``capsa reindex``, or :meth:`enable`), because it
costs one small extra put per commit; once enabled, every process records
its commits (a process notices within :data:`ENABLED_CHECK_SECONDS`).
Queries run on an in-memory SQLite index built from the rows.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import re
import threading
import time
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING

import msgspec

from capsa.catalog.base import Catalog
from capsa.catalog.errors import CatalogError, CatalogWarning
from capsa.catalog.records import CatalogRecord, decode_record, encode_record
from capsa.errors import ObjectExistsError, ObjectNotFoundError
from capsa.store.keys import INTERNAL_PREFIX

if TYPE_CHECKING:
    from capsa.backends.base import Backend
    from capsa.catalog.index import SqliteIndex
    from capsa.store.store import Store

CATALOG_PREFIX = f"{INTERNAL_PREFIX}/catalog"
"""Where an object store keeps its catalog."""

SETTINGS_KEY = f"{CATALOG_PREFIX}/catalog.json"
RECORDS_PREFIX = f"{CATALOG_PREFIX}/records/"
SNAPSHOTS_PREFIX = f"{CATALOG_PREFIX}/snapshots/"

SETTINGS_SCHEMA = "capsa.catalog"
SNAPSHOT_SCHEMA = "capsa.catalog.snapshot"
SCHEMA_VERSION = 1
"""Version of the settings and snapshot schemas this capsa writes and reads."""

COMPACT_AFTER = 256
"""A read compacts when it finds at least this many records."""

ENABLED_CHECK_SECONDS = 5.0
"""How long a process trusts that a store's catalog is not enabled (and how long a
first :meth:`ObjectStoreCatalog.enable` waits before anything scans the store)."""

_SNAPSHOT = re.compile(r"^(\d{12})\.json$")


class CatalogSettings(msgspec.Struct, kw_only=True):
    """``catalog.json``: marks the catalog as enabled.

    :ivar schema: :data:`SETTINGS_SCHEMA`.
    :ivar schema_version: :data:`SCHEMA_VERSION`.
    :ivar created_at: when it was enabled (UTC ISO-8601).
    """

    schema: str = SETTINGS_SCHEMA
    schema_version: int = SCHEMA_VERSION
    created_at: str = ""


class Snapshot(msgspec.Struct, kw_only=True):
    """One compacted snapshot: the newest record of every artifact.

    :ivar schema: :data:`SNAPSHOT_SCHEMA`.
    :ivar schema_version: :data:`SCHEMA_VERSION`.
    :ivar seq: its sequence number (the name of the object).
    :ivar created_at: when it was written.
    :ivar records: the rows.
    """

    schema: str = SNAPSHOT_SCHEMA
    schema_version: int = SCHEMA_VERSION
    seq: int
    created_at: str
    records: list[CatalogRecord] = msgspec.field(default_factory=list)


_SNAPSHOT_DECODER = msgspec.json.Decoder(Snapshot)
_SETTINGS_DECODER = msgspec.json.Decoder(CatalogSettings)


def _now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _snapshot_key(seq: int) -> str:
    return f"{SNAPSHOTS_PREFIX}{seq:012d}.json"


def _innermost(backend: Backend) -> Backend:
    """The backend under any wrappers (the enabled probe needs no fault injection)."""
    from capsa.backends.wrapper import WrapperBackend

    while isinstance(backend, WrapperBackend):
        backend = backend.inner
    return backend


_enabled: dict[str, tuple[bool, float]] = {}
_enabled_lock = threading.Lock()


class _State(msgspec.Struct):
    seq: int
    rows: dict[str, CatalogRecord]
    records: list[str]  # record keys applied
    snapshots: list[int]


class ObjectStoreCatalog(Catalog):
    """The catalog of a store on an object store (see the module docs)."""

    def __init__(self, backend: Backend, *, namespace: str = "", store: Store | None = None):
        self.backend = backend
        self.location = backend.join(CATALOG_PREFIX)
        self.namespace = namespace
        self.store = store

    def __repr__(self) -> str:
        return f"<capsa.ObjectStoreCatalog {self.location!r}>"

    # -- enabling ---------------------------------------------------------------------

    def enabled(self, *, cached: bool = False) -> bool:
        """True when the catalog is enabled in this store (``catalog.json`` exists).

        With ``cached``, a negative answer is trusted for
        :data:`ENABLED_CHECK_SECONDS` (the commit listener asks on every commit).
        """
        url = self.backend.url
        if cached:
            with _enabled_lock:
                known = _enabled.get(url)
            if known is not None and (
                known[0] or time.monotonic() - known[1] < ENABLED_CHECK_SECONDS
            ):
                return known[0]
        try:
            raw = _innermost(self.backend).get(SETTINGS_KEY)
        except ObjectNotFoundError:
            found = False
        else:
            self._check_settings(raw)
            found = True
        with _enabled_lock:
            _enabled[url] = (found, time.monotonic())
        return found

    def _check_settings(self, raw: bytes) -> None:
        try:
            settings = _SETTINGS_DECODER.decode(raw)
        except msgspec.DecodeError as exc:
            raise CatalogError(
                f"catalog {self.location}: catalog.json is not valid: {exc}"
            ) from None
        if settings.schema != SETTINGS_SCHEMA or settings.schema_version > SCHEMA_VERSION:
            raise CatalogError(
                f"catalog {self.location}: catalog.json has schema {settings.schema!r} version "
                f"{settings.schema_version}; this capsa reads {SETTINGS_SCHEMA} up to "
                f"{SCHEMA_VERSION} (upgrade capsa)"
            )

    def enable(self) -> None:
        """Enable the catalog in this store (idempotent); commits are then recorded.

        A first enabling waits :data:`ENABLED_CHECK_SECONDS`, so that every
        process committing to the store has noticed before a reindex scans.
        """
        try:
            self.backend.put(
                SETTINGS_KEY,
                msgspec.json.encode(CatalogSettings(created_at=_now_iso())),
                create_only=True,
            )
        except ObjectExistsError:
            pass
        else:
            time.sleep(ENABLED_CHECK_SECONDS)
        with _enabled_lock:
            _enabled[self.backend.url] = (True, time.monotonic())

    # -- writing ----------------------------------------------------------------------

    def add(self, record: CatalogRecord) -> None:
        """Put the commit's record (``records/<txid>.json``, create-only)."""
        with contextlib.suppress(ObjectExistsError):  # the same commit recorded twice
            self.backend.put(
                f"{RECORDS_PREFIX}{record.txid}.json", encode_record(record), create_only=True
            )

    def add_many(self, records: Iterable[CatalogRecord]) -> int:
        """Put one record per commit; return how many."""
        count = 0
        for record in records:
            self.add(record)
            count += 1
        return count

    # -- reading ----------------------------------------------------------------------

    def _snapshots(self) -> list[int]:
        found = []
        for info in self.backend.list(SNAPSHOTS_PREFIX):
            match = _SNAPSHOT.match(info.key[len(SNAPSHOTS_PREFIX) :])
            if match:
                found.append(int(match.group(1)))
        return sorted(found)

    def _read_snapshot(self, seq: int) -> Snapshot:
        key = _snapshot_key(seq)
        raw = self.backend.get(key)  # ObjectNotFoundError: compacted away, start again
        try:
            snapshot = _SNAPSHOT_DECODER.decode(raw)
        except msgspec.DecodeError as exc:
            raise CatalogError(
                f"catalog snapshot {self.backend.join(key)} is not valid: {exc} "
                "(`capsa reindex` rebuilds the catalog)"
            ) from None
        if snapshot.schema != SNAPSHOT_SCHEMA or snapshot.schema_version > SCHEMA_VERSION:
            raise CatalogError(
                f"catalog snapshot {self.backend.join(key)} has schema {snapshot.schema!r} "
                f"version {snapshot.schema_version}; this capsa reads {SNAPSHOT_SCHEMA} up to "
                f"{SCHEMA_VERSION} (upgrade capsa)"
            )
        return snapshot

    def _load(self) -> _State:
        for _attempt in range(20):
            record_keys = [
                info.key for info in self.backend.list(RECORDS_PREFIX) if info.key.endswith(".json")
            ]
            snapshots = self._snapshots()
            try:
                rows: dict[str, CatalogRecord] = {}
                seq = 0
                if snapshots:
                    seq = snapshots[-1]
                    for record in self._read_snapshot(seq).records:
                        rows[record.full_key] = record
                for key in record_keys:
                    record = decode_record(self.backend.get(key), source=self.backend.join(key))
                    held = rows.get(record.full_key)
                    if held is None or record.newer_than(held):
                        rows[record.full_key] = record
            except ObjectNotFoundError:
                continue  # a compaction ran meanwhile: its snapshot holds what vanished
            return _State(seq=seq, rows=rows, records=record_keys, snapshots=snapshots)
        raise CatalogError(
            f"catalog {self.location}: records kept vanishing while being read "
            "(many compactions at once?); try again"
        )

    def records(self) -> list[CatalogRecord]:
        """The newest record of every artifact (compacting when records pile up)."""
        state = self._load()
        if len(state.records) >= COMPACT_AFTER:
            try:
                self._write(state, absorbed=state.records)
            except Exception as exc:  # a read-only credential, a transient error: read anyway
                warnings.warn(
                    f"capsa catalog {self.location}: compaction failed "
                    f"({type(exc).__name__}: {exc}); the rows are complete, reads stay slower",
                    CatalogWarning,
                    stacklevel=2,
                )
        return sorted(state.rows.values(), key=lambda r: r.full_key)

    def _index(self) -> SqliteIndex:
        """An in-memory index of the current rows."""
        from capsa.catalog.index import open_memory_index

        return open_memory_index(self.records(), source=self.location)

    # -- compaction -------------------------------------------------------------------

    def compact(self) -> int:
        """Fold the records into a new snapshot; return how many records it absorbed."""
        state = self._load()
        if not state.records:
            return 0
        return len(state.records) if self._write(state, absorbed=state.records) else 0

    def _write(self, state: _State, *, absorbed: list[str]) -> bool:
        """Write snapshot ``state.seq + 1``; then drop what it supersedes. False if another won."""
        seq = state.seq + 1
        snapshot = Snapshot(
            seq=seq,
            created_at=_now_iso(),
            records=sorted(state.rows.values(), key=lambda r: r.full_key),
        )
        try:
            self.backend.put(_snapshot_key(seq), msgspec.json.encode(snapshot), create_only=True)
        except ObjectExistsError:
            return False  # another compactor won; the records stay for the next one
        for key in absorbed:
            with contextlib.suppress(ObjectNotFoundError):
                self.backend.delete(key)
        for old in state.snapshots:
            if old < seq - 1:
                with contextlib.suppress(ObjectNotFoundError):
                    self.backend.delete(_snapshot_key(old))
        return True

    def _replace(self, records: list[CatalogRecord], *, started: str) -> int:
        # Records of commits before the scan are absorbed without being applied
        # (a deleted artifact's record must not bring it back); those of commits
        # during the scan are applied, since the scan may have missed them.
        self.enable()
        for _attempt in range(20):
            before = [
                info.key for info in self.backend.list(RECORDS_PREFIX) if info.key.endswith(".json")
            ]
            snapshots = self._snapshots()
            seq = snapshots[-1] if snapshots else 0
            rows = {r.full_key: r for r in records}
            try:
                previous = (
                    {r.full_key for r in self._read_snapshot(seq).records} if snapshots else set()
                )
            except CatalogError:
                previous = set()  # a damaged snapshot: replaced below
            except ObjectNotFoundError:
                continue  # a compaction ran meanwhile
            for key in before:
                try:
                    record = decode_record(self.backend.get(key), source=self.backend.join(key))
                except (ObjectNotFoundError, CatalogError):
                    continue  # compacted meanwhile, or unreadable: derived data, dropped
                previous.add(record.full_key)
                held = rows.get(record.full_key)
                if record.created_at >= started and (held is None or record.newer_than(held)):
                    rows[record.full_key] = record
            state = _State(seq=seq, rows=rows, records=before, snapshots=snapshots)
            if self._write(state, absorbed=before):
                return len(previous - set(rows))
        raise CatalogError(f"catalog {self.location}: could not write a snapshot; try again")


__all__ = [
    "CATALOG_PREFIX",
    "COMPACT_AFTER",
    "CatalogSettings",
    "ObjectStoreCatalog",
    "Snapshot",
]
