"""Raw bytes and UTF-8 text formats."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, BinaryIO, ClassVar

from capsa.errors import IntegrityError, ValidationError
from capsa.formats.base import Format, MemberSource
from capsa.formats.json import _known_options


class BytesFormat(Format):
    """Opaque bytes, stored as they are."""

    name: ClassVar[str] = "bytes"
    extensions: ClassVar[tuple[str, ...]] = (".bin",)
    writes: ClassVar[tuple[str, ...]] = (
        "builtins.bytes",
        "builtins.bytearray",
        "builtins.memoryview",
    )
    description: ClassVar[str] = "raw bytes; Artifact.open() gives a seekable file"

    def validate(self, value: object, **options: Any) -> None:
        """Check the type and that no options are given."""
        _known_options(self.name, options, set())
        super().validate(value)

    def write(self, value: Any, sink: BinaryIO, **options: Any) -> Mapping[str, Any] | None:
        """Write the bytes."""
        sink.write(value)
        return None

    def read(self, source: MemberSource, **options: Any) -> bytes:
        """Return the bytes."""
        return source.read_bytes()


class TextFormat(Format):
    """UTF-8 text (logs, reports, markdown)."""

    name: ClassVar[str] = "text"
    extensions: ClassVar[tuple[str, ...]] = (".txt", ".log", ".md", ".html", ".svg")
    writes: ClassVar[tuple[str, ...]] = ("builtins.str",)
    description: ClassVar[str] = "UTF-8 text"

    def validate(self, value: object, **options: Any) -> None:
        """Check the type and that the text encodes as UTF-8."""
        _known_options(self.name, options, set())
        super().validate(value)
        assert isinstance(value, str)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValidationError(f"text cannot be encoded as UTF-8: {exc}") from exc

    def write(self, value: Any, sink: BinaryIO, **options: Any) -> Mapping[str, Any] | None:
        """Write the text as UTF-8."""
        sink.write(value.encode("utf-8"))
        return None

    def read(self, source: MemberSource, **options: Any) -> str:
        """Decode the member as UTF-8."""
        try:
            return source.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise IntegrityError(f"member {source.name!r} is not valid UTF-8: {exc}") from exc
