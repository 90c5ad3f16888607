"""Transactions (member-by-member writes) and directory members."""

from __future__ import annotations

import pytest
from core_helpers import all_object_keys

import capsa
from capsa.errors import (
    ArtifactExistsError,
    CapsaError,
    IntegrityError,
    InvalidKeyError,
    ValidationError,
)
from capsa.store.store import Store


def test_transaction_commits_only_at_the_end(store: Store) -> None:
    with store.transaction("run/1", "bundle", meta={"seed": 1}) as tx:
        tx.write("config.json", {"lr": 0.1})
        assert not store.exists("run/1")  # nothing visible yet
        tx.write("log.txt", "step 1\n")
        tx.meta["steps"] = 1
    art = store.load("run/1", verify=True)
    assert art["config.json"] == {"lr": 0.1} and art["log.txt"] == "step 1\n"
    assert art.meta == {"seed": 1, "steps": 1}
    assert art.manifest.txid == tx.txid


def test_exception_aborts_and_leaves_nothing(store: Store) -> None:
    with (
        pytest.raises(RuntimeError, match="training diverged"),
        store.transaction("run/2", "bundle") as tx,
    ):
        tx.write("config.json", {"lr": 10.0})
        raise RuntimeError("training diverged")
    assert not store.exists("run/2")
    assert all_object_keys(store) == []


def test_transaction_checks_required_members_at_commit(store: Store) -> None:
    tx = store.transaction("m", "json")
    with pytest.raises(ValidationError, match="required member"):
        tx.commit()
    assert all_object_keys(store) == []
    with pytest.raises(CapsaError, match="already aborted"):
        tx.write("data", {})


def test_transaction_refuses_unknown_members_and_bad_values(store: Store) -> None:
    with store.transaction("m", "json") as tx:
        with pytest.raises(ValidationError, match="no member 'other'"):
            tx.write("other", {})
        with pytest.raises(ValidationError, match="NaN"):
            tx.write("data", {"x": float("nan")})
        tx.write("data", {"x": 1})
        with pytest.raises(ValidationError, match="written twice"):
            tx.write("data", {"x": 2})
    assert store.load("m")["data"] == {"x": 1}


def test_production_transaction_fails_fast_on_a_taken_key(store: Store) -> None:
    store.save("k", "json", {})
    with pytest.raises(ArtifactExistsError):
        store.transaction("k", "json")


def test_racing_transactions_on_an_object_store_fail_at_the_claim() -> None:
    store = capsa.open_store("memory://claims")
    first = store.transaction("k", "bundle")
    with pytest.raises(ArtifactExistsError, match="being written by another save"):
        store.transaction("k", "bundle")
    first.write("a.txt", "a")
    first.commit()
    assert store.load("k")["a.txt"] == "a"
    assert [k for k in all_object_keys(store) if k.startswith("k/")] == ["k/_SUCCESS", "k/a.txt"]


def test_crashed_claim_is_debris_for_gc() -> None:
    store = capsa.open_store("memory://stale-claim")
    tx = store.transaction("k", "bundle")
    tx.write("a.txt", "a")
    del tx  # the process "dies": no commit, no abort
    report = store.gc(dry_run=False, older_than=0)
    assert sorted(report.objects) == ["k/_CLAIM", "k/a.txt"]
    store.save("k", "bundle", {"a.txt": "b"})


# -- directory members ------------------------------------------------------------


def test_directory_member_round_trip_and_sidecar(store: Store) -> None:
    with store.transaction("figs", "bundle") as tx:
        folder = tx.directory("plots", format="folder")
        folder.put("loss.svg", b"<svg/>")
        folder.put("a/b/acc.png", b"\x89PNG....")
        folder.put("loss.svg", b"<svg>v2</svg>")  # rewrites count, last wins
        tx.write("notes.txt", "two plots")
    art = store.load("figs", verify=True)
    files = art["plots"]
    assert sorted(files) == ["a/b/acc.png", "loss.svg"]
    assert files["loss.svg"] == b"<svg>v2</svg>"
    record = art.manifest.member("plots")
    assert record is not None and record.layout == "directory"
    assert record.size == len(b"<svg>v2</svg>") + len(b"\x89PNG....")
    sums = store.backend.get("figs/plots.sha256sums").decode()
    assert sums.splitlines()[1].endswith("  loss.svg")  # sha256sum -c format
    assert store.verify().ok


