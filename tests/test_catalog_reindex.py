"""The catalog is derived: recorded at every commit, rebuilt from the manifests alone."""

from __future__ import annotations

import uuid
import warnings
from pathlib import Path

import msgspec
import pytest
from catalog_helpers import save_run
from core_helpers import all_object_keys

import capsa
from capsa.catalog import CatalogError, CatalogWarning, objectstore, open_catalog
from capsa.catalog.listener import record_commit
from capsa.catalog.local import CATALOG_FILE
from capsa.catalog.objectstore import (
    RECORDS_PREFIX,
    SETTINGS_KEY,
    SNAPSHOTS_PREFIX,
    ObjectStoreCatalog,
)
from capsa.store.events import CommitEvent
from capsa.store.store import Store


@pytest.fixture(autouse=True)
def _no_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(objectstore, "ENABLED_CHECK_SECONDS", 0.0)


def rows(store: Store) -> list[dict[str, object]]:
    return [msgspec.to_builtins(r) for r in open_catalog(store).query(all_namespaces=True)]


def populate(store: Store) -> None:
    for i in range(6):
        save_run(store, f"grid/run{i}", loss=i / 10, by_reference=i % 2 == 0)
    store.save("notes/readme", "text", "hello", meta={"status": "draft"})


def test_every_commit_is_recorded_once_the_catalog_exists(store: Store) -> None:
    save_run(store, "before/run", loss=0.5)
    catalog = open_catalog(store)
    assert not catalog.enabled()
    assert [r.key for r in catalog.query()] == ["before/run"]  # the first query builds it
    assert catalog.enabled()
    save_run(store, "after/run", loss=0.1)
    assert [r.key for r in catalog.query(order_by="loss")] == ["after/run", "before/run"]


def test_reindex_after_the_catalog_is_deleted_gives_the_same_rows(store: Store) -> None:
    catalog = open_catalog(store)
    catalog.enable()
    populate(store)
    before = rows(store)
    assert len(before) == 7
    if isinstance(catalog, ObjectStoreCatalog):
        store.backend.delete_prefix(".capsa/catalog/")
    else:
        catalog.destroy()
    assert not catalog.enabled()
    report = catalog.reindex(store)
    assert (report.artifacts, report.removed, report.unreadable) == (7, 0, [])
    assert rows(store) == before


def test_reindex_drops_deleted_artifacts_and_adds_missed_ones(dev_store: Store) -> None:
    catalog = open_catalog(dev_store)
    catalog.enable()
    populate(dev_store)
    dev_store.delete("grid/run0")
    assert "grid/run0" in {r.key for r in catalog.query()}  # deletes are not events
    report = catalog.reindex(dev_store)
    assert report.removed == 1
    assert "grid/run0" not in {r.key for r in catalog.query()}


def test_a_broken_catalog_never_fails_a_save_and_reindex_repairs_it(tmp_path: Path) -> None:
    store = capsa.open_store(str(tmp_path / "s"))
    catalog = open_catalog(store)
    catalog.enable()
    save_run(store, "a", loss=0.1)
    catalog.destroy()
    (tmp_path / "s" / CATALOG_FILE).write_bytes(b"this is not a database" * 100)
    with pytest.warns(CatalogWarning, match=r"'b' .* was not recorded .*capsa reindex"):
        save_run(store, "b", loss=0.2)
    assert store.load("b", verify=True).meta["status"] == "success"
    with pytest.raises(CatalogError, match=r"capsa reindex"):
        catalog.query()
    report = catalog.reindex(store)
    assert report.artifacts == 2
    assert [r.key for r in catalog.query(order_by="loss")] == ["a", "b"]


def test_a_marker_that_does_not_decode_is_reported(store: Store) -> None:
    populate(store)
    store.backend.put("broken/_SUCCESS", b"{")
    report = open_catalog(store).reindex(store)
    assert report.unreadable == ["broken/_SUCCESS"] and report.artifacts == 7


def test_an_older_record_never_replaces_a_newer_row(dev_store: Store) -> None:
    catalog = open_catalog(dev_store)
    catalog.enable()
    first = save_run(dev_store, "k", loss=0.9)
    save_run(dev_store, "k", loss=0.1)
    event = CommitEvent(
        store_url=dev_store.url,
        key="k",
        full_key=first.full_key,
        url=first.url,
        mode=dev_store.mode,
        manifest=first.manifest,
    )
    assert record_commit(event)  # replayed late: changes nothing
    [row] = catalog.query()
    assert row.fields["loss"] == 0.1


def test_stores_without_a_catalog_get_no_catalog_writes() -> None:
    store = capsa.open_store(f"memory://nocat-{uuid.uuid4().hex[:6]}")
    save_run(store, "a", loss=0.3)
    assert not [k for k in all_object_keys(store) if k.startswith(".capsa/catalog")]


