r"""The ``csv`` and ``tsv`` formats: line-oriented, human-readable tables.

Writing: a header line of column names, then one line per row, fields
separated by ``,`` (csv) or a tab (tsv), lines ended by ``\\n``. Values are
quoted only when they must be: a string that contains the delimiter, a
double quote, a carriage return or a newline, or an empty string (so that it
differs from a missing value, which is an empty field). Inner quotes are
doubled. Everything else is written bare, as ``pyarrow.csv.write_csv`` with
``quoting_style="none"`` writes it (that is the path taken when no value
needs quoting; otherwise the same text is produced with Arrow compute
kernels, quoting just the values that need it).

Reading: with the column types recorded at write time (an exact, typed round
trip), or types inferred by pyarrow (``infer_types=True``), or given
(``schema=`` / ``column_types=``). Only an empty field is a missing value:
``NA`` or ``null`` stay strings.
"""

# mypy: disable-error-code="import-untyped"

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, BinaryIO, ClassVar

from capsa.errors import IntegrityError, ValidationError
from capsa.formats.base import Format, MemberSource, qualified_type_names
from capsa_parquet._convert import WRITES, TableCache, accepts_table, as_table
from capsa_parquet._util import (
    PROJECTION_OPTIONS,
    Check,
    check_options,
    check_projection,
    decode_schema,
    encode_schema,
    is_bool,
    open_member,
    schema_info,
    typed_errors,
)

BATCH_ROWS = 1 << 16
"""Rows formatted per batch on the quoting path."""


def _types_mapping(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) for k in value)


WRITE_OPTIONS: Mapping[str, tuple[Check, str]] = {
    "header": (is_bool, "a bool (write the header line; default True)"),
}
"""Write options of the ``csv`` and ``tsv`` formats."""

READ_OPTIONS: Mapping[str, tuple[Check, str]] = {
    **PROJECTION_OPTIONS,
    "schema": (
        lambda v: v is None or "pyarrow.lib.Schema" in qualified_type_names(v),
        "a pyarrow.Schema",
    ),
    "column_types": (
        lambda v: v is None or _types_mapping(v),
        "a dict of column name to pyarrow type (or type name such as 'int64')",
    ),
    "infer_types": (is_bool, "a bool"),
}
"""Read options of the ``csv`` and ``tsv`` formats."""


def _is_stringy(t: Any) -> bool:
    import pyarrow.types as pat

    return bool(pat.is_string(t) or pat.is_large_string(t))


def _text_type_ok(t: Any) -> bool:
    """Whether a column of type ``t`` is written as text that reads back to ``t``."""
    import pyarrow.types as pat

    if pat.is_dictionary(t):
        return _is_stringy(t.value_type) or _text_type_ok(t.value_type)
    return bool(
        pat.is_null(t)
        or pat.is_boolean(t)
        or pat.is_integer(t)
        or pat.is_float32(t)
        or pat.is_float64(t)
        or pat.is_decimal(t)
        or pat.is_date(t)
        or pat.is_timestamp(t)
        or pat.is_time(t)
        or _is_stringy(t)
    )


def _check_text_types(fmt: str, table: Any) -> None:
    for field in table.schema:
        if not _text_type_ok(field.type):
            raise ValidationError(
                f"column {field.name!r} has type {field.type}, which the {fmt} format cannot "
                "hold as text and read back; store the table as parquet (or arrow), or convert "
                "the column (e.g. to string) first"
            )


def _decoded(table: Any) -> Any:
    """Dictionary columns replaced by their values (the text holds the values)."""
    import pyarrow as pa
    import pyarrow.types as pat

    fields = list(table.schema)
    if not any(pat.is_dictionary(f.type) for f in fields):
        return table
    schema = pa.schema(
        [f.with_type(f.type.value_type) if pat.is_dictionary(f.type) else f for f in fields]
    )
    return table.cast(schema)


def _needs_quoting(table: Any, delimiter: str) -> bool:
    import re

    import pyarrow.compute as pc

    special = re.compile(f'[{re.escape(delimiter)}"\r\n]')
    if any(special.search(n) or n == "" for n in table.schema.names):
        return True
    pattern = f'[{re.escape(delimiter)}"\r\n]'
    for name, column in zip(table.schema.names, table.columns, strict=True):
        if not _is_stringy(column.type):
            continue
        if pc.any(pc.match_substring_regex(column, pattern)).as_py():
            return True
        if pc.any(pc.equal(pc.binary_length(column), 0)).as_py():
            return True
        del name
    return False


