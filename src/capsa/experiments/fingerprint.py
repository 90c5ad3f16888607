r"""Stable fingerprints of JSON-like payloads, and streamed file hashes.

:func:`stable_fingerprint` is the sha256 of a *canonical JSON* encoding of a
payload, so that the same value gives the same digest in every process, on
every platform and under every Python version capsa supports:

* object keys are sorted (by code point) and the output has no whitespace
  (``separators=(",", ":")``), so key order never matters;
* strings are written with ``\uXXXX`` escapes for everything outside ASCII
  (``ensure_ascii``), so the digest does not depend on an output encoding;
* floats are written as Python's shortest round-tripping ``repr`` (stable
  since Python 3.1); ``-0.0`` is written as ``0.0``; ``1`` and ``1.0`` stay
  different, as they are in JSON;
* tuples are written as lists.

Values that have no canonical JSON form are refused with a
:class:`FingerprintError` naming the place inside the payload (``$.a.b[2]``):
NaN and infinities, keys that are not strings, sets and frozensets (they have
no order), bytes, naive datetimes, circular references, and arbitrary objects.

Typed values are accepted as the JSON they stand for:

* a msgspec ``Struct`` is the mapping of its encoded field names to values,
  with the tag field of a tagged union included (every field is written, even
  with ``omit_defaults``);
* a dataclass instance is the mapping of its fields;
* an ``Enum`` member is its ``value``;
* a timezone-aware ``datetime`` is its UTC ISO-8601 text ending in ``Z``
  (two datetimes naming the same instant in different zones agree), a
  ``date`` its ISO text and a ``UUID`` its lower-case hex text.

So ``stable_fingerprint(config_struct) ==
stable_fingerprint(canonical_payload(config_struct))``: a run's fingerprint
can be recomputed from the ``config.json`` of its run directory.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import hashlib
import json
import math
import os
import re
import uuid
from collections.abc import Mapping
from typing import Any

import msgspec

from capsa.errors import ValidationError

FINGERPRINT_ALGORITHM = "sha256"
"""The digest behind :func:`stable_fingerprint` and :func:`sha256_for_file`."""

FILE_CHUNK = 1 << 20
"""Default bytes per read in :func:`sha256_for_file` (two buffers are used)."""

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class FingerprintError(ValidationError):
    """A payload has no canonical JSON form (NaN, a set, a non-string key ...).

    :ivar path: where in the payload the offending value is (``$.a.b[2]``).
    """

    def __init__(self, message: str, *, path: str):
        self.path = path
        super().__init__(f"cannot fingerprint the value at {path}: {message}")


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if _IDENT.match(key) else f"{path}[{json.dumps(key)}]"


def _type_name(value: object) -> str:
    cls = type(value)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


class _Canonicaliser:
    """Walks a payload once, checking it and building its canonical builtin form."""

    def __init__(self) -> None:
        self._active: set[int] = set()

    def mapping(self, items: Any, path: str, what: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if not isinstance(key, str):
                raise FingerprintError(
                    f"{what} key {key!r} is a {_type_name(key)}; JSON object keys must be strings",
                    path=path,
                )
            key = str.__str__(key)  # a str subclass (StrEnum) counts as its text
            if key in out:
                raise FingerprintError(f"{what} key {key!r} appears twice", path=path)
            out[key] = self.walk(value, _child(path, key))
        return out

    def walk(self, value: Any, path: str) -> Any:
        if value is None or value is True or value is False:
            return value
        if isinstance(value, enum.Enum):
            return self.walk(value.value, path)
        if isinstance(value, str):
            return str.__str__(value)
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise FingerprintError(
                    f"{value!r} has no JSON form (NaN and infinities are refused)", path=path
                )
            return 0.0 if value == 0.0 else float(value)
        if isinstance(value, _dt.datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                raise FingerprintError(
                    f"naive datetime {value.isoformat()!r} names no instant; "
                    "give it a timezone (datetime.UTC) or pass its text",
                    path=path,
                )
            text = value.astimezone(_dt.UTC).replace(tzinfo=None).isoformat()
            return f"{text}Z"
        if isinstance(value, _dt.date):
            return value.isoformat()
        if isinstance(value, uuid.UUID):
            return str(value)
        ident = id(value)
        if ident in self._active:
            raise FingerprintError("circular reference", path=path)
        self._active.add(ident)
        try:
            return self._container(value, path)
        finally:
            self._active.discard(ident)

    def _container(self, value: Any, path: str) -> Any:
        if isinstance(value, Mapping):
            return self.mapping(value.items(), path, "mapping")
        if isinstance(value, list | tuple):
            return [self.walk(item, f"{path}[{i}]") for i, item in enumerate(value)]
        if isinstance(value, msgspec.Struct):
            config = value.__struct_config__
            items: list[tuple[str, Any]] = []
            if config.tag_field is not None and config.tag is not None:
                items.append((config.tag_field, config.tag))
            for field in msgspec.structs.fields(value):
                items.append((field.encode_name, getattr(value, field.name)))
            return self.mapping(items, path, type(value).__qualname__)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            items = [(f.name, getattr(value, f.name)) for f in dataclasses.fields(value)]
            return self.mapping(items, path, type(value).__qualname__)
        if isinstance(value, set | frozenset):
            raise FingerprintError(
                f"a {type(value).__name__} has no order; pass sorted(...) as a list", path=path
            )
        if isinstance(value, bytes | bytearray | memoryview):
            raise FingerprintError(
                "bytes have no canonical JSON form; pass their sha256 or text", path=path
            )
        raise FingerprintError(
            f"objects of type {_type_name(value)} have no canonical JSON form; convert them "
            "to dicts, lists, strings, numbers, booleans or None first",
            path=path,
        )


def canonical_payload(payload: Any) -> Any:
    """Return the canonical builtin form of ``payload`` (dicts, lists, str, int, float, bool, None).

    Structs, dataclasses, enums, aware datetimes, dates and UUIDs are
    converted as the module documentation describes; anything without a
    canonical JSON form raises :class:`FingerprintError` naming its path.
    """
    try:
        return _Canonicaliser().walk(payload, "$")
    except RecursionError:
        raise FingerprintError("the payload is nested too deeply", path="$") from None


def canonical_json(payload: Any) -> bytes:
    """Return the canonical JSON encoding of ``payload`` (ASCII bytes, sorted keys, no spaces)."""
    tree = canonical_payload(payload)
    try:
        text = json.dumps(
            tree, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
        )
    except (ValueError, RecursionError) as exc:  # e.g. an int beyond the digit limit
        raise FingerprintError(str(exc), path="$") from None
    return text.encode("ascii")


def stable_fingerprint(payload: Any) -> str:
    """Return the sha256 hex digest of the canonical JSON encoding of ``payload``.

    Key order does not matter; the digest is the same across processes,
    platforms and Python versions. Raises :class:`FingerprintError` (a
    :class:`~capsa.errors.ValidationError`) naming the path of any value that
    has no canonical form (NaN, infinities, sets, non-string keys, objects).
    """
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def sha256_for_file(path: str | os.PathLike[str], *, chunk_size: int = FILE_CHUNK) -> str:
    """Return the sha256 hex digest of a file, read in chunks.

    Memory stays bounded by two buffers of ``chunk_size`` bytes whatever the
    file's size (reads and hashing overlap, see
    :func:`capsa.store.hashing.hash_stream`). Raises ``FileNotFoundError`` /
    ``IsADirectoryError`` / ``PermissionError`` naming the path.
    """
    from capsa.store.hashing import hash_stream

    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValidationError(f"chunk_size must be a positive int, got {chunk_size!r}")
    with open(path, "rb", buffering=0) as fh:
        size = os.fstat(fh.fileno()).st_size
        _size, digest = hash_stream(fh, size_hint=size, chunk=chunk_size)
    return digest


__all__ = [
    "FILE_CHUNK",
    "FINGERPRINT_ALGORITHM",
    "FingerprintError",
    "canonical_json",
    "canonical_payload",
    "sha256_for_file",
    "stable_fingerprint",
]
