"""Bundles: one self-contained, verified file per artifact, for sharing.

``export_bundle(store, key, "run.capsa")`` (``capsa export KEY -o FILE``)
writes a zip holding the artifact's manifest, its members and the
content-addressed objects its members reference::

    capsa-bundle.json               the index (schema capsa.bundle, version 1)
    _SUCCESS                        the manifest, byte for byte
    members/<file>                  members stored in place
    members/<dir>/<path>            the objects of a directory member (Zarr ...)
    members/<dir>.sha256sums        and its listing
    objects/<sha256>                members stored by reference

``import_bundle(other_store, "run.capsa")`` (``capsa import FILE``) checks
everything before writing anything: only the entries above, each once, no
name that could escape (``..``, absolute, backslashes); the index's schema;
the manifest against the index's hash; every entry's size and sha256 against
the manifest (and the zip's CRC). A bundle that fails any check raises
:class:`BundleError` and the store is untouched. It then commits the
artifact (one transaction, the store's overwrite policy) with its original
kind, meta, producer and provenance; objects already in the store are reused.

Hashes prove a bundle intact, not who made it: someone who rewrites a
member, the manifest and the index together makes a valid bundle.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import re
import zipfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

import msgspec

from capsa.errors import CapsaError, IntegrityError, ObjectNotFoundError
from capsa.store.artifact import SUMS_SUFFIX
from capsa.store.manifest import Manifest, MemberRecord, decode_manifest

if TYPE_CHECKING:
    from capsa.store.artifact import ArtifactRef
    from capsa.store.store import Store

BUNDLE_SCHEMA = "capsa.bundle"
"""The ``schema`` field of a bundle index."""

BUNDLE_VERSION = 1
"""The bundle index schema version this capsa writes and reads."""

INDEX_NAME = "capsa-bundle.json"
MANIFEST_NAME = "_SUCCESS"
MEMBERS_DIR = "members/"
OBJECTS_DIR = "objects/"

CHUNK = 8 << 20
_SHA = re.compile(r"^[0-9a-f]{64}$")


class BundleError(IntegrityError):
    """A bundle is malformed, incomplete or tampered with; nothing was written."""


class BundleEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One file in a bundle.

    :ivar path: its name in the zip.
    :ivar size: its size in bytes.
    :ivar sha256: its sha256.
    """

    path: str
    size: int
    sha256: str


class BundleIndex(msgspec.Struct, kw_only=True):
    """``capsa-bundle.json``.

    :ivar schema: :data:`BUNDLE_SCHEMA`.
    :ivar schema_version: :data:`BUNDLE_VERSION`.
    :ivar key: the artifact's key in the store it came from.
    :ivar kind: its kind.
    :ivar kind_version: its kind version.
    :ivar manifest_sha256: sha256 of the ``_SUCCESS`` entry.
    :ivar exported_at: when the bundle was written (UTC ISO-8601).
    :ivar exported_from: URL of the store it came from.
    :ivar capsa: version of the capsa that wrote it.
    :ivar entries: every other file, with size and sha256.
    """

    schema: str
    schema_version: int
    key: str
    kind: str
    kind_version: int
    manifest_sha256: str
    exported_at: str
    exported_from: str
    capsa: str
    entries: list[BundleEntry] = msgspec.field(default_factory=list)


class BundleInfo(msgspec.Struct, kw_only=True):
    """What an export wrote.

    :ivar path: the bundle file.
    :ivar key: the artifact key.
    :ivar kind: its kind.
    :ivar members: how many members.
    :ivar objects: how many content-addressed objects.
    :ivar bytes: bytes of content (before zip overhead).
    """

    path: str
    key: str
    kind: str
    members: int
    objects: int
    bytes: int


def _now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# -- export --------------------------------------------------------------------------


def _copy(src: BinaryIO, dst: IO[bytes]) -> tuple[int, str]:
    hasher = hashlib.sha256()
    size = 0
    while chunk := src.read(CHUNK):
        hasher.update(chunk)
        dst.write(chunk)
        size += len(chunk)
    return size, hasher.hexdigest()