def _quote_strings(column: Any, delimiter: str) -> Any:
    import re

    import pyarrow.compute as pc

    pattern = f'[{re.escape(delimiter)}"\r\n]'
    need = pc.or_(pc.match_substring_regex(column, pattern), pc.equal(pc.binary_length(column), 0))
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(column, '"', '""'), '"', "")
    return pc.if_else(need, quoted, column)


def _quote_name(name: str, delimiter: str) -> str:
    if name == "" or any(c in name for c in (delimiter, '"', "\r", "\n")):
        return '"' + name.replace('"', '""') + '"'
    return name


def _write_quoted(table: Any, out: Any, delimiter: str, header: bool) -> None:
    """Write ``table`` as delimited text, quoting only the string values that need it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if header:
        out.write(
            (delimiter.join(_quote_name(n, delimiter) for n in table.schema.names) + "\n").encode()
        )
    for batch in table.to_batches(max_chunksize=BATCH_ROWS):
        if batch.num_rows == 0:
            continue
        cells = []
        for column in batch.columns:
            text = column if pa.types.is_string(column.type) else pc.cast(column, pa.string())
            if _is_stringy(column.type):
                text = _quote_strings(text, delimiter)
            cells.append(pc.fill_null(text, ""))
        lines = pc.binary_join_element_wise(*cells, delimiter)
        lines = pc.binary_join_element_wise(lines, "", "\n")
        offsets = pa.array([0, len(lines)], pa.int32())
        joined = pc.binary_join(pa.ListArray.from_arrays(offsets, lines), "")
        out.write(joined[0].as_buffer())


def _check_complete(f: Any, member: str, fmt: str, has_lines: bool) -> None:
    """A file this format wrote ends with a newline (or is empty when it has no lines)."""
    end = f.seek(0, 2)
    if end == 0 and not has_lines:
        return
    last = b""
    if end > 0:
        f.seek(end - 1)
        last = f.read(1)
    f.seek(0)
    if last != b"\n":
        raise IntegrityError(
            f"{fmt} member {member!r} is truncated: it does not end with a complete line"
        )


def _parse_type(name: str, value: Any) -> Any:
    import pyarrow as pa

    if isinstance(value, pa.DataType):
        return value
    if isinstance(value, str):
        try:
            return pa.type_for_alias(value)
        except (ValueError, KeyError) as exc:
            raise ValidationError(f"column_types[{name!r}]: unknown type {value!r}") from exc
    raise ValidationError(
        f"column_types[{name!r}] must be a pyarrow type or a type name, got {value!r}"
    )


def _readable(t: Any) -> Any:
    """The type to ask the CSV reader for, to cast to ``t`` after reading."""
    import pyarrow.types as pat

    return t.value_type if pat.is_dictionary(t) else t


class DelimitedFormat(Format):
    """Base class of the ``csv`` and ``tsv`` formats; subclasses set the delimiter."""

    delimiter: ClassVar[str] = ","
    writes: ClassVar[tuple[str, ...]] = WRITES

    def __init__(self) -> None:
        self._cache = TableCache()

    def accepts(self, value: object) -> bool:
        """Tables, RecordBatches, dicts and anything with ``__arrow_c_stream__``."""
        return accepts_table(value)

    def validate(self, value: object, **options: Any) -> None:
        """Check the options, convert the value, and check every column can be text."""
        check_options(self.name, "write", options, WRITE_OPTIONS)
        table = as_table(value)
        _check_text_types(self.name, table)
        self._cache.put(value, table)

    def write(
        self, value: Any, sink: BinaryIO, *, header: bool = True, **options: Any
    ) -> Mapping[str, Any]:
        """Write the table as delimited text.

        :return: rows, columns, schema summary, whether any value was quoted,
            and the exact Arrow schema (base64) used to read it back typed.
        """
        import pyarrow.csv as pcsv

        table = self._cache.take_or_validate(
            value, lambda: self.validate(value, header=header, **options)
        )
        text = _decoded(table)
        quoted = _needs_quoting(text, self.delimiter)
        from capsa_parquet._pipe import WriteBehindPipe  # threads: only when writing

        pipe = WriteBehindPipe(sink)
        try:
            if quoted:
                _write_quoted(text, pipe, self.delimiter, header)
            else:
                pcsv.write_csv(
                    text,
                    pipe,
                    pcsv.WriteOptions(
                        include_header=header,
                        delimiter=self.delimiter,
                        quoting_style="none",
                        quoting_header="none",
                    ),
                )
            pipe.finish()
        except BaseException:
            pipe.abort()
            raise
        info = schema_info(table)
        info.update(
            {
                "delimiter": self.delimiter,
                "header": header,
                "quoted": quoted,
                "arrow_schema": encode_schema(table.schema),
            }
        )
        return info

    def _target_schema(self, source: MemberSource, options: Mapping[str, Any]) -> Any:
        """The schema to read with: given, recorded, recorded + overrides, or None (infer)."""
        import pyarrow as pa

        given = options.get("schema")
        if given is not None:
            return given
        recorded = None
        if not options.get("infer_types", False) and "arrow_schema" in source.info:
            recorded = decode_schema(source.info["arrow_schema"], source.name)
        overrides = options.get("column_types") or {}
        types = {n: _parse_type(n, t) for n, t in overrides.items()}
        if recorded is None:
            return types or None
        unknown = [n for n in types if n not in recorded.names]
        if unknown:
            raise ValidationError(
                f"column_types names unknown column(s) {', '.join(map(repr, unknown))}"
            )
        return pa.schema(
            [f.with_type(types[f.name]) if f.name in types else f for f in recorded],
            metadata=recorded.metadata,
        )

    def read(self, source: MemberSource, **options: Any) -> Any:
        """Read the member into a ``pyarrow.Table``.

        :param columns: keep only these columns.
        :param filters: keep only matching rows (DNF list or Expression).
        :param schema: a ``pyarrow.Schema`` giving every column's type.
        :param column_types: ``{name: type}`` for some columns (a pyarrow type
            or a name such as ``"int32"``); the others as recorded or inferred.
        :param infer_types: ignore the types recorded at write time and let
            pyarrow infer them from the text (default False).
        """
        import pyarrow as pa
        import pyarrow.csv as pcsv

        check_options(self.name, "read", options, READ_OPTIONS)
        target = self._target_schema(source, options)
        header = bool(source.info.get("header", True))
        full_schema = target if isinstance(target, pa.Schema) else None
        if full_schema is not None:
            check_projection(full_schema, options.get("columns"), options.get("filters"))
        types: dict[str, Any] = {}
        if isinstance(target, pa.Schema):
            types = {f.name: _readable(f.type) for f in target}
        elif isinstance(target, dict):
            types = {n: _readable(t) for n, t in target.items()}
        names = list(full_schema.names) if (not header and full_schema is not None) else None
        read_options = pcsv.ReadOptions(
            use_threads=True,
            autogenerate_column_names=not header and names is None,
            column_names=names,
        )
        ours = "rows" in source.info  # written by this format: exact, one line per row
        parse_options = pcsv.ParseOptions(
            delimiter=self.delimiter,
            newlines_in_values=bool(source.info.get("quoted", True)),
            # A one-column row holding a missing value is an empty line.
            ignore_empty_lines=not ours,
        )
        convert_options = pcsv.ConvertOptions(
            column_types=types,
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        )
        with open_member(source) as f, typed_errors(source.name, self.name):
            if ours:
                _check_complete(f, source.name, self.name, header or source.info["rows"] > 0)
            table = pcsv.read_csv(
                f,
                read_options=read_options,
                parse_options=parse_options,
                convert_options=convert_options,
            )
            return self._finish(source, table, full_schema, ours, options)

    def _finish(
        self,
        source: MemberSource,
        table: Any,
        full_schema: Any,
        ours: bool,
        options: Mapping[str, Any],
    ) -> Any:
        import pyarrow.types as pat

        for field in table.schema:
            if pat.is_binary(field.type) or pat.is_large_binary(field.type):
                raise IntegrityError(
                    f"{self.name} member {source.name!r}: column {field.name!r} is not valid "
                    "UTF-8 text"
                )
        if ours and table.num_rows != source.info["rows"]:
            raise IntegrityError(
                f"{self.name} member {source.name!r} holds {table.num_rows} rows, "
                f"the manifest records {source.info['rows']}"
            )
        if full_schema is not None:
            if table.schema.names != full_schema.names:
                raise IntegrityError(
                    f"{self.name} member {source.name!r} has columns {table.schema.names}, "
                    f"expected {full_schema.names}"
                )
            table = table.cast(full_schema)
        columns, expr = check_projection(
            table.schema, options.get("columns"), options.get("filters")
        )
        if expr is not None:
            table = table.filter(expr)
        if columns is not None:
            table = table.select(columns)
        return table


class CsvFormat(DelimitedFormat):
    """Comma-separated values with a header line; see the module docstring."""

    name: ClassVar[str] = "csv"
    extensions: ClassVar[tuple[str, ...]] = (".csv",)
    delimiter: ClassVar[str] = ","
    description: ClassVar[str] = "comma-separated text with a header; typed round trip"


class TsvFormat(DelimitedFormat):
    """Tab-separated values with a header line; see the module docstring."""

    name: ClassVar[str] = "tsv"
    extensions: ClassVar[tuple[str, ...]] = (".tsv",)
    delimiter: ClassVar[str] = "\t"
    description: ClassVar[str] = "tab-separated text with a header; typed round trip"
