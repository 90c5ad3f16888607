"""The manifest: what ``_SUCCESS`` holds, as msgspec Structs.

The marker is written last; its presence and validity is what makes a prefix
an artifact. It is plain, indented JSON, readable without capsa.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from capsa.errors import IncompatibleVersionError, IntegrityError, InvalidKeyError
from capsa.store.keys import validate_member_file

MANIFEST_SCHEMA = "capsa.manifest"
"""The ``schema`` field of every manifest."""

MANIFEST_VERSION = 2
"""The manifest schema version this capsa writes and the newest it reads.

Version 2 added :attr:`MemberRecord.object` (members stored by reference to a
content-addressed object); version 1 manifests decode unchanged.
"""

OBJECT_MEMBERS_SINCE = 2
"""The first manifest schema version whose members may be stored by reference."""

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class MemberRecord(msgspec.Struct, kw_only=True):
    """One stored member.

    :ivar name: logical member name (``artifact[name]``).
    :ivar file: file name inside the artifact prefix.
    :ivar format: the registered format that wrote it.
    :ivar size: size in bytes.
    :ivar sha256: hex sha256 of the stored bytes.
    :ivar options: format options used to write it.
    :ivar info: what the format's ``write`` returned; handed back to ``read``.
    :ivar layout: ``"file"`` (one object) or ``"directory"`` (a tree of objects
        under ``file/``, listed with their sha256 in ``file.sha256sums``;
        ``sha256`` is then the hash of that listing and ``size`` the total).
    :ivar object: set when the member is stored **by reference**: the sha256
        of a content-addressed object under ``.capsa/objects/`` (see
        :mod:`capsa.objects`), shared by every member with the same bytes,
        instead of a file under the artifact prefix. Equal to ``sha256``.
        Absent (not written) for members stored in place.
    """

    name: str
    file: str
    format: str
    size: int
    sha256: str
    options: dict[str, Any] = msgspec.field(default_factory=dict)
    info: dict[str, Any] = msgspec.field(default_factory=dict)
    layout: str = "file"
    object: str | msgspec.UnsetType = msgspec.UNSET

    @property
    def by_reference(self) -> bool:
        """True when the member's bytes are a content-addressed object, not a file in place."""
        return isinstance(self.object, str)


class GitInfo(msgspec.Struct, kw_only=True):
    """The git state of the working directory at save time."""

    commit: str
    dirty: bool
    branch: str | None = None


class Provenance(msgspec.Struct, kw_only=True):
    """Where and how the artifact was produced."""

    python: str
    implementation: str
    platform: str
    host: str
    pid: int
    program: str = ""
    git: GitInfo | None = None


class Producer(msgspec.Struct, kw_only=True):
    """Versions of the software that wrote the artifact.

    :ivar capsa: version of the core.
    :ivar plugins: distribution -> version for every plugin whose kind or
        formats were used.
    """

    capsa: str
    plugins: dict[str, str] = msgspec.field(default_factory=dict)


class Manifest(msgspec.Struct, kw_only=True):
    """The content of ``_SUCCESS``.

    :ivar schema: always :data:`MANIFEST_SCHEMA`.
    :ivar schema_version: :data:`MANIFEST_VERSION` at write time.
    :ivar key: the key the caller saved under (without the mode namespace).
    :ivar namespace: the mode namespace (``""``, ``"dev/<session>"``, ``"tests/<name>"``).
    :ivar kind: artifact kind name.
    :ivar kind_version: the kind's layout version.
    :ivar created_at: UTC ISO-8601 time of the commit.
    :ivar txid: unique id of the save that wrote it.
    :ivar mode: store mode at write time.
    :ivar members: the stored members.
    :ivar producer: software versions.
    :ivar provenance: environment of the writer.
    :ivar meta: the caller's JSON-safe metadata.
    """

    schema: str
    schema_version: int
    key: str
    namespace: str
    kind: str
    kind_version: int
    created_at: str
    txid: str
    mode: str
    members: list[MemberRecord]
    producer: Producer
    provenance: Provenance
    meta: dict[str, Any] = msgspec.field(default_factory=dict)

    def member(self, name: str) -> MemberRecord | None:
        """Return the record whose logical name or file name is ``name``."""
        for record in self.members:
            if name in (record.name, record.file):
                return record
        return None

    @property
    def size(self) -> int:
        """Total bytes of all members."""
        return sum(m.size for m in self.members)


