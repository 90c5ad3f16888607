"""Content-addressed objects: stored once, referenced by digest, loaded and verified."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import ClassVar

import msgspec
import pytest
from core_helpers import all_object_keys

import capsa
from capsa.errors import IntegrityError, ObjectNotFoundError, ValidationError
from capsa.kinds.base import ArtifactKind, MemberSpec
from capsa.objects.store import OBJECTS_PREFIX, ObjectStore, digest_of_key, object_key
from capsa.store.manifest import MANIFEST_VERSION, decode_manifest
from capsa.store.store import Store


def _objects(store: Store) -> list[str]:
    return sorted(k for k in all_object_keys(store) if k.startswith(OBJECTS_PREFIX + "/"))


def test_identical_bytes_are_stored_once(store: Store) -> None:
    data = os.urandom(4096)
    first = store.objects.put(data)
    second = store.objects.put(bytearray(data))
    digest = hashlib.sha256(data).hexdigest()
    assert (first.digest, first.size, first.reused) == (digest, 4096, False)
    assert (second.digest, second.reused) == (digest, True)
    assert _objects(store) == [f"{OBJECTS_PREFIX}/{digest[:2]}/{digest}"]
    assert store.objects.get(digest) == data
    assert store.objects.check(digest, 4096) is None
    assert [ref.digest for ref in store.objects] == [digest]
    assert store.objects.usage() == (1, 4096)


def test_a_stored_object_of_the_wrong_size_is_replaced_with_the_right_bytes(store: Store) -> None:
    data = b"model weights" * 100
    digest = hashlib.sha256(data).hexdigest()
    store.backend.put(object_key(digest), b"truncated")
    ref = store.objects.put(data)
    assert not ref.reused
    assert store.objects.get(digest) == data


def test_put_file_streams_and_refuses_a_file_that_changes(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"x" * 10_000)
    ref = store.objects.put_file(path)
    assert ref.digest == hashlib.sha256(b"x" * 10_000).hexdigest()
    assert store.objects.put_file(path).reused
    with open(path, "rb") as fh, pytest.raises(IntegrityError, match=r"changed while being stored"):
        store.objects.put_stream(fh, "0" * 64, 10_000)  # the bytes do not hash to the name
    assert not store.objects.exists("0" * 64)


def test_object_reads_check_the_name(store: Store) -> None:
    digest = store.objects.put(b"abc").digest
    store.backend.put(object_key(digest), b"abd")
    with pytest.raises(IntegrityError, match=r"does not match its name"):
        store.objects.get(digest)
    assert "differs" in str(store.objects.check(digest))
    with pytest.raises(ObjectNotFoundError, match=r"is not stored"):
        store.objects.get("f" * 64)
    assert store.objects.check("f" * 64) == "missing"


@pytest.mark.parametrize("bad", ["", "ABC", "g" * 64, "a" * 63, None, "../" + "a" * 61])
def test_bad_digests_are_refused(store: Store, bad: object) -> None:
    with pytest.raises(ValidationError, match=r"hex sha256"):
        object_key(bad)  # type: ignore[arg-type]
    assert digest_of_key(f"{OBJECTS_PREFIX}/aa/{bad}") is None


def test_members_by_reference_load_and_verify(store: Store) -> None:
    weights = os.urandom(2048)
    ref = store.save(
        "exp/model",
        "bundle",
        {"weights.bin": weights, "config.json": {"alpha": 0.5}, "notes.txt": "hi"},
        by_reference=["weights.bin", "config.json"],
    )
    records = {m.file: m for m in ref.manifest.members}
    assert records["weights.bin"].object == hashlib.sha256(weights).hexdigest()
    assert records["config.json"].by_reference and not records["notes.txt"].by_reference
    assert ref.manifest.schema_version == MANIFEST_VERSION == 2
    # Only the in-place member lives under the key; the others are objects.
    under_key = sorted(k for k in all_object_keys(store) if k.startswith("exp/model/"))
    assert under_key == ["exp/model/_SUCCESS", "exp/model/notes.txt"]
    loaded = store.load("exp/model", verify=True)
    assert loaded["weights.bin"] == weights
    assert loaded["config.json"] == {"alpha": 0.5}
    with loaded.open("weights.bin") as fh:
        assert fh.read() == weights
    report = store.verify()
    assert report.ok and report.members == 3


def test_second_save_of_identical_bytes_writes_no_object(store: Store) -> None:
    blob = os.urandom(10_000)
    store.save("a", "blob", blob, by_reference=True)
    before = _objects(store)
    store.save("b", "blob", blob, by_reference=True)
    assert _objects(store) == before
    assert store.load("b")["blob"] == blob


def test_verify_reports_a_corrupt_or_missing_object(store: Store) -> None:
    ref = store.save("m", "blob", b"\x00" * 500, by_reference=True)
    digest = ref.manifest.members[0].sha256
    store.backend.put(object_key(digest), b"\x01" * 500)
    report = store.verify("m")
    assert [(p.key, p.member, p.problem) for p in report.problems] == [("m", "blob.bin", "sha256")]
    with pytest.raises(IntegrityError, match=r"blob.bin"):
        store.load("m", verify=True)
    store.backend.delete(object_key(digest))
    assert [p.problem for p in store.verify("m").problems] == ["missing"]


def test_by_reference_bad_inputs_write_nothing(store: Store) -> None:
    with pytest.raises(ValidationError, match=r"not being saved"):
        store.save("k", "bundle", {"a.txt": "x"}, by_reference=["b.txt"])
    with pytest.raises(ValidationError, match=r"by_reference must be"):
        store.save("k", "bundle", {"a.txt": "x"}, by_reference="a.txt")  # a bare string
    assert all_object_keys(store) == []


class _FolderKind(ArtifactKind):
    name: ClassVar[str] = "test.folder"
    members: ClassVar[tuple[MemberSpec, ...]] = (
        MemberSpec(name="files", filename="files", format="folder"),
        MemberSpec(name="note", filename="note.txt", format="text", required=False),
    )


def test_directory_members_cannot_be_stored_by_reference(store: Store) -> None:
    data = {"files": {"f.txt": b"x"}, "note": "n"}
    with pytest.raises(ValidationError, match=r"directory member"):
        store.save("k", _FolderKind(), data, by_reference=["files"])
    with (
        pytest.raises(ValidationError, match=r"cannot be stored by reference"),
        store.transaction("k", _FolderKind()) as tx,
    ):
        tx.write("files", {"f.txt": b"x"}, by_reference=True)
    assert all_object_keys(store) == []
    # by_reference=True stores every *file* member by reference, directories in place.
    ref = store.save("k", _FolderKind(), data, by_reference=True)
    assert {m.file: m.by_reference for m in ref.manifest.members} == {
        "files": False,
        "note.txt": True,
    }
    assert store.load("k", verify=True)["note"] == "n"


def test_overwriting_an_in_place_member_with_a_reference_drops_the_old_file(
    dev_store: Store,
) -> None:
    dev_store.save("k", "blob", b"old bytes")
    dev_store.save("k", "blob", b"new bytes", by_reference=True)
    full = dev_store._full("k")
    assert not dev_store.backend.exists(f"{full}/blob.bin")
    assert dev_store.load("k", verify=True)["blob"] == b"new bytes"
    dev_store.save("k", "blob", b"in place again")
    assert dev_store.load("k", verify=True)["blob"] == b"in place again"


def test_version_1_manifests_still_decode_and_cannot_hold_references(store: Store) -> None:
    ref = store.save("old", "json", {"a": 1})
    raw = json.loads(store.backend.get("old/_SUCCESS"))
    raw["schema_version"] = 1
    store.backend.put("old/_SUCCESS", json.dumps(raw).encode())
    assert store.load("old", verify=True)["data"] == {"a": 1}
    assert "object" not in raw["members"][0]  # in-place members do not carry the field
    raw["members"][0]["object"] = raw["members"][0]["sha256"]
    with pytest.raises(IntegrityError, match=r"schema version 1 cannot express"):
        decode_manifest(json.dumps(raw).encode(), key="old")
    raw["schema_version"] = 2
    raw["members"][0]["object"] = "0" * 64
    with pytest.raises(IntegrityError, match=r"references object"):
        decode_manifest(json.dumps(raw).encode(), key="old")
    assert ref.manifest.members[0].object is msgspec.UNSET


def test_transaction_put_object_and_write_record(store: Store) -> None:
    with store.transaction("t", "bundle") as tx:
        obj = tx.put_object(b"shared bytes")
        record = capsa.store.MemberRecord(
            name="s.bin",
            file="s.bin",
            format="bytes",
            size=obj.size,
            sha256=obj.digest,
            object=obj.digest,
        )
        tx.write_record(record)
        wrong = capsa.store.MemberRecord(
            name="w.bin", file="w.bin", format="bytes", size=3, sha256="0" * 64
        )
        with pytest.raises(IntegrityError, match=r"do not match the record"):
            tx.write_record(wrong, b"abc")
        with pytest.raises(ValidationError, match=r"bytes are needed"):
            tx.write_record(wrong)
    assert store.load("t", verify=True)["s.bin"] == b"shared bytes"


def test_delete_keeps_shared_objects_for_gc(dev_store: Store) -> None:
    dev_store.save("a", "blob", b"shared", by_reference=True)
    dev_store.save("b", "blob", b"shared", by_reference=True)
    dev_store.delete("a")
    assert dev_store.load("b", verify=True)["blob"] == b"shared"
    assert len(_objects(dev_store)) == 1


def test_capsa_show_marks_members_stored_by_reference(tmp_path: Path, capsys) -> None:
    from capsa.cli.main import main

    store = capsa.open_store(str(tmp_path / "s"))
    store.save("k", "bundle", {"a.txt": "in place", "b.bin": b"object"}, by_reference=["b.bin"])
    assert main(["show", "k", "--store", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "STORED" in out
    lines = {
        line.split()[0]: line for line in out.splitlines() if line.startswith(("a.txt", "b.bin"))
    }
    assert lines["a.txt"].rstrip().endswith("in place") and lines["b.bin"].rstrip().endswith(
        "object"
    )
    assert main(["show", "k", "--store", str(tmp_path / "s"), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    by_file = {m["file"]: m for m in shown["members"]}
    assert (
        by_file["b.bin"]["object"] == by_file["b.bin"]["sha256"]
        and "object" not in by_file["a.txt"]
    )


def test_object_store_repr_and_local_path(tmp_path: Path) -> None:
    store = capsa.open_store(str(tmp_path / "s"))
    digest = store.objects.put(b"x").digest
    objects = ObjectStore(store.backend)
    assert "ObjectStore" in repr(objects)
    path = objects.local_path(digest)
    assert path is not None and path.read_bytes() == b"x"
