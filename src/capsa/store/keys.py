"""Validation of artifact keys and member file names.

A key is a ``/``-separated relative path. It is refused before anything is
written when it could escape the store root or confuse a backend: empty
segments, ``.`` or ``..``, a leading ``/``, backslashes, NUL or other control
characters, Windows drive letters, or a segment reserved by capsa.
"""

from __future__ import annotations

from capsa.errors import InvalidKeyError

MARKER = "_SUCCESS"
"""The commit marker's file name; it holds the manifest."""

CLAIM = "_CLAIM"
"""Object that reserves a key while a save writes in place (marker protocol)."""

INTERNAL_PREFIX = ".capsa"
"""Top-level folder of capsa's own bookkeeping (staging, trash) in a store."""

MAX_KEY_BYTES = 1024
"""Longest key accepted, in UTF-8 bytes (S3's limit)."""

_FORBIDDEN_CHARS = {"\\", "\x00"}


def _check_path(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidKeyError(f"{what} must be a string, got {type(value).__name__}: {value!r}")
    if not value:
        raise InvalidKeyError(f"{what} is empty")
    if len(value.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidKeyError(f"{what} {value[:60]!r}... is longer than {MAX_KEY_BYTES} bytes")
    if value.startswith("/"):
        raise InvalidKeyError(f"{what} {value!r} is absolute; keys are relative to the store root")
    for ch in value:
        if ch in _FORBIDDEN_CHARS or ord(ch) < 0x20 or ord(ch) == 0x7F:
            raise InvalidKeyError(f"{what} {value!r} contains the forbidden character {ch!r}")
    if len(value) >= 2 and value[1] == ":" and value[0].isalpha():
        raise InvalidKeyError(f"{what} {value!r} looks like a drive path")
    for segment in value.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKeyError(
                f"{what} {value!r} has an empty, '.' or '..' segment "
                "(it could escape the store root)"
            )
        if segment != segment.strip():
            raise InvalidKeyError(f"{what} {value!r} has a segment with surrounding whitespace")
        if "capsa-tmp-" in segment:
            raise InvalidKeyError(f"{what} {value!r} uses the reserved infix 'capsa-tmp-'")
    return value


def validate_key(key: object) -> str:
    """Return ``key`` when it is a valid artifact key; raise :class:`InvalidKeyError` otherwise."""
    k = _check_path(key, "key")
    segments = k.split("/")
    if segments[0] == INTERNAL_PREFIX:
        raise InvalidKeyError(f"key {k!r} is inside capsa's internal folder {INTERNAL_PREFIX!r}")
    if MARKER in segments:
        raise InvalidKeyError(f"key {k!r} contains the reserved name {MARKER!r}")
    return k


def validate_member_file(name: object, *, key: str) -> str:
    """Return a member file name when valid; the error names the artifact key too."""
    try:
        n = _check_path(name, "member name")
    except InvalidKeyError as exc:
        raise InvalidKeyError(f"artifact {key!r}: {exc}") from None
    if n.split("/")[-1] in (MARKER, CLAIM):
        raise InvalidKeyError(
            f"artifact {key!r}: member name {n.split('/')[-1]!r} is reserved by capsa"
        )
    return n


def validate_prefix(prefix: object) -> str:
    """Validate a listing prefix ("" or a key-like string, trailing ``/`` allowed)."""
    if prefix in ("", None):
        return ""
    if not isinstance(prefix, str):
        raise InvalidKeyError(f"prefix must be a string, got {type(prefix).__name__}")
    _check_path(prefix.rstrip("/") or "x", "prefix")
    return prefix
