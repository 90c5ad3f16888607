"""The seed's runs-inventory file format: encode, decode, upsert and sort.

An inventory file is a JSON list of objects (one per run), written exactly
as ``json.dumps(records, indent=2)`` writes it: stdlib defaults, so ASCII
only, keys in record order, ``NaN``/``Infinity`` for non-finite floats (the
seed's :func:`~capsa_dimred.build_record` fills missing metrics with nan),
no trailing newline. Readers of the seed's files (``json.load``,
``pandas.read_json``) read it unchanged.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from capsa.errors import ValidationError
from capsa_dimred.constants import RUN_TAXONOMY_FIELDS
from capsa_dimred.errors import InventoryFormatError
from capsa_dimred.jsoncheck import check_json, check_mapping, to_plain

_MISSING = object()


def _default(value: Any) -> Any:
    if type(value).__module__ == "numpy":
        return value.tolist() if hasattr(value, "tolist") else value.item()
    raise TypeError(f"{type(value).__qualname__} is not JSON-serialisable")


def encode_inventory(records: Sequence[Mapping[str, Any]]) -> bytes:
    """Encode records exactly as the seed's writer did (``json.dumps(records, indent=2)``)."""
    return json.dumps(list(records), indent=2, default=_default).encode("utf-8")


def decode_inventory(raw: bytes, shown: str) -> list[dict[str, Any]]:
    """Decode an inventory file; raise :class:`InventoryFormatError` naming ``shown``."""
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        try:  # NaN / Infinity tokens: Python's json reads what Python's json wrote
            value = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            raise InventoryFormatError(f"runs inventory {shown} is not valid JSON: {exc}") from None
    if not isinstance(value, list):
        raise InventoryFormatError(
            f"runs inventory {shown} must hold a JSON list of records, got {type(value).__name__}"
        )
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise InventoryFormatError(
                f"runs inventory {shown}: entry {i} is a {type(item).__name__}, not an object"
            )
    return value


def check_key_fields(key_fields: object, what: str = "key_fields") -> tuple[str, ...]:
    """``key_fields`` as a tuple of distinct strings; refuse a bare string or an empty one."""
    if isinstance(key_fields, str | bytes) or not isinstance(key_fields, Sequence):
        raise ValidationError(
            f"{what} must be a sequence of field names (e.g. FIT_RUN_KEY_FIELDS), "
            f"got {type(key_fields).__name__} {key_fields!r}"
        )
    fields = tuple(key_fields)
    if not fields:
        raise ValidationError(f"{what} is empty: a record needs at least one key field")
    for name in fields:
        if not isinstance(name, str) or not name:
            raise ValidationError(f"{what} must hold non-empty strings, got {name!r}")
    if len(set(fields)) != len(fields):
        raise ValidationError(f"{what} lists a field twice: {list(fields)}")
    return fields


def check_record(record: object, key_fields: tuple[str, ...]) -> dict[str, Any]:
    """Return a copy of ``record`` after checking it has every key field and is JSON."""
    rec = check_mapping(record, "record")
    missing = [f for f in key_fields if f not in rec]
    if missing:
        raise ValidationError(
            f"record misses the key field(s) {', '.join(map(repr, missing))} "
            f"(key_fields: {list(key_fields)}); has {sorted(map(str, rec))}"
        )
    check_json(rec, "record", allow_nonfinite=True)
    out: dict[str, Any] = to_plain(dict(rec))  # numpy values compare and encode as JSON ones
    return out


def _token(value: Any) -> tuple[Any, ...]:
    """A sort token that orders values of mixed types without raising."""
    if value is _MISSING:
        return (0,)
    if value is None:
        return (1,)
    if isinstance(value, bool):
        return (2, int(value))
    if isinstance(value, int | float):
        if isinstance(value, float) and math.isnan(value):
            return (4,)
        return (3, value)
    if isinstance(value, str):
        return (5, value)
    return (6, json.dumps(value, sort_keys=True, default=str))


def sort_fields(key_fields: Sequence[str]) -> tuple[str, ...]:
    """The key fields, then the run-taxonomy fields not among them."""
    return (*key_fields, *(f for f in RUN_TAXONOMY_FIELDS if f not in key_fields))


