"""Validation of artifact keys and member file names.

A key is a ``/``-separated relative path. It is refused before anything is
written when it could escape the store root or confuse a backend: empty
segments, ``.`` or ``..``, a leading ``/``, backslashes, NUL or other control
characters (line separators included), lone surrogates (not UTF-8), Windows
drive letters, a segment too long for a file system, or a segment reserved by
capsa. Reserved names are compared case-insensitively: on a case-insensitive
file system (macOS, Windows) ``_success`` *is* ``_SUCCESS``.
"""

from __future__ import annotations

import unicodedata

from capsa.errors import InvalidKeyError

MARKER = "_SUCCESS"
"""The commit marker's file name; it holds the manifest."""

CLAIM = "_CLAIM"
"""Object that reserves a key while a save writes in place (marker protocol)."""

INTERNAL_PREFIX = ".capsa"
"""Top-level folder of capsa's own bookkeeping (staging, trash) in a store."""

MAX_KEY_BYTES = 1024
"""Longest key accepted, in UTF-8 bytes (S3's limit)."""

MAX_SEGMENT_BYTES = 200
"""Longest ``/``-separated segment accepted, in UTF-8 bytes.

File systems refuse names longer than 255 bytes; capsa appends up to 54
bytes to a member's name on disk (``.sha256sums``, ``.capsa-tmp-<32 hex>``).
"""

_FORBIDDEN_CHARS = {"\\", "\x00", "\u2028", "\u2029"}
_TMP_INFIX = "capsa-tmp-"


def _forbidden(ch: str) -> bool:
    """Backslash, NUL, any control character (C0, DEL, C1) and the Unicode line separators."""
    return ch in _FORBIDDEN_CHARS or unicodedata.category(ch) == "Cc"


def _check_path(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidKeyError(f"{what} must be a string, got {type(value).__name__}: {value!r}")
    if not value:
        raise InvalidKeyError(f"{what} is empty")
    try:
        encoded = value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidKeyError(
            f"{what} {value[:60]!r} is not valid UTF-8 (a lone surrogate at {exc.start})"
        ) from exc
    if len(encoded) > MAX_KEY_BYTES:
        raise InvalidKeyError(f"{what} {value[:60]!r}... is longer than {MAX_KEY_BYTES} bytes")
    if value.startswith("/"):
        raise InvalidKeyError(f"{what} {value!r} is absolute; keys are relative to the store root")
    for ch in value:
        if _forbidden(ch):
            raise InvalidKeyError(f"{what} {value!r} contains the forbidden character {ch!r}")
    if len(value) >= 2 and value[1] == ":":
        # Windows reads any "<char>:" at the start as a drive, not only letters.
        raise InvalidKeyError(f"{what} {value!r} looks like a drive path")
    for segment in value.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKeyError(
                f"{what} {value!r} has an empty, '.' or '..' segment "
                "(it could escape the store root)"
            )
        if segment != segment.strip():
            raise InvalidKeyError(f"{what} {value!r} has a segment with surrounding whitespace")
        if _TMP_INFIX in segment.casefold():
            raise InvalidKeyError(f"{what} {value!r} uses the reserved infix {_TMP_INFIX!r}")
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise InvalidKeyError(
                f"{what} {value[:60]!r} has a segment {segment[:40]!r}... longer than "
                f"{MAX_SEGMENT_BYTES} bytes"
            )
    return value


def validate_key(key: object) -> str:
    """Return ``key`` when it is a valid artifact key; raise :class:`InvalidKeyError` otherwise."""
    k = _check_path(key, "key")
    segments = k.casefold().split("/")
    if segments[0] == INTERNAL_PREFIX:
        raise InvalidKeyError(f"key {k!r} is inside capsa's internal folder {INTERNAL_PREFIX!r}")
    if MARKER.casefold() in segments:
        raise InvalidKeyError(f"key {k!r} contains the reserved name {MARKER!r}")
    return k


def validate_member_file(name: object, *, key: str) -> str:
    """Return a member file name when valid; the error names the artifact key too."""
    try:
        n = _check_path(name, "member name")
    except InvalidKeyError as exc:
        raise InvalidKeyError(f"artifact {key!r}: {exc}") from None
    if n.split("/")[-1].casefold() in (MARKER.casefold(), CLAIM.casefold()):
        raise InvalidKeyError(
            f"artifact {key!r}: member name {n.split('/')[-1]!r} is reserved by capsa"
        )
    return n


def validate_prefix(prefix: object) -> str:
    """Validate a listing prefix ("" or a key-like string, one trailing ``/`` allowed)."""
    if prefix in ("", None):
        return ""
    if not isinstance(prefix, str):
        raise InvalidKeyError(f"prefix must be a string, got {type(prefix).__name__}")
    body = prefix[:-1] if prefix.endswith("/") else prefix
    if not body:
        raise InvalidKeyError(f"prefix {prefix!r} is absolute; list from the root with ''")
    _check_path(body, "prefix")
    return prefix
