"""Dotted key paths (``model.optimizer.lr``) inside a config type and its values.

Sweeps and registries address config fields by dotted paths. This module
splits them, walks them through a config type (msgspec Structs, dataclasses,
dicts, lists, tagged unions, optional fields) alongside a config's builtin
form, and says precisely why a path does not exist.

* A Struct (or dataclass) segment must be one of its fields, by encoded name,
  or the tag field of a tagged union.
* A ``dict[str, V]`` segment may be any key (new keys are created).
* A ``list``/``tuple`` segment must be an index that exists in the value.
* A field typed ``Any`` accepts any path below it (it cannot be checked).
* Inside a union of tagged Structs, the variant is the one the value's tag
  selects; an optional field (``X | None``) holding ``None`` cannot be
  entered (override the whole field with a table instead).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from msgspec import inspect as mi

_OBJECT_TYPES = (mi.StructType, mi.DataclassType, mi.TypedDictType)


class PathError(Exception):
    """A dotted path does not exist in a config type; ``message`` says why."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def split_path(path: object) -> tuple[str, ...]:
    """Split a dotted path into segments; raise :class:`PathError` when malformed."""
    if not isinstance(path, str):
        raise PathError(f"a path must be a string, got {type(path).__name__} {path!r}")
    if not path:
        raise PathError("the path is empty")
    parts = tuple(path.split("."))
    for part in parts:
        if not part or part != part.strip():
            raise PathError(
                f"path {path!r} has an empty segment or one with surrounding spaces "
                "(expected names joined by dots, such as 'model.lr')"
            )
    return parts


def type_info_of(config_type: Any) -> mi.Type:
    """Return msgspec's type description of ``config_type``."""
    return mi.type_info(config_type)


def _describe(info: mi.Type) -> str:
    if isinstance(info, _OBJECT_TYPES):
        return info.cls.__qualname__
    name = type(info).__name__
    return name[:-4].lower() if name.endswith("Type") else name


def _fields(info: mi.Type) -> dict[str, mi.Type]:
    fields: dict[str, mi.Type] = {}
    tag_field = getattr(info, "tag_field", None)
    if tag_field is not None:
        fields[tag_field] = mi.StrType()
    for field in info.fields:  # type: ignore[attr-defined]
        fields[field.encode_name] = field.type
    return fields


def unwrap(info: mi.Type, value: Any = None) -> mi.Type:
    """Strip metadata and ``None`` from a type and pick a union's variant using ``value``."""
    while isinstance(info, mi.Metadata):
        info = info.type
    if not isinstance(info, mi.UnionType):
        return info
    options = [t for t in info.types if not isinstance(t, mi.NoneType)]
    if len(options) == 1:
        return unwrap(options[0], value)
    if isinstance(value, Mapping):
        objects = [t for t in options if isinstance(t, _OBJECT_TYPES)]
        tagged = [t for t in objects if isinstance(t, mi.StructType) and t.tag_field is not None]
        if tagged:
            tag = value.get(tagged[0].tag_field)
            for option in tagged:
                if option.tag == tag:
                    return option
        if len(objects) == 1:
            return objects[0]
        mappings = [t for t in options if isinstance(t, mi.DictType)]
        if len(mappings) == 1 and not objects:
            return mappings[0]
    if isinstance(value, list | tuple):
        sequences = [
            t for t in options if isinstance(t, mi.ListType | mi.TupleType | mi.VarTupleType)
        ]
        if len(sequences) == 1:
            return sequences[0]
    return info


_MISSING: Any = object()


def walk(config_type: Any, parts: tuple[str, ...], tree: Any = _MISSING) -> mi.Type:
    """Follow ``parts`` through ``config_type`` (and the builtin ``tree``); return the leaf type.

    :raises PathError: a segment is not a field, an index is out of range, a
        ``None`` value or a scalar is in the way.
    """
    info: mi.Type = type_info_of(config_type)
    value = tree
    for depth, part in enumerate(parts):
        here = ".".join(parts[:depth])
        info = unwrap(info, value)
        if isinstance(info, mi.AnyType):
            return info
        if value is None:
            raise PathError(
                f"{here!r} is null in the config, so it has no field {part!r}; "
                f"override {here!r} with a whole table instead"
            )
        where = f"{here!r} ({_describe(info)})" if depth else _describe(info)
        if isinstance(info, _OBJECT_TYPES):
            fields = _fields(info)
            if part not in fields:
                raise PathError(
                    f"{where} has no field {part!r}; its fields are {', '.join(sorted(fields))}"
                )
            info = fields[part]
            value = value.get(part, _MISSING) if isinstance(value, Mapping) else _MISSING
        elif isinstance(info, mi.DictType):
            info = info.value_type
            value = value.get(part, _MISSING) if isinstance(value, Mapping) else _MISSING
        elif isinstance(info, mi.ListType | mi.VarTupleType | mi.TupleType):
            if not isinstance(value, list | tuple):
                raise PathError(f"{where} is a list; override it as a whole")
            if not part.isdigit() or int(part) >= len(value):
                raise PathError(
                    f"{where} is a list of {len(value)} item(s); {part!r} is not an index in it"
                )
            index = int(part)
            info = info.item_types[index] if isinstance(info, mi.TupleType) else info.item_type
            value = value[index]
        elif isinstance(info, mi.UnionType):
            kinds = ", ".join(_describe(unwrap(t)) for t in info.types)
            raise PathError(f"{where} may hold several types ({kinds}); override it as a whole")
        else:
            kind = _describe(info)
            article = "an" if kind[:1] in "aeiou" else "a"
            raise PathError(
                f"{here or 'the config'!r} is {article} {kind}; it has no field {part!r}"
            )
    return info


def literal_choices(config_type: Any, parts: tuple[str, ...]) -> list[Any] | None:
    """The allowed values of a Literal/Enum field at ``parts``, or None when it is neither."""
    try:
        info = unwrap(walk(config_type, parts))
    except (PathError, TypeError, IndexError):
        return None
    if isinstance(info, mi.LiteralType):
        return list(info.values)
    if isinstance(info, mi.EnumType):
        return [member.value for member in info.cls]
    return None


def set_path(tree: dict[str, Any], parts: tuple[str, ...], value: Any) -> None:
    """Set ``tree[p0][p1]...[pn] = value`` in a builtin config tree, creating dict levels."""
    node: Any = tree
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[int(part)]
            continue
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        node = child
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def to_tree(config: Any) -> Any:
    """A config (Struct, dataclass, dict) as a builtin tree that re-decodes to the same value."""
    import datetime
    import decimal
    import uuid

    return msgspec.to_builtins(
        config,
        builtin_types=(
            datetime.datetime,
            datetime.date,
            datetime.time,
            datetime.timedelta,
            uuid.UUID,
            decimal.Decimal,
            bytes,
            bytearray,
        ),
    )


__all__ = [
    "PathError",
    "literal_choices",
    "set_path",
    "split_path",
    "to_tree",
    "type_info_of",
    "unwrap",
    "walk",
]
