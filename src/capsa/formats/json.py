"""The JSON format (msgspec), with strict checks for NaN and unsupported types."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, BinaryIO, ClassVar

import msgspec

from capsa.errors import IntegrityError, ValidationError
from capsa.formats.base import Format, MemberSource
from capsa.formats.jsonsafe import check_finite, to_builtin

_ENCODER = msgspec.json.Encoder(enc_hook=to_builtin, order="deterministic")


def _known_options(fmt: str, options: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ValidationError(
            f"format {fmt!r} has no option(s) {', '.join(map(repr, unknown))}"
            + (f"; it takes {', '.join(sorted(allowed))}" if allowed else "")
        )


def encode_json(value: Any, *, indent: int = 2) -> bytes:
    """Encode ``value`` as strict, key-sorted JSON (raises ValidationError on NaN)."""
    check_finite(value)
    try:
        raw = _ENCODER.encode(value)
    except (TypeError, NotImplementedError, msgspec.EncodeError) as exc:
        raise ValidationError(f"value is not JSON-serialisable: {exc}") from exc
    return msgspec.json.format(raw, indent=indent) if indent else raw


class JsonFormat(Format):
    """JSON documents: dicts, lists, scalars and msgspec Structs (msgspec-encoded)."""

    name: ClassVar[str] = "json"
    extensions: ClassVar[tuple[str, ...]] = (".json",)
    writes: ClassVar[tuple[str, ...]] = (
        "builtins.dict",
        "builtins.list",
        "builtins.tuple",
        "builtins.str",
        "builtins.int",
        "builtins.float",
        "builtins.bool",
        "builtins.NoneType",
        "msgspec.Struct",
    )
    description: ClassVar[str] = "JSON via msgspec; NaN/inf refused, keys sorted"

    def validate(self, value: object, **options: Any) -> None:
        """Check the type, the options, and that every float is finite."""
        _known_options(self.name, options, {"indent"})
        super().validate(value)
        # Encoding here catches unsupported nested types before any write.
        encode_json(value, indent=0)

    def write(self, value: Any, sink: BinaryIO, **options: Any) -> Mapping[str, Any] | None:
        """Write ``value`` as indented JSON (``indent=0`` for compact)."""
        sink.write(encode_json(value, indent=int(options.get("indent", 2))))
        return None

    def read(self, source: MemberSource, **options: Any) -> Any:
        """Decode the JSON document (``type=`` decodes into a msgspec type)."""
        target = options.get("type", Any)
        raw = source.read_bytes()
        try:
            return msgspec.json.decode(raw, type=target)
        except JSON_DECODE_ERRORS as exc:
            raise IntegrityError(
                f"member {source.name!r} is not valid JSON: {json_error_reason(exc)}"
            ) from exc


JSON_DECODE_ERRORS = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)
"""What msgspec raises on bad JSON bytes.

Besides ``DecodeError``, invalid UTF-8 inside a string raises
``UnicodeDecodeError`` and very deep nesting ``RecursionError``.
"""


def json_error_reason(exc: BaseException) -> str:
    """A one-line reason for one of :data:`JSON_DECODE_ERRORS`."""
    if isinstance(exc, UnicodeDecodeError):
        return f"invalid UTF-8 at byte {exc.start} of a string"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)
