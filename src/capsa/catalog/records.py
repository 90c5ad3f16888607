"""Catalog records: one row per committed artifact, derived from its manifest alone.

A record holds what an inventory needs without opening a member: the key and
namespace, the kind, the commit time and transaction id, the total size, the
fingerprint and status (``meta["fingerprint"]`` / ``meta["status"]`` when the
artifact has them), the scalar fields its kind declares
(:attr:`capsa.kinds.ArtifactKind.catalog_fields`), and the content-addressed
objects its members reference (reference counts are derived from these).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from capsa.store.keys import MARKER

if TYPE_CHECKING:
    from capsa.plugins.registry import Registry
    from capsa.store.manifest import Manifest

RECORD_SCHEMA = "capsa.catalog.record"
"""The ``schema`` field of a catalog record."""

RECORD_VERSION = 1
"""The catalog record schema version this capsa writes and reads."""

Scalar = int | float | str | bool
"""A catalog field value."""

COMMITTED = "committed"
"""The status recorded for an artifact whose meta carries no ``status``."""


class ObjectUse(msgspec.Struct, frozen=True, kw_only=True):
    """One member stored by reference.

    :ivar member: the member's file name.
    :ivar digest: the object's sha256.
    :ivar size: its size in bytes.
    """

    member: str
    digest: str
    size: int


class CatalogRecord(msgspec.Struct, kw_only=True):
    """What the catalog keeps about one committed artifact.

    :ivar schema: :data:`RECORD_SCHEMA`.
    :ivar schema_version: :data:`RECORD_VERSION`.
    :ivar key: the artifact key inside its namespace.
    :ivar namespace: ``""`` (production), ``dev/<session>`` or ``tests/<name>``.
    :ivar kind: the artifact kind.
    :ivar kind_version: the kind's layout version.
    :ivar created_at: commit time (UTC ISO-8601); the newer commit of a key wins.
    :ivar txid: the save's transaction id (breaks ties of ``created_at``).
    :ivar mode: the store mode of the save.
    :ivar size: total member bytes.
    :ivar fingerprint: ``meta["fingerprint"]`` when it is a string.
    :ivar status: ``meta["status"]`` when it is a string, else ``"committed"``.
    :ivar fields: the scalar fields the kind declares.
    :ivar objects: the members stored by reference.
    """

    schema: str = RECORD_SCHEMA
    schema_version: int = RECORD_VERSION
    key: str
    namespace: str = ""
    kind: str
    kind_version: int
    created_at: str
    txid: str
    mode: str
    size: int
    fingerprint: str | None = None
    status: str = COMMITTED
    fields: dict[str, Scalar] = msgspec.field(default_factory=dict)
    objects: list[ObjectUse] = msgspec.field(default_factory=list)

    @property
    def full_key(self) -> str:
        """The key inside the backend root (namespace included)."""
        return f"{self.namespace}/{self.key}" if self.namespace else self.key

    def newer_than(self, other: CatalogRecord) -> bool:
        """True when this record describes a later commit than ``other``."""
        return (self.created_at, self.txid) > (other.created_at, other.txid)


def split_full_key(full_key: str) -> tuple[str, str]:
    """``(namespace, key)`` of a backend key: ``dev/s1/a/b`` -> ``("dev/s1", "a/b")``."""
    parts = full_key.split("/")
    if parts[0] in ("dev", "tests") and len(parts) > 2:
        return "/".join(parts[:2]), "/".join(parts[2:])
    return "", full_key


def record_from_manifest(
    full_key: str, manifest: Manifest, registry: Registry | None = None
) -> CatalogRecord:
    """Build the catalog record of the artifact at ``full_key`` from its manifest.

    The namespace and key come from where the marker is (``full_key``), the
    rest from the manifest. ``registry`` finds the kind's declared fields; a
    kind that is not installed contributes none (the record is still made).
    """
    namespace, key = split_full_key(full_key.removesuffix(f"/{MARKER}"))
    meta = manifest.meta
    fields: dict[str, Scalar] = {}
    if registry is not None:
        try:
            kind = registry.kind(manifest.kind)
        except Exception:  # an unknown kind, a plugin conflict: no declared fields
            kind = None
        if kind is not None:
            fields = _checked(kind.catalog_values(meta))
    fingerprint = meta.get("fingerprint")
    status = meta.get("status")
    return CatalogRecord(
        key=key,
        namespace=namespace,
        kind=manifest.kind,
        kind_version=manifest.kind_version,
        created_at=manifest.created_at,
        txid=manifest.txid,
        mode=manifest.mode,
        size=manifest.size,
        fingerprint=fingerprint if isinstance(fingerprint, str) else None,
        status=status if isinstance(status, str) else COMMITTED,
        fields=fields,
        objects=[
            ObjectUse(member=r.file, digest=str(r.object), size=r.size)
            for r in manifest.members
            if r.by_reference
        ],
    )


def _checked(values: object) -> dict[str, Scalar]:
    """Keep the entries of a kind's ``catalog_values`` that are named scalars."""
    if not isinstance(values, dict):
        return {}
    out: dict[str, Scalar] = {}
    for name, value in values.items():
        if not isinstance(name, str) or not name:
            continue
        if isinstance(value, bool | int | str) or (
            isinstance(value, float) and value == value and abs(value) != float("inf")
        ):
            out[name] = value
    return out


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(CatalogRecord)


def encode_record(record: CatalogRecord) -> bytes:
    """Encode a record as compact JSON."""
    return _ENCODER.encode(record)


def decode_record(raw: bytes, *, source: str) -> CatalogRecord:
    """Decode a record; raise :class:`~capsa.catalog.errors.CatalogError` naming ``source``."""
    from capsa.catalog.errors import CatalogError

    try:
        record = _DECODER.decode(raw)
    except msgspec.DecodeError as exc:
        raise CatalogError(f"catalog record {source}: not a valid record: {exc}") from None
    if record.schema != RECORD_SCHEMA or record.schema_version > RECORD_VERSION:
        raise CatalogError(
            f"catalog record {source}: schema {record.schema!r} version "
            f"{record.schema_version} is not one this capsa reads ({RECORD_SCHEMA} "
            f"<= {RECORD_VERSION}); upgrade capsa"
        )
    return record


__all__ = [
    "COMMITTED",
    "RECORD_SCHEMA",
    "RECORD_VERSION",
    "CatalogRecord",
    "ObjectUse",
    "Scalar",
    "decode_record",
    "encode_record",
    "record_from_manifest",
    "split_full_key",
]
