"""Store behaviour: commit, modes, verification, deletion, gc, kinds and events."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, ClassVar

import pytest
from core_helpers import all_object_keys

import capsa
from capsa.errors import (
    ArtifactExistsError,
    ArtifactNotFoundError,
    ConfigError,
    IncompatibleVersionError,
    IntegrityError,
    InvalidKeyError,
    MemberNotFoundError,
    ModeError,
    UnknownKindError,
    ValidationError,
)
from capsa.kinds.base import ArtifactKind, LegacyLayout, MemberSpec
from capsa.markers import hookimpl
from capsa.plugins.manager import register_plugin, unregister_plugin
from capsa.store.manifest import MANIFEST_SCHEMA, MANIFEST_VERSION
from capsa.store.store import Store


def corrupt(store: Store, object_key: str, data: bytes) -> None:
    """Overwrite one stored object behind capsa's back."""
    store.backend.put(object_key, data)


# -- commit and manifest ---------------------------------------------------------


def test_save_returns_ref_and_manifest_records_everything(store: Store) -> None:
    ref = store.save("exp/run1", "bundle", {"a.json": {"x": 1}, "b.txt": "hi"}, meta={"seed": 3})
    assert ref.key == "exp/run1"
    assert ref.kind == "bundle"
    m = ref.manifest
    assert (m.schema, m.schema_version) == (MANIFEST_SCHEMA, MANIFEST_VERSION)
    assert m.kind_version == 1
    assert m.meta == {"seed": 3}
    assert m.producer.capsa == capsa.__version__
    assert m.provenance.python and m.provenance.host
    assert m.created_at.endswith("Z")
    assert [(r.file, r.format, r.size) for r in m.members] == [
        ("a.json", "json", len(store.load("exp/run1").source("a.json").read_bytes())),
        ("b.txt", "text", 2),
    ]
    # The marker is last and plain JSON, readable without capsa.
    raw = json.loads(store.backend.get("exp/run1/_SUCCESS"))
    assert raw["kind"] == "bundle" and len(raw["members"][0]["sha256"]) == 64


def test_provenance_records_git_inside_a_repository(tmp_path: Path) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    repo = tmp_path / "repo"
    (repo / "f.txt").write_text("x")
    env = ["-c", "user.email=a@b", "-c", "user.name=a"]
    subprocess.run(["git", *env, "add", "f.txt"], cwd=repo, check=True)
    subprocess.run(["git", *env, "commit", "-qm", "init"], cwd=repo, check=True)
    (repo / "f.txt").write_text("changed")
    from capsa.store.provenance import git_info

    info = git_info(str(repo))
    assert info is not None and len(info.commit) == 40 and info.dirty is True
    assert git_info(str(tmp_path)) is None  # outside a repository: no failure


def test_load_missing_key_raises_not_found(store: Store) -> None:
    with pytest.raises(ArtifactNotFoundError, match="'nope'"):
        store.load("nope")
    with pytest.raises(KeyError):  # also a KeyError for existing except clauses
        store.load("nope")


def test_prefix_without_marker_is_not_an_artifact(store: Store) -> None:
    store.backend.put("half/data.json", b"{}")
    assert not store.exists("half")
    assert store.list() == []
    with pytest.raises(ArtifactNotFoundError):
        store.load("half")


def test_missing_member_name(store: Store) -> None:
    store.save("k", "json", {"a": 1})
    with pytest.raises(MemberNotFoundError, match="no member 'nope'"):
        store.load("k")["nope"]


def test_members_by_logical_name_and_file_name(store: Store) -> None:
    store.save("k", "json", {"a": 1})
    art = store.load("k")
    assert art["data"] == art["data.json"] == {"a": 1}
    assert "data" in art and "data.json" in art and "x" not in art
    assert list(art) == ["data"] and len(art) == 1


def test_list_filters_by_prefix_and_kind(store: Store) -> None:
    store.save("a/1", "json", {})
    store.save("a/2", "text", "t")
    store.save("b/1", "json", {})
    assert [i.key for i in store.list()] == ["a/1", "a/2", "b/1"]
    assert [i.key for i in store.list("a/")] == ["a/1", "a/2"]
    assert [i.key for i in store.list(kind="json")] == ["a/1", "b/1"]
    assert store.exists("a/1") and not store.exists("a")


