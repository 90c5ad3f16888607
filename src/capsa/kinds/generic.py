"""The core's generic kinds: one JSON document, text, bytes, a pickle, or a bundle."""

from __future__ import annotations

from typing import ClassVar

from capsa.kinds.base import ArtifactKind, MemberSpec


class JsonKind(ArtifactKind):
    """One JSON document (metrics, configs, summaries) stored as ``data.json``."""

    name: ClassVar[str] = "json"
    version: ClassVar[int] = 1
    members: ClassVar[tuple[MemberSpec, ...]] = (
        MemberSpec(name="data", filename="data.json", format="json"),
    )
    description: ClassVar[str] = "one JSON document (data.json)"


class TextKind(ArtifactKind):
    """UTF-8 text (a log, a report) stored as ``text.txt``."""

    name: ClassVar[str] = "text"
    version: ClassVar[int] = 1
    members: ClassVar[tuple[MemberSpec, ...]] = (
        MemberSpec(name="text", filename="text.txt", format="text"),
    )
    description: ClassVar[str] = "UTF-8 text (text.txt)"


class BlobKind(ArtifactKind):
    """Opaque bytes stored as ``blob.bin``."""

    name: ClassVar[str] = "blob"
    version: ClassVar[int] = 1
    members: ClassVar[tuple[MemberSpec, ...]] = (
        MemberSpec(name="blob", filename="blob.bin", format="bytes"),
    )
    description: ClassVar[str] = "opaque bytes (blob.bin)"


class PickleKind(ArtifactKind):
    """A pickled Python object (``object.pkl``); loading needs ``trusted=True``."""

    name: ClassVar[str] = "pickle"
    version: ClassVar[int] = 1
    members: ClassVar[tuple[MemberSpec, ...]] = (
        MemberSpec(name="object", filename="object.pkl", format="pickle"),
    )
    description: ClassVar[str] = "opt-in pickle (object.pkl); loads need trusted=True"


class BundleKind(ArtifactKind):
    """Any set of files; each member's format comes from its extension.

    ``store.save("run", "bundle", {"metrics.json": {...}, "notes.txt": "..."})``
    """

    name: ClassVar[str] = "bundle"
    version: ClassVar[int] = 1
    open_layout: ClassVar[bool] = True
    description: ClassVar[str] = "free-form files, format by extension"