def export_bundle(
    store: Store, key: str, path: str | os.PathLike[str], *, compress: bool = False
) -> BundleInfo:
    """Write the artifact at ``key`` and everything it references to one zip file.

    Every byte is hashed on the way and checked against the manifest; a
    mismatch raises :class:`~capsa.errors.IntegrityError` and no file is left
    at ``path`` (the bundle is written beside it, then renamed into place).
    """
    from capsa import __version__

    artifact = store.load(key)
    manifest = artifact.manifest
    full = store._full(key)
    marker_raw = store.backend.get(f"{full}/{MANIFEST_NAME}")
    target = Path(path)
    if target.is_dir():
        raise CapsaError(f"cannot write the bundle to {str(path)!r}: it is a folder")
    if not target.parent.is_dir():
        raise CapsaError(
            f"cannot write the bundle to {str(path)!r}: the folder {str(target.parent)!r} "
            "does not exist"
        )
    tmp = target.with_name(f".{target.name}.capsa-part")
    entries: list[BundleEntry] = []
    total = objects = 0
    compression = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    try:
        with zipfile.ZipFile(tmp, "w", compression=compression, allowZip64=True) as zf:
            zf.writestr(MANIFEST_NAME, marker_raw)

            def add(name: str, src: BinaryIO, size: int, sha256: str, what: str) -> None:
                nonlocal total
                with zf.open(name, "w", force_zip64=size > (1 << 31)) as dst:
                    got_size, got_sha = _copy(src, dst)
                if (got_size, got_sha) != (size, sha256):
                    raise IntegrityError(
                        f"artifact {key!r}: {what} does not match its manifest (size or sha256); "
                        "`capsa verify` reports it"
                    )
                entries.append(BundleEntry(path=name, size=size, sha256=sha256))
                total += size

            for record in manifest.members:
                if record.by_reference:
                    digest = str(record.object)
                    try:
                        src = store.objects.open(digest)
                    except ObjectNotFoundError:
                        raise IntegrityError(
                            f"artifact {key!r}: member {record.file!r}: its object {digest} is "
                            "missing from the store; `capsa verify` reports it"
                        ) from None
                    with src:
                        add(f"{OBJECTS_DIR}{digest}", src, record.size, digest, f"object {digest}")
                    objects += 1
                elif record.layout == "directory":
                    source: Any = artifact.source(record.file)
                    sums = source.sums()  # checked against the manifest
                    listing = store.backend.get(f"{full}/{record.file}{SUMS_SUFFIX}")
                    zf.writestr(f"{MEMBERS_DIR}{record.file}{SUMS_SUFFIX}", listing)
                    entries.append(
                        BundleEntry(
                            path=f"{MEMBERS_DIR}{record.file}{SUMS_SUFFIX}",
                            size=len(listing),
                            sha256=record.sha256,
                        )
                    )
                    for sub, sha in sorted(sums.items()):
                        object_key = f"{full}/{record.file}/{sub}"
                        size = store.backend.head(object_key).size
                        with store.backend.open_reader(object_key) as src:
                            add(
                                f"{MEMBERS_DIR}{record.file}/{sub}",
                                src,
                                size,
                                sha,
                                f"member {record.file}/{sub}",
                            )
                else:
                    with artifact.open(record.file) as src:
                        add(
                            f"{MEMBERS_DIR}{record.file}",
                            src,
                            record.size,
                            record.sha256,
                            f"member {record.file!r}",
                        )
            index = BundleIndex(
                schema=BUNDLE_SCHEMA,
                schema_version=BUNDLE_VERSION,
                key=key,
                kind=manifest.kind,
                kind_version=manifest.kind_version,
                manifest_sha256=hashlib.sha256(marker_raw).hexdigest(),
                exported_at=_now_iso(),
                exported_from=store.url,
                capsa=__version__,
                entries=entries,
            )
            zf.writestr(
                INDEX_NAME, msgspec.json.format(msgspec.json.encode(index), indent=2) + b"\n"
            )
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return BundleInfo(
        path=str(target),
        key=key,
        kind=manifest.kind,
        members=len(manifest.members),
        objects=objects,
        bytes=total,
    )


# -- import --------------------------------------------------------------------------


_INDEX_DECODER = msgspec.json.Decoder(BundleIndex)


def _safe_name(name: str, bundle: str) -> None:
    bad = (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or (len(name) > 1 and name[1] == ":")
        or any(part in ("", ".", "..") for part in name.rstrip("/").split("/"))
    )
    if bad:
        raise BundleError(f"bundle {bundle}: entry {name!r} has an unsafe name (it could escape)")