def test_a_listener_failure_warns(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    open_catalog(store).enable()

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(type(open_catalog(store)), "add", boom)
    with pytest.warns(CatalogWarning, match=r"disk full"):
        save_run(store, "a", loss=0.3)
    assert store.exists("a")


# -- the object-store design ------------------------------------------------------------


@pytest.fixture
def memory() -> Store:
    return capsa.open_store(f"memory://catalog-{uuid.uuid4().hex[:8]}")


def test_object_stores_write_one_record_per_commit(memory: Store) -> None:
    catalog = open_catalog(memory)
    assert isinstance(catalog, ObjectStoreCatalog)
    catalog.enable()
    assert memory.backend.exists(SETTINGS_KEY)
    populate(memory)
    records = [k for k in all_object_keys(memory) if k.startswith(RECORDS_PREFIX)]
    txids = sorted(info.manifest.txid for info in [memory.load(i.key) for i in memory.list()])
    assert sorted(r[len(RECORDS_PREFIX) : -len(".json")] for r in records) == txids
    assert [r.key for r in catalog.query(order_by="loss", limit=2)] == ["grid/run0", "grid/run1"]


def test_compaction_folds_records_into_a_snapshot(
    memory: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = open_catalog(memory)
    catalog.enable()
    populate(memory)
    expected = rows(memory)
    assert catalog.compact() == 7
    assert not [k for k in all_object_keys(memory) if k.startswith(RECORDS_PREFIX)]
    assert [k for k in all_object_keys(memory) if k.startswith(SNAPSHOTS_PREFIX)] == [
        f"{SNAPSHOTS_PREFIX}000000000001.json"
    ]
    assert rows(memory) == expected
    save_run(memory, "grid/run9", loss=-0.5)  # a record on top of the snapshot
    assert [r.key for r in catalog.query(order_by="loss", limit=1)] == ["grid/run9"]
    monkeypatch.setattr(objectstore, "COMPACT_AFTER", 1)
    catalog.query()  # a reader compacts once records pile up
    assert sorted(k for k in all_object_keys(memory) if k.startswith(SNAPSHOTS_PREFIX)) == [
        f"{SNAPSHOTS_PREFIX}000000000001.json",
        f"{SNAPSHOTS_PREFIX}000000000002.json",
    ]
    for _ in range(2):
        save_run(memory, f"grid/more{_}", loss=1.0)
        catalog.query()
    snapshots = sorted(k for k in all_object_keys(memory) if k.startswith(SNAPSHOTS_PREFIX))
    assert len(snapshots) == 2 and snapshots[-1].endswith("000000000004.json")  # old ones go
    assert len(catalog.query()) == 10


def test_a_losing_compactor_changes_nothing(memory: Store) -> None:
    catalog = open_catalog(memory)
    catalog.enable()
    populate(memory)
    state = catalog._load()
    memory.backend.put(f"{SNAPSHOTS_PREFIX}000000000001.json", b"")  # another compactor won
    assert not catalog._write(state, absorbed=state.records)
    assert len([k for k in all_object_keys(memory) if k.startswith(RECORDS_PREFIX)]) == 7


def test_object_store_reindex(memory: Store) -> None:
    catalog = open_catalog(memory)
    catalog.enable()
    populate(memory)
    before = rows(memory)
    memory.backend.delete_prefix(".capsa/catalog/")
    assert catalog.reindex(memory).artifacts == 7
    assert rows(memory) == before
    assert not [k for k in all_object_keys(memory) if k.startswith(RECORDS_PREFIX)]


def test_corrupt_object_store_catalog_files(memory: Store) -> None:
    catalog = open_catalog(memory)
    memory.backend.put(SETTINGS_KEY, b"{bad")
    with pytest.raises(CatalogError, match=r"catalog.json is not valid"):
        catalog.enabled()
    memory.backend.put(SETTINGS_KEY, b'{"schema": "capsa.catalog", "schema_version": 7}')
    with pytest.raises(CatalogError, match=r"upgrade capsa"):
        catalog.enabled()
    memory.backend.delete(SETTINGS_KEY)
    catalog.enable()
    memory.backend.put(f"{SNAPSHOTS_PREFIX}000000000001.json", b"[]")
    with pytest.raises(CatalogError, match=r"capsa reindex"):
        catalog.query()
    memory.backend.put(f"{RECORDS_PREFIX}x.json", b"nope")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert catalog.reindex(memory).artifacts == 0  # rebuilt; the bad files are gone
    assert catalog.query() == []


def test_a_failed_compaction_still_answers_the_query(
    memory: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = open_catalog(memory)
    catalog.enable()
    populate(memory)
    monkeypatch.setattr(objectstore, "COMPACT_AFTER", 1)

    def refuse(*args: object, **kwargs: object) -> bool:
        raise PermissionError("read-only credentials")

    monkeypatch.setattr(ObjectStoreCatalog, "_write", refuse)
    with pytest.warns(CatalogWarning, match=r"compaction failed .*read-only"):
        assert len(catalog.query()) == 7
