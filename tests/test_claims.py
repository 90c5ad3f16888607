"""The marker protocol's claim: long saves keep it, stalled ones lose it, races stop early."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

import capsa
from capsa.errors import ArtifactExistsError
from capsa.store.keys import CLAIM


@pytest.fixture
def store() -> Iterator[capsa.Store]:
    store = capsa.open_store(f"memory://claims-{time.time_ns()}", mode="production")
    store.gc_grace_seconds = 0.4
    yield store


def _keys(store: capsa.Store) -> list[str]:
    return [info.key for info in store.backend.list("")]


def test_a_long_save_that_keeps_writing_keeps_its_members_through_gc(store: capsa.Store) -> None:
    with store.transaction("trace", "bundle") as tx:
        tx.write("first.txt", "written early")
        time.sleep(0.5)  # the member is now older than the grace period
        tx.write("second.txt", "written late")  # refreshes the claim on the way
        report = store.gc(dry_run=False)
        assert report.objects == []
        assert report.kept_recent >= 2
    loaded = store.load("trace", verify=True)
    assert loaded["first.txt"] == "written early"
    assert loaded["second.txt"] == "written late"


def test_a_stalled_save_loses_its_claim_and_commits_nothing(store: capsa.Store) -> None:
    tx = store.transaction("model", "bundle")
    tx.write("weights.bin", b"\x01" * 100)
    time.sleep(0.5)
    collected = store.gc(dry_run=False)
    assert f"model/{CLAIM}" in collected.objects
    with pytest.raises(ArtifactExistsError, match=r"lost its claim"):
        tx.commit()
    assert not store.exists("model")
    assert _keys(store) == []


def test_a_stalled_save_never_harms_the_save_that_took_the_key(store: capsa.Store) -> None:
    tx = store.transaction("model", "bundle")
    tx.write("weights.bin", b"\x01" * 100)
    time.sleep(0.5)
    store.gc(dry_run=False)
    store.save("model", "bundle", {"weights.bin": b"\x02" * 100})
    with pytest.raises(ArtifactExistsError, match=r"lost its claim"):
        tx.write("more.bin", b"\x03")  # noticed at the next refresh
    with pytest.raises(ArtifactExistsError):
        tx.commit()
    assert store.verify("model").ok
    assert store.load("model")["weights.bin"] == b"\x02" * 100


def test_a_save_committed_between_listing_and_claim_stops_the_late_writer(
    store: capsa.Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = store.backend
    real_put = type(backend).put
    raced = {"done": False}

    def put(self: Any, key: str, data: Any, *, create_only: bool = False) -> None:
        if key.endswith(f"/{CLAIM}") and not raced["done"]:
            # Just before the late writer claims, a whole racing save runs.
            raced["done"] = True
            store.save("k", "bundle", {"who.txt": "winner"})
        real_put(self, key, data, create_only=create_only)

    monkeypatch.setattr(type(backend), "put", put)
    with pytest.raises(ArtifactExistsError, match=r"already exists"):
        store.save("k", "bundle", {"who.txt": "late"})
    monkeypatch.undo()
    assert store.load("k", verify=True)["who.txt"] == "winner"
    assert f"k/{CLAIM}" not in _keys(store)


def test_gc_collects_old_claims_and_their_members(store: capsa.Store) -> None:
    tx = store.transaction("crashed", "bundle")
    tx.write("part.txt", "never committed")
    del tx  # a crash: no abort
    assert store.gc(dry_run=False).objects == []  # still fresh
    time.sleep(0.5)
    report = store.gc(dry_run=False)
    assert sorted(report.objects) == [f"crashed/{CLAIM}", "crashed/part.txt"]
    assert _keys(store) == []