def _expected(manifest: Manifest, read_sums: Any) -> dict[str, tuple[int | None, str]]:
    """Entry name -> (size or None when only the hash is known, sha256) the manifest implies."""
    out: dict[str, tuple[int | None, str]] = {}
    for record in manifest.members:
        if record.by_reference:
            out[f"{OBJECTS_DIR}{record.object}"] = (record.size, record.sha256)
        elif record.layout == "directory":
            listing = f"{MEMBERS_DIR}{record.file}{SUMS_SUFFIX}"
            out[listing] = (None, record.sha256)
            for sub, sha in read_sums(record, listing).items():
                out[f"{MEMBERS_DIR}{record.file}/{sub}"] = (None, sha)
        else:
            out[f"{MEMBERS_DIR}{record.file}"] = (record.size, record.sha256)
    return out


class _Reader:
    """Checked access to the entries of an opened bundle."""

    def __init__(self, zf: zipfile.ZipFile, label: str):
        self.zf = zf
        self.label = label

    def read(self, name: str) -> bytes:
        try:
            return self.zf.read(name)
        except KeyError:
            raise BundleError(f"bundle {self.label}: entry {name!r} is missing") from None
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise BundleError(f"bundle {self.label}: entry {name!r} is damaged: {exc}") from None

    def hash(self, name: str) -> tuple[int, str]:
        hasher = hashlib.sha256()
        size = 0
        try:
            with self.zf.open(name) as fh:
                while chunk := fh.read(CHUNK):
                    hasher.update(chunk)
                    size += len(chunk)
        except KeyError:
            raise BundleError(f"bundle {self.label}: entry {name!r} is missing") from None
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise BundleError(f"bundle {self.label}: entry {name!r} is damaged: {exc}") from None
        return size, hasher.hexdigest()

    def open(self, name: str) -> BinaryIO:
        return self.zf.open(name)  # type: ignore[return-value]


def _open_zip(path: Path, label: str) -> zipfile.ZipFile:
    if not path.is_file():
        raise BundleError(f"bundle {label}: no such file")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise BundleError(f"bundle {label}: not a capsa bundle (or truncated): {exc}") from None


def read_bundle_index(path: str | os.PathLike[str]) -> BundleIndex:
    """Read and check a bundle's index (nothing else is verified)."""
    label = repr(str(path))
    with _open_zip(Path(path), label) as zf:
        return _index(_Reader(zf, label))


def _index(reader: _Reader) -> BundleIndex:
    raw = reader.read(INDEX_NAME)
    try:
        index = _INDEX_DECODER.decode(raw)
    except msgspec.DecodeError as exc:
        raise BundleError(
            f"bundle {reader.label}: {INDEX_NAME} is not a valid index: {exc}"
        ) from None
    if index.schema != BUNDLE_SCHEMA:
        raise BundleError(
            f"bundle {reader.label}: {INDEX_NAME} has schema {index.schema!r}, "
            f"expected {BUNDLE_SCHEMA!r}"
        )
    if index.schema_version > BUNDLE_VERSION:
        raise BundleError(
            f"bundle {reader.label}: bundle schema version {index.schema_version} is newer "
            f"than this capsa reads ({BUNDLE_VERSION}); upgrade capsa"
        )
    return index


def verify_bundle(path: str | os.PathLike[str]) -> tuple[BundleIndex, Manifest]:
    """Check a bundle completely (see the module docs); return its index and manifest."""
    label = repr(str(path))
    with _open_zip(Path(path), label) as zf:
        return _verify(_Reader(zf, label))


