"""The artifact-kind interface: a named, versioned layout of members."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, TypeGuard, cast

import msgspec

from capsa.errors import ValidationError


class MemberSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One member of an artifact kind.

    :ivar name: logical name used as ``artifact[name]`` and as the key in the
        data mapping handed to ``save``.
    :ivar filename: the file name inside the artifact (``"fit.npz"``);
        defaults to ``name``. ``artifact[filename]`` works too.
    :ivar format: the registered format name that writes and reads it.
    :ivar required: whether ``save`` refuses data without this member.
    :ivar options: default format options (``{"compressed": True}``).
    :ivar description: one line for docs and ``capsa plugins --all``.
    """

    name: str
    format: str
    filename: str = ""
    required: bool = True
    options: dict[str, Any] = msgspec.field(default_factory=dict)
    description: str = ""

    @property
    def file(self) -> str:
        """The file name the member is stored under."""
        return self.filename or self.name


class LegacyLayout(msgspec.Struct, frozen=True, kw_only=True):
    """An older version of a kind's layout that ``Store.load`` still reads.

    :ivar version: the kind version recorded in manifests written with it.
    :ivar renames: current logical member name -> file name used then, for
        members that were stored under another name.
    :ivar note: what changed, for docs.
    """

    version: int
    renames: dict[str, str] = msgspec.field(default_factory=dict)
    note: str = ""


class ArtifactKind:
    """A named, versioned layout of members with validation.

    Subclass it, set :attr:`name`, :attr:`version` and :attr:`members`, and
    register an instance from a ``capsa_register_artifact_kinds`` hook.
    Override :meth:`validate` to check data across members (shapes that must
    agree ...); it runs before anything is written.
    """

    name: ClassVar[str]
    """Unique kind name, conventionally ``"<plugin>.<thing>"``."""

    version: ClassVar[int] = 1
    """Layout version written into every manifest of this kind."""

    members: ClassVar[tuple[MemberSpec, ...]] = ()
    """The declared members."""

    open_layout: ClassVar[bool] = False
    """When True, undeclared member names are allowed; their format is taken
    from the file extension (``"metrics.json"`` -> json)."""

    legacy_layouts: ClassVar[tuple[LegacyLayout, ...]] = ()
    """Older layouts of this kind that can still be loaded."""

    description: ClassVar[str] = ""
    """One line shown by ``capsa plugins``."""

    layer: ClassVar[str | None] = None
    """The layer a :class:`capsa.layout.Layout` files this kind under (``"base"``)."""

    partition_keys: ClassVar[tuple[str, ...]] = ()
    """Partition keys a layout needs to place one artifact (``("chromosome",)``)."""

    catalog_fields: ClassVar[tuple[str, ...]] = ()
    """Scalar fields the catalog records for each artifact of this kind (``capsa runs``).

    Each entry is a dotted path into the manifest ``meta``: ``"duration_seconds"``,
    ``"metrics.loss"`` (recorded as ``loss``, the last segment), ``"metrics.*"``
    (every scalar entry of ``meta["metrics"]``, under its own name) or
    ``"name=path"`` to choose the field name. Scalars are numbers, booleans and
    strings; other values (lists, tables, None) are skipped. Explicit paths win
    over ``*`` when two give the same name. Override :meth:`catalog_values`
    for anything a path cannot express.
    """

    gc_keep: ClassVar[tuple[str, ...]] = ()
    """File-name patterns of plain files this kind's tools keep beside artifacts.

    ``capsa gc`` treats every object no manifest lists as debris, except
    those matching a pattern that an installed kind declares here
    (``fnmatch`` syntax): a pattern without ``/`` matches the file name (the
    last key segment), one with ``/`` the whole key (``*`` spans folders).
    capsa-dimred keeps the seed's ``*_runs.json`` inventories, its
    ``_RUN_*`` status markers and ``*/.capsa/dimred/*`` version chains.
    Declare only names a user would not expect gc to remove.
    """

    def member(self, name: str) -> MemberSpec | None:
        """Return the spec whose logical name or file name is ``name``."""
        for spec in self.members:
            if name in (spec.name, spec.file):
                return spec
        return None

    def to_members(self, data: Any) -> dict[str, Any]:
        """Split the user's ``data`` into ``{member name: value}``.

        A kind with exactly one declared member (and a closed layout) takes
        ``data`` as that member's value. Otherwise ``data`` must be a mapping
        keyed by member names (logical or file names).
        """
        if len(self.members) == 1 and not self.open_layout:
            return {self.members[0].name: data}
        if not isinstance(data, Mapping):
            names = ", ".join(repr(m.name) for m in self.members) or "file names"
            raise ValidationError(
                f"kind {self.name!r} expects a mapping of member name to value "
                f"({names}); got {type(data).__name__}"
            )
        out: dict[str, Any] = {}
        for key, value in data.items():
            if not isinstance(key, str):
                raise ValidationError(
                    f"kind {self.name!r}: member names must be strings, got {key!r}"
                )
            spec = self.member(key)
            out[spec.name if spec else key] = value
        return out

    def validate(self, members: Mapping[str, Any]) -> None:
        """Check the split data; raise :class:`~capsa.errors.ValidationError`.

        The default refuses missing required members and, for closed layouts,
        unknown ones. Subclasses call ``super().validate(members)`` first.
        """
        for spec in self.members:
            if spec.required and spec.name not in members:
                raise ValidationError(f"kind {self.name!r}: required member {spec.name!r} missing")
        if not self.open_layout:
            known = {m.name for m in self.members}
            unknown = sorted(set(members) - known)
            if unknown:
                raise ValidationError(
                    f"kind {self.name!r} has no member(s) {', '.join(map(repr, unknown))}; "
                    f"its members are {', '.join(repr(m) for m in sorted(known))}"
                )

    def catalog_values(self, meta: Mapping[str, Any]) -> dict[str, int | float | str | bool]:
        """The catalog fields of one artifact, from its manifest ``meta``.

        The default follows :attr:`catalog_fields`; it must not raise on
        missing or odd values (skip them): the catalog calls it on every commit.
        """
        return extract_fields(self.catalog_fields, meta)

    def legacy_layout(self, version: int) -> LegacyLayout | None:
        """Return the legacy layout recorded for ``version``, if any."""
        for layout in self.legacy_layouts:
            if layout.version == version:
                return layout
        return None