def test_unknown_kind_has_clear_error(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # A first-party name whose plugin is not installed gets a pip install hint
    # (every first-party plugin is installed here, so one is made up).
    from capsa.plugins import known

    kinds = {**known.FIRST_PARTY["kind"], "spectra.calibration": "capsa-spectra"}
    monkeypatch.setitem(known.FIRST_PARTY, "kind", kinds)
    with pytest.raises(UnknownKindError, match=r"pip install capsa-spectra"):
        store.save("k", "spectra.calibration", {})
    with pytest.raises(UnknownKindError, match=r"spectra\.typo"):
        store.save("k", "spectra.typo", {})
    assert not store.exists("k")


def test_artifacts_cannot_nest(store: Store) -> None:
    store.save("a", "json", {})
    with pytest.raises(InvalidKeyError, match="inside the artifact 'a'"):
        store.save("a/b", "json", {})
    store.save("x/y", "json", {})
    with pytest.raises((InvalidKeyError, ArtifactExistsError)):
        store.save("x", "json", {})
    assert store.load("x/y")["data"] == {}


# -- validation happens before anything is written ---------------------------------


def test_kind_validation_before_write(store: Store) -> None:
    with pytest.raises(ValidationError, match="expects a mapping"):
        store.save("k", "bundle", ["not", "a", "mapping"])
    with pytest.raises(ValidationError, match="meta"):
        store.save("k", "json", {}, meta={"bad": float("nan")})
    with pytest.raises(ValidationError, match="unknown member"):
        store.save("k", "json", {}, options={"nope": {}})
    assert all_object_keys(store) == []


def test_one_bad_member_writes_nothing(store: Store) -> None:
    with pytest.raises(ValidationError, match=r"member 'z\.json'"):
        store.save("k", "bundle", {"a.json": {"ok": 1}, "z.json": {"bad": float("inf")}})
    assert all_object_keys(store) == []


# -- modes ---------------------------------------------------------------------


def test_production_is_immutable(store: Store) -> None:
    store.save("k", "json", {"v": 1})
    with pytest.raises(ArtifactExistsError, match="immutable") as info:
        store.save("k", "json", {"v": 2})
    assert isinstance(info.value, FileExistsError)
    assert store.load("k", verify=True)["data"] == {"v": 1}
    with pytest.raises(ModeError, match="immutable"):
        store.delete("k")


def test_development_namespace_and_overwrite(backend_url: str) -> None:
    dev = capsa.open_store(backend_url, mode="development", session="20260215_143022")
    assert dev.namespace == "dev/20260215_143022"
    dev.save("k", "bundle", {"a.json": {"v": 1}, "old.txt": "gone soon"})
    dev.save("k", "bundle", {"a.json": {"v": 2}})
    art = dev.load("k", verify=True)
    assert art["a.json"] == {"v": 2} and list(art) == ["a.json"]
    assert dev.backend.exists("dev/20260215_143022/k/_SUCCESS")
    # Overwrite leaves no stray member from the old version (after gc of debris).
    dev.gc(dry_run=False, older_than=0)
    assert sorted(k for k in all_object_keys(dev) if k.startswith("dev/")) == [
        "dev/20260215_143022/k/_SUCCESS",
        "dev/20260215_143022/k/a.json",
    ]
    # Another session does not see it; production does not list dev artifacts.
    other = capsa.open_store(backend_url, mode="development", session="other")
    assert other.list() == []
    assert capsa.open_store(backend_url).list() == []


def test_development_default_session_is_a_timestamp(backend_url: str) -> None:
    dev = capsa.open_store(backend_url, mode="development")
    assert dev.session is not None and len(dev.session) == 15 and dev.session[8] == "_"


def test_test_mode_is_isolated_and_destroys_cleanly(backend_url: str) -> None:
    prod = capsa.open_store(backend_url)
    prod.save("keep", "json", {})
    t = capsa.open_store(backend_url, mode="test", test_name="test_prediction")
    t.save("k", "json", {"v": 1})
    t.save("k", "json", {"v": 2})
    assert t.namespace == "tests/test_prediction"
    assert [i.key for i in t.list()] == ["k"]
    assert t.destroy() >= 2
    assert t.list() == []
    assert [i.key for i in prod.list()] == ["keep"]
    with pytest.raises(ModeError):
        prod.destroy()


def test_test_mode_needs_a_name(backend_url: str) -> None:
    with pytest.raises(ConfigError, match="test name"):
        capsa.open_store(backend_url, mode="test")


def test_bad_mode(backend_url: str) -> None:
    with pytest.raises(ConfigError, match="production, development or test"):
        capsa.open_store(backend_url, mode="prod")


def test_delete_in_development(dev_store: Store) -> None:
    dev_store.save("k", "json", {})
    dev_store.delete("k")
    assert not dev_store.exists("k")
    assert [k for k in all_object_keys(dev_store) if not k.startswith(".capsa/")] == []
    with pytest.raises(ArtifactNotFoundError):
        dev_store.delete("k")


# -- verification --------------------------------------------------------------


def test_verify_reports_every_mismatch_by_artifact_and_member(store: Store) -> None:
    store.save("good", "json", {"a": 1})
    store.save("bad", "bundle", {"x.json": {"a": 1}, "y.txt": "hello", "z.txt": "zzz"})
    corrupt(store, "bad/y.txt", b"HELLO")  # same size, different hash
    corrupt(store, "bad/z.txt", b"zz")  # truncated
    report = store.verify()
    assert report.artifacts == 2
    found = {(p.key, p.member, p.problem) for p in report.problems}
    assert found == {("bad", "y.txt", "sha256"), ("bad", "z.txt", "size")}
    assert store.verify("good").ok
    with pytest.raises(IntegrityError, match=r"'bad'.*'y.txt'"):
        store.load("bad", verify=True)
    # Whole-member reads are always checked, even without verify=True.
    with pytest.raises(IntegrityError, match=r"y\.txt"):
        store.load("bad")["y.txt"]


def test_verify_reports_missing_member_and_corrupt_marker(store: Store) -> None:
    store.save("m", "bundle", {"a.txt": "a", "b.txt": "b"})
    store.backend.delete("m/b.txt")
    store.save("c", "json", {})
    corrupt(store, "c/_SUCCESS", b"{not json")
    report = store.verify()
    problems = {(p.key, p.member, p.problem) for p in report.problems}
    assert ("m", "b.txt", "missing") in problems
    assert ("c", "_SUCCESS", "marker") in problems
    with pytest.raises(IntegrityError, match="not a valid capsa manifest"):
        store.load("c")


def test_tampered_manifest_escaping_root_is_refused(store: Store) -> None:
    store.save("t", "json", {"a": 1})
    raw = json.loads(store.backend.get("t/_SUCCESS"))
    raw["members"][0]["file"] = "../../etc/passwd"
    corrupt(store, "t/_SUCCESS", json.dumps(raw).encode())
    with pytest.raises(IntegrityError, match="bad member"):
        store.load("t")


def test_manifest_from_the_future_is_refused(store: Store) -> None:
    store.save("t", "json", {"a": 1})
    raw = json.loads(store.backend.get("t/_SUCCESS"))
    raw["schema_version"] = MANIFEST_VERSION + 1
    corrupt(store, "t/_SUCCESS", json.dumps(raw).encode())
    with pytest.raises(IncompatibleVersionError, match="upgrade capsa"):
        store.load("t")


def test_lazy_open_detects_size_change(store: Store) -> None:
    store.save("b", "blob", b"x" * 100)
    corrupt(store, "b/blob.bin", b"x" * 50)
    with pytest.raises(IntegrityError, match="50 bytes"):
        store.load("b").open("blob")
    with pytest.raises(IntegrityError, match="does not match"):
        store.load("b")["blob"]


# -- gc ------------------------------------------------------------------------


def test_gc_finds_debris_and_spares_artifacts(store: Store) -> None:
    store.save("ok", "bundle", {"a.txt": "a"})
    store.backend.put("half/a.txt", b"orphan")  # members without a marker
    store.backend.put("ok/stray.txt", b"not in manifest")
    store.backend.put(".capsa/staging/123-abc/x.json", b"{}")
    expected = [".capsa/staging/123-abc/x.json", "half/a.txt", "ok/stray.txt"]
    before = all_object_keys(store)
    dry = store.gc(older_than=0)
    assert dry.dry_run and sorted(dry.objects) == expected
    assert all_object_keys(store) == before  # a dry run deletes nothing
    # The default grace period protects young debris (a save may be running).
    young = store.gc(dry_run=False)
    assert young.objects == [] and young.kept_recent == 3
    report = store.gc(dry_run=False, older_than=0)
    assert sorted(report.objects) == expected
    assert store.verify().ok
    assert store.load("ok")["a.txt"] == "a"
    assert store.gc(dry_run=False, older_than=0).objects == []


def test_gc_never_deletes_a_corrupt_artifact(store: Store) -> None:
    store.save("c", "bundle", {"a.txt": "a"})
    corrupt(store, "c/_SUCCESS", b"garbage")
    assert store.gc(dry_run=False, older_than=0).objects == []
    assert store.backend.exists("c/a.txt")


# -- kinds: validation and legacy layouts ----------------------------------------


class PairKind(ArtifactKind):
    name: ClassVar[str] = "test.pair"
    version: ClassVar[int] = 2
    members: ClassVar[tuple[MemberSpec, ...]] = (
        MemberSpec(name="left", filename="left.json", format="json"),
        MemberSpec(name="right", filename="right.json", format="json", required=False),
    )
    legacy_layouts: ClassVar[tuple[LegacyLayout, ...]] = (
        LegacyLayout(version=1, renames={"left": "l.json"}),
    )

    def validate(self, members: Any) -> None:
        super().validate(members)
        if "right" in members and len(members["right"]) != len(members["left"]):
            raise ValidationError("left and right must have the same length")


class PairPlugin:
    @hookimpl
    def capsa_register_artifact_kinds(self, register: Any) -> None:
        register(PairKind())


@pytest.fixture
def pair_plugin() -> Any:
    register_plugin(PairPlugin(), "test-pair")
    yield
    unregister_plugin("test-pair")


def test_kind_validation_and_optional_members(pair_plugin: None, backend_url: str) -> None:
    store = capsa.open_store(backend_url)
    with pytest.raises(ValidationError, match="same length"):
        store.save("p", "test.pair", {"left": [1, 2], "right": [1]})
    with pytest.raises(ValidationError, match="required member 'left'"):
        store.save("p", "test.pair", {"right": [1]})
    with pytest.raises(ValidationError, match="no member"):
        store.save("p", "test.pair", {"left": [1], "extra": 1})
    assert all_object_keys(store) == []
    store.save("p", "test.pair", {"left": [1, 2], "right": None})
    art = store.load("p")
    assert art["left"] == [1, 2] and "right" not in art


def test_legacy_layout_is_read_through_renames(pair_plugin: None, backend_url: str) -> None:
    store = capsa.open_store(backend_url)
    store.save("old", "bundle", {"l.json": [9]})
    raw = json.loads(store.backend.get("old/_SUCCESS"))
    raw["kind"], raw["kind_version"] = "test.pair", 1
    store.backend.put("old/_SUCCESS", json.dumps(raw).encode())
    assert store.load("old")["left"] == [9]
    raw["kind_version"] = 3  # newer than the plugin: refused with advice
    store.backend.put("old/_SUCCESS", json.dumps(raw).encode())
    with pytest.raises(IncompatibleVersionError, match="upgrade the plugin 'test-pair'"):
        store.load("old")


# -- events --------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.events: list[Any] = []

    @hookimpl
    def capsa_artifact_committed(self, event: Any) -> None:
        self.events.append(event)


class Exploder:
    @hookimpl
    def capsa_artifact_committed(self, event: Any) -> None:
        raise RuntimeError("indexer down")


def test_commit_event_fires_after_commit(backend_url: str) -> None:
    rec = Recorder()
    register_plugin(rec, "recorder")
    try:
        store = capsa.open_store(backend_url)
        store.save("k", "json", {"a": 1})
        assert len(rec.events) == 1
        event = rec.events[0]
        assert event.key == "k" and event.manifest.kind == "json"
        assert store.exists(event.key)  # visible when the hook runs
    finally:
        unregister_plugin("recorder")


def test_failing_commit_hook_warns_and_does_not_fail_save(backend_url: str) -> None:
    register_plugin(Exploder(), "exploder")
    try:
        store = capsa.open_store(backend_url)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            store.save("k", "json", {})
        assert any(
            "exploder" in str(w.message) and "indexer down" in str(w.message) for w in caught
        )
        assert store.exists("k")
    finally:
        unregister_plugin("exploder")


# -- overwrites seen by readers ----------------------------------------------------


def test_lazy_reads_refuse_a_version_overwritten_after_load(dev_store: Store) -> None:
    dev_store.save("k", "bundle", {"e.jsonl": [{"v": 1}], "raw.bin": b"one"})
    art = dev_store.load("k")
    records = art["e.jsonl"]
    assert list(records) == [{"v": 1}]
    dev_store.save("k", "bundle", {"e.jsonl": [{"v": 2}], "raw.bin": b"two"})
    with pytest.raises(IntegrityError, match="overwritten or deleted since it was loaded"):
        list(records)
    with pytest.raises(IntegrityError, match="load it again"):
        art.open("raw.bin")
    fresh = dev_store.load("k")
    assert list(fresh["e.jsonl"]) == [{"v": 2}] and fresh["raw.bin"] == b"two"
    dev_store.delete("k")
    with pytest.raises(IntegrityError, match="overwritten or deleted"):
        fresh.open("raw.bin")


def test_local_store_without_renameat2_uses_the_marker_protocol(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import capsa.backends.local as local

    monkeypatch.setattr(local, "_renameat2_cache", [None])
    store = capsa.open_store(str(tmp_path / "s"))
    assert store.backend.supports_rename is False
    store.save("k", "bundle", {"a.txt": "a"})
    with pytest.raises(ArtifactExistsError):
        store.save("k", "bundle", {"a.txt": "b"})
    dev = capsa.open_store(str(tmp_path / "s"), mode="development", session="x")
    dev.save("k", "bundle", {"a.txt": "1", "b.txt": "old"})
    dev.save("k", "bundle", {"a.txt": "2"})
    assert dict(dev.load("k", verify=True)) == {"a.txt": "2"}
    assert store.load("k", verify=True)["a.txt"] == "a"
    assert not (tmp_path / "s" / ".capsa" / "staging").exists()


def test_empty_artifact_is_refused(store: Store) -> None:
    with pytest.raises(ValidationError, match="nothing to save"):
        store.save("k", "bundle", {})
    assert all_object_keys(store) == []


def test_storage_errors_keep_their_type(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from capsa.formats.raw import TextFormat

    def full_disk(self: object, value: object, sink: object, **options: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(TextFormat, "write", full_disk)
    with pytest.raises(OSError, match="No space left") as info:
        store.save("k", "text", "x")
    assert not isinstance(info.value, ValidationError)
    assert not store.exists("k")
    assert store.gc(older_than=0).objects == []  # the failed save cleaned up after itself


def test_options_must_be_json_since_the_manifest_records_them(store: Store) -> None:
    with pytest.raises(ValidationError, match=r"member 'data\.json'"):
        store.save("k", "json", {}, options={"data": {"indent": object()}})
    assert all_object_keys(store) == []


@pytest.mark.parametrize("top", ["dev", "tests", "DEV", "Tests"])
def test_production_keys_cannot_enter_the_namespace_folders_in_any_case(
    tmp_path: Path, top: str
) -> None:
    store = capsa.open_store(str(tmp_path / "s"))
    with pytest.raises(InvalidKeyError, match=r"development/test namespaces"):
        store.save(f"{top}/x", "json", {"a": 1})
    assert store.list() == []


def test_verify_reports_an_artifact_from_a_newer_capsa_and_goes_on(tmp_path: Path) -> None:
    import json as _json

    store = capsa.open_store(str(tmp_path / "s"))
    store.save("new", "json", {"a": 1})
    store.save("old", "json", {"b": 2})
    marker = tmp_path / "s" / "new" / "_SUCCESS"
    doc = _json.loads(marker.read_text())
    doc["schema_version"] = 999
    marker.write_text(_json.dumps(doc))
    report = store.verify()
    assert report.artifacts == 2 and not report.ok
    assert [(p.key, p.problem) for p in report.problems] == [("new", "version")]
    assert report.members == 1  # "old" was still verified


def test_a_refused_development_overwrite_keeps_the_old_version(backend_url: str) -> None:
    dev = capsa.open_store(backend_url, mode="development", session="s")
    dev.save("k", "bundle", {"a.json": {"v": 1}, "b.txt": "one"})
    with pytest.raises(ValidationError, match=r"'k'.*'b\.json'.*NaN"):
        dev.save("k", "bundle", {"a.json": {"v": 2}, "b.json": {"x": float("nan")}})
    art = dev.load("k", verify=True)
    assert art["a.json"] == {"v": 1} and art["b.txt"] == "one"
    assert dev.gc(dry_run=True, older_than=0).objects == []