def sort_records(records: list[dict[str, Any]], key_fields: Sequence[str]) -> list[dict[str, Any]]:
    """Sort records by :func:`sort_fields` (missing < None < bools < numbers < nan < strings)."""
    fields = sort_fields(key_fields)
    return sorted(records, key=lambda r: tuple(_token(r.get(f, _MISSING)) for f in fields))


def key_of(record: Mapping[str, Any], key_fields: Sequence[str]) -> tuple[Any, ...]:
    """The record's key-field values (missing fields give a sentinel that matches nothing)."""
    return tuple(record.get(f, _MISSING) for f in key_fields)


def matching(
    records: list[dict[str, Any]], record: Mapping[str, Any], key_fields: Sequence[str]
) -> list[int]:
    """Indices of the records whose every key field ``==`` the one of ``record``.

    Filters one field at a time, the last key field first (usually the most
    specific), so most records are dismissed after one cheap comparison.
    """
    candidates: list[int] | range = range(len(records))
    for field in reversed(key_fields):
        value = record[field]
        candidates = [i for i in candidates if records[i].get(field, _MISSING) == value]
        if not candidates:
            return []
    return list(candidates)


def upsert(
    records: list[dict[str, Any]], record: dict[str, Any], key_fields: Sequence[str]
) -> list[dict[str, Any]]:
    """Replace the records whose key fields equal ``record``'s (or append it); sort."""
    drop = set(matching(records, record, key_fields))
    kept = [r for i, r in enumerate(records) if i not in drop]
    kept.append(record)
    return sort_records(kept, key_fields)


_ITEM_BREAK = b"\n  },\n  {\n"


def split_items(body: bytes) -> list[bytes]:
    """The top-level items of an inventory encoded by :func:`encode_inventory`.

    In ``indent=2`` output a line holding exactly two spaces and ``}`` ends a
    top-level record (nested values are indented deeper, and strings never
    hold a raw newline), so the items can be cut without decoding.
    """
    if body == b"[]":
        return []
    if not (body.startswith(b"[\n  {") and body.endswith(b"}\n]")):
        return []
    pieces = body[2:-2].split(_ITEM_BREAK)
    if len(pieces) == 1:
        return pieces
    return [
        (b"" if i == 0 else b"  {\n") + piece + (b"" if i == len(pieces) - 1 else b"\n  }")
        for i, piece in enumerate(pieces)
    ]


def join_items(items: list[bytes]) -> bytes:
    """The inventory bytes of encoded items (inverse of :func:`split_items`)."""
    return b"[\n" + b",\n".join(items) + b"\n]" if items else b"[]"


def encode_item(record: Mapping[str, Any]) -> bytes:
    """One record as it appears inside an encoded inventory."""
    return encode_inventory([record])[2:-2]


def upsert_encoded(
    body: bytes | None,
    sorted_by: Sequence[str] | None,
    record: dict[str, Any],
    key_fields: Sequence[str],
    shown: str,
) -> tuple[bytes, int]:
    """:func:`upsert` on encoded bytes: return the new inventory bytes and record count.

    When ``body`` is sorted by ``key_fields`` already (``sorted_by``), only
    the new record is encoded and it is inserted by bisection, reusing the
    other records' bytes: the result is byte for byte what
    ``encode_inventory(upsert(...))`` gives, at a fraction of the cost.
    Otherwise everything is decoded, sorted and encoded.
    """
    records = decode_inventory(body, shown) if body is not None else []
    items = split_items(body) if body is not None else []
    if list(sorted_by or ()) != list(key_fields) or len(items) != len(records):
        merged = upsert(records, record, key_fields)
        return encode_inventory(merged), len(merged)
    for i in reversed(matching(records, record, key_fields)):
        del records[i], items[i]
    fields = sort_fields(key_fields)

    def token(r: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(_token(r.get(f, _MISSING)) for f in fields)

    at = bisect.bisect_right(records, token(record), key=token)
    items.insert(at, encode_item(record))
    return join_items(items), len(items)