def _verify(reader: _Reader) -> tuple[BundleIndex, Manifest]:
    names = reader.zf.namelist()
    for name in names:
        _safe_name(name, reader.label)
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise BundleError(f"bundle {reader.label}: entry {duplicated[0]!r} appears twice")
    index = _index(reader)
    raw = reader.read(MANIFEST_NAME)
    if hashlib.sha256(raw).hexdigest() != index.manifest_sha256:
        raise BundleError(
            f"bundle {reader.label}: the manifest ({MANIFEST_NAME}) does not match the index's "
            "hash (edited?)"
        )
    try:
        manifest = decode_manifest(raw, key=index.key)
    except CapsaError as exc:
        raise BundleError(f"bundle {reader.label}: {exc}") from None
    if (manifest.kind, manifest.kind_version) != (index.kind, index.kind_version):
        raise BundleError(f"bundle {reader.label}: the index and the manifest disagree on the kind")

    def read_sums(record: MemberRecord, listing: str) -> dict[str, str]:
        data = reader.read(listing)
        if hashlib.sha256(data).hexdigest() != record.sha256:
            raise BundleError(
                f"bundle {reader.label}: the listing of member {record.file!r} does not match "
                "the manifest"
            )
        sums: dict[str, str] = {}
        for line in data.decode("utf-8", "replace").splitlines():
            digest, _, sub = line.partition("  ")
            if not _SHA.match(digest):
                raise BundleError(f"bundle {reader.label}: bad line in {listing!r}")
            _safe_name(f"{MEMBERS_DIR}{record.file}/{sub}", reader.label)
            sums[sub] = digest
        return sums

    expected = _expected(manifest, read_sums)
    listed = {entry.path: entry for entry in index.entries}
    if len(listed) != len(index.entries):
        raise BundleError(f"bundle {reader.label}: the index lists an entry twice")
    present = set(names) - {INDEX_NAME, MANIFEST_NAME}
    for name in sorted(present - set(expected)):
        raise BundleError(
            f"bundle {reader.label}: entry {name!r} is not part of the artifact (added?)"
        )
    for name in sorted(set(expected) - present):
        raise BundleError(f"bundle {reader.label}: entry {name!r} is missing")
    if set(listed) != set(expected):
        raise BundleError(f"bundle {reader.label}: the index does not list the artifact's files")
    for name, (size, sha) in sorted(expected.items()):
        entry = listed[name]
        if entry.sha256 != sha or (size is not None and entry.size != size):
            raise BundleError(
                f"bundle {reader.label}: the index disagrees with the manifest on {name!r}"
            )
        got_size, got_sha = reader.hash(name)
        if got_sha != sha or got_size != entry.size:
            raise BundleError(
                f"bundle {reader.label}: entry {name!r} does not match its sha256 "
                "(damaged or swapped)"
            )
    return index, manifest


def _import_kind(store: Store, manifest: Manifest) -> Any:
    """A kind that writes exactly the manifest's members (the installed one may differ)."""
    from capsa.kinds.base import ArtifactKind, MemberSpec

    specs = tuple(
        MemberSpec(name=r.name, filename=r.file, format=r.format, required=False)
        for r in manifest.members
    )
    attrs: dict[str, Any] = {
        "name": manifest.kind,
        "version": manifest.kind_version,
        "members": specs,
        "open_layout": True,
        "__doc__": f"Imported {manifest.kind!r} layout.",
    }
    return type("ImportedKind", (ArtifactKind,), attrs)()


def import_bundle(
    store: Store, path: str | os.PathLike[str], *, key: str | None = None
) -> ArtifactRef:
    """Verify a bundle completely, then commit its artifact into ``store``.

    :param key: where to put it (default: the key it was exported from).
    :raises BundleError: a malformed, incomplete or tampered bundle (nothing written).
    :raises ArtifactExistsError: in production, when the key is taken.
    """
    label = repr(str(path))
    with _open_zip(Path(path), label) as zf:
        reader = _Reader(zf, label)
        index, manifest = _verify(reader)
        target = index.key if key is None else key
        with store.transaction(target, _import_kind(store, manifest), meta=manifest.meta) as tx:
            tx.origin = (manifest.producer, manifest.provenance)
            for record in manifest.members:
                if record.by_reference:
                    digest = str(record.object)
                    with reader.open(f"{OBJECTS_DIR}{digest}") as fh:
                        tx.put_object(fh, digest=digest, size=record.size)
                    tx.write_record(record)
                elif record.layout == "directory":
                    directory = tx.directory(
                        record.name, format=record.format, options=record.options
                    )
                    listing = reader.read(f"{MEMBERS_DIR}{record.file}{SUMS_SUFFIX}")
                    for line in listing.decode("utf-8").splitlines():
                        _digest, _, sub = line.partition("  ")
                        directory.put(sub, reader.read(f"{MEMBERS_DIR}{record.file}/{sub}"))
                    directory.info = {k: v for k, v in record.info.items() if k != "objects"}
                    written = directory.close()
                    if written.sha256 != record.sha256 or written.size != record.size:
                        raise BundleError(
                            f"bundle {label}: member {record.file!r} did not restore identically"
                        )
                else:
                    with reader.open(f"{MEMBERS_DIR}{record.file}") as fh:
                        tx.write_record(record, fh)
            return tx.commit()
    raise AssertionError("unreachable")  # pragma: no cover


__all__ = [
    "BUNDLE_SCHEMA",
    "BUNDLE_VERSION",
    "BundleEntry",
    "BundleError",
    "BundleIndex",
    "BundleInfo",
    "export_bundle",
    "import_bundle",
    "read_bundle_index",
    "verify_bundle",
]
