"""gc of content-addressed objects: unreferenced ones go; referenced, recent, pinned stay."""

from __future__ import annotations

import threading
import time

import pytest
from core_helpers import all_object_keys
from objects_helpers import age, age_prefix

from capsa.errors import IntegrityError
from capsa.objects.gc import ObjectGcWarning
from capsa.objects.lease import LEASES_PREFIX, GcLease, live_leases
from capsa.objects.pins import PINS_PREFIX, parse_pin_key, pin_key
from capsa.objects.store import OBJECTS_PREFIX, object_key
from capsa.store.store import Store

HOUR = 3600.0


def _objects(store: Store) -> set[str]:
    return {k for k in all_object_keys(store) if k.startswith(OBJECTS_PREFIX + "/")}


def test_gc_deletes_old_unreferenced_objects_only(dev_store: Store) -> None:
    kept = dev_store.save("kept", "blob", b"referenced", by_reference=True)
    gone = dev_store.save("gone", "blob", b"orphan", by_reference=True)
    dev_store.delete("gone")
    recent = dev_store.objects.put(b"young orphan").digest
    age_prefix(dev_store, OBJECTS_PREFIX, 2 * HOUR)
    age(dev_store, object_key(recent), 1.0)
    age_prefix(dev_store, PINS_PREFIX, 2 * HOUR)  # the saves are long over
    orphan = object_key(gone.manifest.members[0].sha256)

    dry = dev_store.gc(dry_run=True, older_than=60)
    assert orphan in dry.objects and dev_store.backend.exists(orphan)
    assert dry.kept_recent == 1

    report = dev_store.gc(dry_run=False, older_than=60)
    assert orphan in report.objects
    assert not dev_store.backend.exists(orphan)
    assert object_key(kept.manifest.members[0].sha256) in _objects(dev_store)
    assert object_key(recent) in _objects(dev_store)
    assert not [k for k in all_object_keys(dev_store) if k.startswith(PINS_PREFIX + "/")]
    assert dev_store.verify().ok
    assert dev_store.gc(dry_run=True, older_than=60).objects == []


def test_a_fresh_pin_protects_an_old_unreferenced_object(dev_store: Store) -> None:
    ref = dev_store.save("a", "blob", b"weights", by_reference=True)
    dev_store.delete("a")
    digest = ref.manifest.members[0].sha256
    age(dev_store, object_key(digest), 2 * HOUR)
    age_prefix(dev_store, PINS_PREFIX, 2 * HOUR)
    with dev_store.transaction("b", "blob") as tx:
        tx.write("blob", b"weights", by_reference=True)  # reuses the old object, pins it first
        report = dev_store.gc(dry_run=False, older_than=60)
        assert object_key(digest) not in report.objects
    assert dev_store.load("b", verify=True)["blob"] == b"weights"


def test_a_save_whose_object_was_collected_fails_instead_of_committing(dev_store: Store) -> None:
    tx = dev_store.transaction("late", "blob")
    tx.write("blob", b"paused too long", by_reference=True)
    age_prefix(dev_store, OBJECTS_PREFIX, 2 * HOUR)
    age_prefix(dev_store, PINS_PREFIX, 2 * HOUR)  # paused for longer than the grace period
    dev_store.gc(dry_run=False, older_than=60)
    with pytest.raises(IntegrityError, match=r"removed from .* before the commit"):
        tx.commit()
    assert not dev_store.exists("late")


def test_a_commit_waits_while_a_gc_lease_is_live(dev_store: Store) -> None:
    tx = dev_store.transaction("waiting", "blob")
    record = tx.write("blob", b"in flight", by_reference=True)
    lease = GcLease(dev_store.backend).__enter__()
    assert live_leases(dev_store.backend) == [lease.key]
    outcome: list[BaseException | None] = []

    def commit() -> None:
        try:
            tx.commit()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=commit)
    thread.start()
    time.sleep(0.3)
    assert thread.is_alive() and not outcome  # waiting for the gc to finish
    dev_store.backend.delete(object_key(record.sha256))  # what that gc deleted
    lease.__exit__(None, None, None)
    thread.join(timeout=30)
    assert isinstance(outcome[0], IntegrityError)
    assert not dev_store.exists("waiting")


def test_stale_pins_and_leases_are_debris(dev_store: Store) -> None:
    dev_store.backend.put(pin_key("1-dead", "a" * 64), b"")
    dev_store.backend.put(f"{LEASES_PREFIX}/dead.lease", b"{}")
    dev_store.backend.put(f"{PINS_PREFIX}/not-a-pin", b"")
    age_prefix(dev_store, ".capsa/", 2 * HOUR)
    report = dev_store.gc(dry_run=False, older_than=60)
    assert set(report.objects) == {
        pin_key("1-dead", "a" * 64),
        f"{LEASES_PREFIX}/dead.lease",
        f"{PINS_PREFIX}/not-a-pin",
    }
    assert parse_pin_key(f"{PINS_PREFIX}/not-a-pin") is None


def test_an_unreadable_marker_stops_object_deletion(dev_store: Store) -> None:
    ref = dev_store.save("orphan", "blob", b"maybe referenced", by_reference=True)
    dev_store.delete("orphan")
    dev_store.save("broken", "json", {"a": 1})
    dev_store.backend.put(f"{dev_store._full('broken')}/_SUCCESS", b"{not json")
    age_prefix(dev_store, OBJECTS_PREFIX, 2 * HOUR)
    age_prefix(dev_store, PINS_PREFIX, 2 * HOUR)
    with pytest.warns(ObjectGcWarning, match=r"do not decode"):
        report = dev_store.gc(dry_run=False, older_than=60)
    assert object_key(ref.manifest.members[0].sha256) not in report.objects
    assert report.kept_recent >= 1


def test_an_aborted_save_drops_its_pins(dev_store: Store) -> None:
    with pytest.raises(RuntimeError), dev_store.transaction("x", "blob") as tx:
        tx.write("blob", b"never committed", by_reference=True)
        raise RuntimeError("step failed")
    assert not [k for k in all_object_keys(dev_store) if k.startswith(PINS_PREFIX + "/")]
    age_prefix(dev_store, OBJECTS_PREFIX, 2 * HOUR)
    assert len(dev_store.gc(dry_run=False, older_than=60).objects) == 1
    assert _objects(dev_store) == set()