def _scalar(value: Any) -> TypeGuard[int | float | str | bool]:
    if isinstance(value, bool | int | str):
        return True
    return isinstance(value, float) and value == value and value not in (_INF, -_INF)


_INF = float("inf")


def extract_fields(
    paths: tuple[str, ...] | list[str], meta: Mapping[str, Any]
) -> dict[str, int | float | str | bool]:
    """Follow catalog field paths (see :attr:`ArtifactKind.catalog_fields`) into ``meta``."""
    wild: dict[str, int | float | str | bool] = {}
    named: dict[str, int | float | str | bool] = {}
    for entry in paths:
        alias, _, path = entry.rpartition("=")
        parts = path.split(".")
        node: Any = meta
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, Mapping) else None
        if not isinstance(node, Mapping):
            continue
        if parts[-1] == "*":
            for name, value in node.items():
                if isinstance(name, str) and name and _scalar(value):
                    wild[name] = value
        elif _scalar(value := node.get(parts[-1])):
            named[alias or parts[-1]] = value
    return {**wild, **named}


def typed_kind(
    name: str,
    *,
    format: str,
    filename: str | None = None,
    layer: str | None = None,
    partition_keys: tuple[str, ...] = (),
    version: int = 1,
    description: str = "",
    options: dict[str, Any] | None = None,
) -> ArtifactKind:
    """Declare a single-member typed kind in one line (seed 001's ``ArtifactType``).

    ``typed_kind("analysis_sequences", format="tsv", layer="base",
    partition_keys=("chromosome",))`` is a kind whose one member is
    ``analysis_sequences.tsv``, filed by a :class:`capsa.layout.Layout` under
    ``base_layer/analysis_sequences/chromosome=<value>``. The format is named,
    not imported: it must be registered when the kind is used.
    """
    if not name or "/" in name or "=" in name:
        raise ValidationError(f"kind name {name!r} must be non-empty without '/' or '='")
    for key in partition_keys:
        if not key.isidentifier():
            raise ValidationError(f"kind {name!r}: partition key {key!r} is not an identifier")
    spec = MemberSpec(
        name=name,
        filename=filename or f"{name}.{format}",
        format=format,
        options=dict(options or {}),
    )
    attrs: dict[str, Any] = {
        "name": name,
        "version": version,
        "members": (spec,),
        "layer": layer,
        "partition_keys": tuple(partition_keys),
        "description": description or f"{format} {name}" + (f" ({layer} layer)" if layer else ""),
        "__doc__": description or f"Typed kind {name!r}.",
    }
    cls = type(f"TypedKind_{name}", (ArtifactKind,), attrs)
    return cast(ArtifactKind, cls())
