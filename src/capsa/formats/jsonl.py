"""The JSON Lines format: one JSON document per line."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO, ClassVar

import msgspec

from capsa.errors import IntegrityError, ValidationError
from capsa.formats.base import Format, MemberSource
from capsa.formats.json import _ENCODER, JSON_DECODE_ERRORS, _known_options, json_error_reason
from capsa.formats.jsonsafe import check_finite


class JsonlFormat(Format):
    """A list of JSON records, one per line (append-friendly logs, event streams)."""

    name: ClassVar[str] = "jsonl"
    extensions: ClassVar[tuple[str, ...]] = (".jsonl", ".ndjson")
    writes: ClassVar[tuple[str, ...]] = ("builtins.list", "builtins.tuple")
    description: ClassVar[str] = "JSON Lines; lazy read streams records"
    lazy: ClassVar[bool] = True

    def validate(self, value: object, **options: Any) -> None:
        """Check that every record is finite, JSON-serialisable and not a bare string."""
        _known_options(self.name, options, set())
        super().validate(value)
        assert isinstance(value, list | tuple)
        for i, record in enumerate(value):
            check_finite(record, f"$[{i}]")
            try:
                _ENCODER.encode(record)
            except (TypeError, NotImplementedError, msgspec.EncodeError) as exc:
                raise ValidationError(f"record {i} is not JSON-serialisable: {exc}") from exc

    def write(self, value: Any, sink: BinaryIO, **options: Any) -> Mapping[str, Any] | None:
        """Write one compact JSON document per line."""
        buf = bytearray()
        for record in value:
            buf += _ENCODER.encode(record)
            buf += b"\n"
            if len(buf) >= 1 << 20:
                sink.write(buf)
                buf = bytearray()
        if buf:
            sink.write(buf)
        return {"records": len(value)}

    def read(self, source: MemberSource, **options: Any) -> Any:
        """Return the list of records."""
        return list(JsonlRecords(source))

    def read_lazy(self, source: MemberSource, **options: Any) -> JsonlRecords:
        """Return a re-iterable view that streams the records on each iteration."""
        return JsonlRecords(source)


class JsonlRecords:
    """The records of a JSONL member, streamed from storage on each iteration."""

    def __init__(self, source: MemberSource):
        self._source = source

    def __iter__(self) -> Iterator[Any]:
        decoder = msgspec.json.Decoder()
        with self._source.open() as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    record = decoder.decode(line)
                except JSON_DECODE_ERRORS as exc:
                    raise IntegrityError(
                        f"member {self._source.name!r} line {lineno} is not valid JSON: "
                        f"{json_error_reason(exc)}"
                    ) from exc
                yield record

    def __repr__(self) -> str:
        return f"<JsonlRecords {self._source.name!r}>"