def encode_manifest(manifest: Manifest) -> bytes:
    """Encode as indented JSON with a trailing newline."""
    return msgspec.json.format(msgspec.json.encode(manifest), indent=2) + b"\n"


_DECODER = msgspec.json.Decoder(Manifest)


def decode_manifest(raw: bytes, *, key: str) -> Manifest:
    """Decode and check a ``_SUCCESS`` marker; raise :class:`IntegrityError` naming ``key``."""
    try:
        manifest = _DECODER.decode(raw)
    except msgspec.DecodeError as exc:
        # msgspec's ValidationError subclasses DecodeError.
        raise IntegrityError(
            f"artifact {key!r}: _SUCCESS is not a valid capsa manifest: {exc}"
        ) from None
    except UnicodeDecodeError as exc:
        # msgspec raises this (not a DecodeError) for invalid UTF-8 inside a string.
        raise IntegrityError(
            f"artifact {key!r}: _SUCCESS is not a valid capsa manifest: invalid UTF-8 at "
            f"byte {exc.start} of a string"
        ) from exc
    except RecursionError as exc:
        raise IntegrityError(
            f"artifact {key!r}: _SUCCESS is not a valid capsa manifest: JSON nested too deeply"
        ) from exc
    if manifest.schema != MANIFEST_SCHEMA:
        raise IntegrityError(
            f"artifact {key!r}: _SUCCESS has schema {manifest.schema!r}, "
            f"expected {MANIFEST_SCHEMA!r}"
        )
    if manifest.schema_version > MANIFEST_VERSION:
        raise IncompatibleVersionError(
            f"artifact {key!r}: manifest schema version {manifest.schema_version} is newer "
            f"than this capsa reads ({MANIFEST_VERSION}); upgrade capsa"
        )
    if manifest.schema_version < 1:
        raise IntegrityError(
            f"artifact {key!r}: _SUCCESS has schema_version {manifest.schema_version}; "
            "versions start at 1"
        )
    if manifest.kind_version < 0:
        raise IntegrityError(
            f"artifact {key!r}: _SUCCESS has a negative kind_version {manifest.kind_version}"
        )
    seen: set[str] = set()
    for record in manifest.members:
        try:
            validate_member_file(record.file, key=key)
        except InvalidKeyError as exc:
            raise IntegrityError(f"artifact {key!r}: manifest lists a bad member: {exc}") from None
        if record.file in seen:
            raise IntegrityError(f"artifact {key!r}: member {record.file!r} listed twice")
        seen.add(record.file)
        if record.layout not in ("file", "directory"):
            raise IntegrityError(
                f"artifact {key!r}: member {record.file!r} has unknown layout {record.layout!r}"
            )
        if record.size < 0 or not _SHA256.match(record.sha256):
            raise IntegrityError(
                f"artifact {key!r}: member {record.file!r} has a malformed size or sha256"
            )
        if isinstance(record.object, str):
            _check_object_member(manifest, record, key)
    _check_names_unambiguous(manifest, seen, key)
    return manifest


def _check_names_unambiguous(manifest: Manifest, files: set[str], key: str) -> None:
    """``artifact[name]`` looks a member up by logical name or file: both must be unambiguous."""
    names: set[str] = set()
    for record in manifest.members:
        if record.name in names:
            raise IntegrityError(f"artifact {key!r}: member name {record.name!r} listed twice")
        names.add(record.name)
        if record.name != record.file and record.name in files:
            raise IntegrityError(
                f"artifact {key!r}: member name {record.name!r} is also the file of another member"
            )


def _check_object_member(manifest: Manifest, record: MemberRecord, key: str) -> None:
    """A by-reference member: a version 2+ manifest, a file layout, ``object == sha256``."""
    if manifest.schema_version < OBJECT_MEMBERS_SINCE:
        raise IntegrityError(
            f"artifact {key!r}: member {record.file!r} is stored by reference, which manifest "
            f"schema version {manifest.schema_version} cannot express"
        )
    if record.layout != "file":
        raise IntegrityError(
            f"artifact {key!r}: member {record.file!r} is a {record.layout} stored by "
            "reference; only file members can be"
        )
    if record.object != record.sha256:
        raise IntegrityError(
            f"artifact {key!r}: member {record.file!r} references object "
            f"{str(record.object)[:16]}... but records sha256 {record.sha256[:16]}..."
        )
