"""Bundles: export one artifact with its objects to a file, import it anywhere, verified."""

from __future__ import annotations

import json
import os
import uuid
import zipfile
from pathlib import Path
from typing import ClassVar

import pytest
from core_helpers import all_object_keys

import capsa
from capsa.cli.main import main
from capsa.errors import ArtifactExistsError
from capsa.kinds.base import ArtifactKind, MemberSpec
from capsa.objects.bundle import (
    BundleError,
    export_bundle,
    import_bundle,
    read_bundle_index,
    verify_bundle,
)
from capsa.store.store import Store

WEIGHTS = os.urandom(5000)


class FolderKind(ArtifactKind):
    name: ClassVar[str] = "test.withfolder"
    members: ClassVar[tuple[MemberSpec, ...]] = (
        MemberSpec(name="files", filename="files", format="folder"),
        MemberSpec(name="config", filename="config.json", format="json"),
        MemberSpec(name="weights", filename="weights.bin", format="bytes"),
    )


def _source(tmp_path: Path) -> Store:
    store = capsa.open_store(str(tmp_path / "source"))
    store.save(
        "exp/run-7",
        FolderKind(),
        {
            "files": {"a.txt": b"alpha", "sub/b.txt": "beta"},
            "config": {"alpha": 0.5},
            "weights": WEIGHTS,
        },
        meta={"seed": 7},
        by_reference=["weights"],
    )
    return store


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    path = tmp_path / "run-7.capsa"
    info = export_bundle(_source(tmp_path), "exp/run-7", path)
    assert (info.members, info.objects, info.kind) == (3, 1, "test.withfolder")
    return path


def _memory() -> Store:
    return capsa.open_store(f"memory://bundle-{uuid.uuid4().hex[:8]}")


def test_round_trip_to_memory_through_the_python_api(tmp_path: Path, bundle: Path) -> None:
    source = capsa.open_store(str(tmp_path / "source"))
    target = _memory()
    ref = import_bundle(target, bundle)
    assert ref.key == "exp/run-7"
    loaded = target.load("exp/run-7", verify=True)
    assert loaded["weights"] == WEIGHTS
    assert loaded["config"] == {"alpha": 0.5}
    assert loaded["files"]["sub/b.txt"] == b"beta"
    original = source.manifest("exp/run-7")
    assert loaded.manifest.members == original.members  # hashes, formats, objects, info
    assert loaded.manifest.meta == {"seed": 7}
    assert loaded.manifest.provenance == original.provenance
    assert loaded.manifest.kind == "test.withfolder"
    assert target.verify().ok
    # Importing again under another key reuses the object.
    objects = target.objects.usage()
    import_bundle(target, bundle, key="copy/run-7")
    assert target.objects.usage() == objects
    with pytest.raises(ArtifactExistsError):
        import_bundle(target, bundle)
    index = read_bundle_index(bundle)
    assert (index.schema, index.schema_version, index.key) == ("capsa.bundle", 1, "exp/run-7")
    assert {e.path for e in index.entries} >= {f"objects/{original.members[2].sha256}"}


def test_round_trip_through_the_cli_to_a_local_folder(tmp_path: Path, capsys) -> None:
    _source(tmp_path)
    out = tmp_path / "shared.capsa"
    args = ["--store", str(tmp_path / "source")]
    assert main(["export", "exp/run-7", "-o", str(out), "--compress", *args]) == 0
    assert "exported exp/run-7" in capsys.readouterr().out
    with zipfile.ZipFile(out) as zf:
        assert zf.getinfo("_SUCCESS").compress_type == zipfile.ZIP_DEFLATED
    dest = ["--store", str(tmp_path / "dest")]
    assert main(["import", str(out), "--key", "shared/run-7", *dest, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["key"], shown["members"], shown["objects"]) == ("shared/run-7", 3, 1)
    assert main(["verify", *dest]) == 0
    dest_store = capsa.open_store(str(tmp_path / "dest"))
    assert dest_store.load("shared/run-7")["weights"] == WEIGHTS
    assert (tmp_path / "dest" / "shared" / "run-7" / "files" / "a.txt").read_bytes() == b"alpha"
    capsys.readouterr()
    assert main(["import", str(out), "--key", "shared/run-7", *dest]) == 5  # immutable
    assert "already exists" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "nope.capsa"), *dest]) == 3
    assert main(["export", "missing/key", "-o", str(tmp_path / "x.capsa"), *args]) == 3
    assert not (tmp_path / "x.capsa").exists()
    assert main(["export", "exp/run-7", "-o", str(tmp_path / "no" / "x.capsa"), *args]) == 5