def test_folder_format_via_save(store: Store) -> None:
    from capsa.kinds.base import ArtifactKind, MemberSpec

    class Report(ArtifactKind):
        name = "test.report"
        members = (MemberSpec(name="files", filename="report", format="folder"),)

    store.save("r", Report(), {"index.html": "<h1>hi</h1>", "img/x.png": b"\x00"})
    assert dict(store.load("r")["files"]) == {"img/x.png": b"\x00", "index.html": b"<h1>hi</h1>"}
    with pytest.raises(ValidationError, match="bad file path"):
        store.save("r2", Report(), {"../x": b""})
    with pytest.raises(ValidationError, match="bytes or str"):
        store.save("r3", Report(), {"x": 1})
    assert not store.exists("r2") and not store.exists("r3")


def test_verify_names_the_bad_object_in_a_directory_member(store: Store) -> None:
    with store.transaction("d", "bundle") as tx:
        folder = tx.directory("tree", format="folder")
        for name in ("a", "b", "c"):
            folder.put(f"x/{name}", name.encode() * 10)
    store.backend.put("d/tree/x/a", b"tampered!!")
    store.backend.delete("d/tree/x/b")
    store.backend.put("d/tree/x/zz", b"extra")
    problems = {(p.member, p.problem) for p in store.verify().problems}
    assert problems == {("tree/x/a", "sha256"), ("tree/x/b", "missing"), ("tree/x/zz", "extra")}
    with pytest.raises(IntegrityError, match="tree/x/"):
        store.load("d", verify=True)
    store.backend.put("d/tree.sha256sums", b"forged listing\n")
    assert {p.problem for p in store.verify("d").problems} == {"sha256"}


def test_gc_keeps_directory_members_and_removes_orphans(store: Store) -> None:
    with store.transaction("d", "bundle") as tx:
        tx.directory("tree", format="folder").put("x", b"1")
    store.backend.put("orphan/tree/y", b"2")
    assert store.gc(dry_run=False, older_than=0).objects == ["orphan/tree/y"]
    assert store.verify().ok


def test_directory_overwrite_in_development_drops_old_objects(dev_store: Store) -> None:
    with dev_store.transaction("d", "bundle") as tx:
        folder = tx.directory("tree", format="folder")
        folder.put("old", b"1")
        folder.put("kept", b"1")
    with dev_store.transaction("d", "bundle") as tx:
        tx.directory("tree", format="folder").put("kept", b"2")
    dev_store.gc(dry_run=False, older_than=0)
    art = dev_store.load("d", verify=True)
    assert dict(art["tree"]) == {"kept": b"2"}
    assert dev_store.verify().ok


def test_directory_paths_are_validated(store: Store) -> None:
    with store.transaction("d", "bundle") as tx:
        folder = tx.directory("tree", format="folder")
        with pytest.raises(InvalidKeyError):
            folder.put("../escape", b"x")
        with pytest.raises(ValidationError, match="single files"):
            tx.directory("x.json")
        folder.put("ok", b"x")
    assert dict(store.load("d")["tree"]) == {"ok": b"x"}


def test_a_commit_between_the_checks_is_never_retracted() -> None:
    """The loser of a race must not delete a marker the winner committed meanwhile."""
    from capsa.backends.memory import MemoryBackend
    from capsa.plugins.manager import get_registry

    winner = Store(MemoryBackend("race-window"), registry=get_registry())

    class CommitsDuringCheck(MemoryBackend):
        checks = 0

        def exists(self, key: str) -> bool:
            found = super().exists(key)
            if key == "k/_SUCCESS":
                CommitsDuringCheck.checks += 1
                if CommitsDuringCheck.checks == 1:  # "free" ... then the winner commits
                    winner.save("k", "json", {"who": "winner"})
            return found

    loser = Store(CommitsDuringCheck("race-window"), registry=get_registry())
    with pytest.raises(ArtifactExistsError):
        loser.save("k", "json", {"who": "loser"})
    assert winner.load("k", verify=True)["data"] == {"who": "winner"}
    assert [i.key for i in winner.backend.list("")] == ["k/_SUCCESS", "k/data.json"]