# -- tampering -----------------------------------------------------------------------------


def _rewrite(src: Path, dst: Path, change) -> Path:
    """Copy a bundle entry by entry, letting ``change(entries)`` edit the {name: bytes} dict."""
    with zipfile.ZipFile(src) as zf:
        entries = {info.filename: zf.read(info.filename) for info in zf.infolist()}
    entries = change(entries)
    with zipfile.ZipFile(dst, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return dst


def _member_entry(entries: dict[str, bytes], prefix: str) -> str:
    return next(n for n in entries if n.startswith(prefix))


def _flip(data: bytes) -> bytes:
    return data[:10] + bytes([data[10] ^ 0xFF]) + data[11:]


def _swap(entries: dict[str, bytes]) -> dict[str, bytes]:
    a, b = "members/files/a.txt", "members/files/sub/b.txt"
    entries[a], entries[b] = entries[b], entries[a]
    return entries


def _edit_manifest(entries: dict[str, bytes]) -> dict[str, bytes]:
    manifest = json.loads(entries["_SUCCESS"])
    manifest["meta"]["seed"] = 8
    entries["_SUCCESS"] = json.dumps(manifest).encode()
    return entries


def _edit_manifest_and_index(entries: dict[str, bytes]) -> dict[str, bytes]:
    import hashlib

    manifest = json.loads(entries["_SUCCESS"])
    for member in manifest["members"]:
        if member["file"] == "config.json":
            member["size"] += 1  # claims other bytes than the bundle holds
    entries["_SUCCESS"] = json.dumps(manifest).encode()
    index = json.loads(entries["capsa-bundle.json"])
    index["manifest_sha256"] = hashlib.sha256(entries["_SUCCESS"]).hexdigest()
    entries["capsa-bundle.json"] = json.dumps(index).encode()
    return entries


def _with(name: str, data: bytes = b"evil"):
    def change(entries: dict[str, bytes]) -> dict[str, bytes]:
        entries[name] = data
        return entries

    return change


def _without(prefix: str):
    def change(entries: dict[str, bytes]) -> dict[str, bytes]:
        del entries[_member_entry(entries, prefix)]
        return entries

    return change


def _index_field(field: str, value: object):
    def change(entries: dict[str, bytes]) -> dict[str, bytes]:
        index = json.loads(entries["capsa-bundle.json"])
        index[field] = value
        entries["capsa-bundle.json"] = json.dumps(index).encode()
        return entries

    return change


TAMPERED = {
    "flipped byte in an object": (
        lambda e: {**e, (k := _member_entry(e, "objects/")): _flip(e[k])},
        r"does not match its sha256",
    ),
    "flipped byte in a member": (
        lambda e: {**e, "members/config.json": _flip(e["members/config.json"])},
        r"does not match its sha256",
    ),
    "swapped members": (_swap, r"does not match its sha256"),
    "edited manifest": (_edit_manifest, r"does not match the index's hash"),
    "edited manifest and index": (_edit_manifest_and_index, r"disagrees with the manifest"),
    "path traversal": (_with("../../evil.txt"), r"unsafe name"),
    "absolute path": (_with("/etc/evil"), r"unsafe name"),
    "traversal inside members": (_with("members/../../x"), r"unsafe name"),
    "backslash": (_with("members\\..\\x"), r"unsafe name"),
    "extra entry": (_with("members/extra.txt"), r"not part of the artifact"),
    "missing object": (_without("objects/"), r"is missing"),
    "missing directory file": (_without("members/files/a.txt"), r"is missing"),
    "foreign schema": (_index_field("schema", "other.bundle"), r"expected 'capsa.bundle'"),
    "future version": (_index_field("schema_version", 99), r"upgrade capsa"),
    "index is not json": (_with("capsa-bundle.json", b"{nope"), r"not a valid index"),
    "no index": (lambda e: {k: v for k, v in e.items() if k != "capsa-bundle.json"}, r"missing"),
}


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_a_tampered_bundle_is_rejected_and_nothing_is_written(
    tmp_path: Path, bundle: Path, case: str
) -> None:
    change, message = TAMPERED[case]
    bad = _rewrite(bundle, tmp_path / "bad.capsa", change)
    for target in (_memory(), capsa.open_store(str(tmp_path / f"dest-{uuid.uuid4().hex[:6]}"))):
        with pytest.raises(BundleError, match=message):
            import_bundle(target, bad)
        assert all_object_keys(target) == []
    with pytest.raises(BundleError):
        verify_bundle(bad)


def test_a_raw_byte_flip_or_truncation_is_rejected(tmp_path: Path, bundle: Path) -> None:
    raw = bundle.read_bytes()
    offset = raw.index(WEIGHTS[:32])  # stored uncompressed: flip a byte of the object itself
    flipped = tmp_path / "flipped.capsa"
    flipped.write_bytes(raw[:offset] + bytes([raw[offset] ^ 1]) + raw[offset + 1 :])
    truncated = tmp_path / "truncated.capsa"
    truncated.write_bytes(raw[: len(raw) // 2])
    not_zip = tmp_path / "text.capsa"
    not_zip.write_text("hello")
    for path, message in [
        (flipped, r"damaged|does not match"),
        (truncated, r"not a capsa bundle"),
        (not_zip, r"not a capsa bundle"),
        (tmp_path / "absent.capsa", r"no such file"),
    ]:
        target = _memory()
        with pytest.raises(BundleError, match=message):
            import_bundle(target, path)
        assert all_object_keys(target) == []


def test_duplicate_entries_are_rejected(tmp_path: Path, bundle: Path) -> None:
    dup = tmp_path / "dup.capsa"
    dup.write_bytes(bundle.read_bytes())
    with zipfile.ZipFile(dup, "a") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        zf.writestr("members/config.json", b'{"alpha": 9}')
    target = _memory()
    with pytest.raises(BundleError, match=r"appears twice"):
        import_bundle(target, dup)
    assert all_object_keys(target) == []


def test_export_refuses_a_corrupt_artifact_and_leaves_no_file(tmp_path: Path) -> None:
    store = _source(tmp_path)
    store.backend.put("exp/run-7/config.json", b'{\n  "alpha": 0.7\n}')  # same size, other bytes
    out = tmp_path / "corrupt.capsa"
    with pytest.raises(capsa.IntegrityError, match=r"does not match its manifest"):
        export_bundle(store, "exp/run-7", out)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if "capsa-part" in p.name] == []


def test_export_refuses_an_artifact_whose_object_is_gone(tmp_path: Path) -> None:
    from capsa.objects.store import object_key

    store = _source(tmp_path)
    digest = store.manifest("exp/run-7").member("weights.bin").sha256  # type: ignore[union-attr]
    store.backend.delete(object_key(digest))
    out = tmp_path / "gone.capsa"
    with pytest.raises(capsa.IntegrityError, match=r"object .* is missing"):
        export_bundle(store, "exp/run-7", out)
    assert not out.exists()
