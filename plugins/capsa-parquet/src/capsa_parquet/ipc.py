"""The ``arrow`` format (and its alias ``feather``): the Arrow IPC file format, i.e. Feather v2.

Uncompressed by default, so that on a local backend a read memory-maps the
file and the table's buffers point into it (no copy, no decode). Files are
readable with ``pyarrow.ipc.open_file``, ``pyarrow.feather.read_table``,
``pandas.read_feather`` and ``polars.read_ipc``.
"""

# mypy: disable-error-code="import-untyped"

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, BinaryIO, ClassVar

from capsa.formats.base import Format, MemberSource
from capsa_parquet._convert import WRITES, TableCache, accepts_table, as_table
from capsa_parquet._util import (
    PROJECTION_OPTIONS,
    Check,
    check_options,
    check_projection,
    is_bool,
    is_pos_int,
    open_member,
    schema_info,
    typed_errors,
)

WRITE_OPTIONS: Mapping[str, tuple[Check, str]] = {
    "compression": (
        lambda v: v in (None, "none", "lz4", "zstd"),
        "None, 'none', 'lz4' or 'zstd' (buffer compression; default none)",
    ),
    "chunk_size": (is_pos_int, "a positive int (rows per record batch)"),
}
"""Write options of the ``arrow`` format."""

READ_OPTIONS: Mapping[str, tuple[Check, str]] = {
    **PROJECTION_OPTIONS,
    "memory_map": (is_bool, "a bool (default True: zero-copy on local backends)"),
}
"""Read options of the ``arrow`` format."""

DEFAULT_CHUNK_ROWS = 1 << 20
"""Rows per record batch written, unless ``chunk_size`` is given."""


class ArrowFormat(Format):
    """Tables in the Arrow IPC file format (Feather v2), memory-mapped on local reads."""

    name: ClassVar[str] = "arrow"
    extensions: ClassVar[tuple[str, ...]] = (".arrow", ".feather")
    writes: ClassVar[tuple[str, ...]] = WRITES
    description: ClassVar[str] = (
        "Arrow IPC file / Feather v2 tables; zero-copy memory-mapped reads on local stores"
    )

    def __init__(self) -> None:
        self._cache = TableCache()

    def accepts(self, value: object) -> bool:
        """Tables, RecordBatches, dicts and anything with ``__arrow_c_stream__``."""
        return accepts_table(value)

    def validate(self, value: object, **options: Any) -> None:
        """Check the options and convert the value (kept for ``write``)."""
        check_options(self.name, "write", options, WRITE_OPTIONS)
        self._cache.put(value, as_table(value))

    def write(self, value: Any, sink: BinaryIO, **options: Any) -> Mapping[str, Any]:
        """Write the table as one Arrow IPC file.

        :return: rows, columns, schema summary, compression.
        """
        import pyarrow as pa

        table = self._cache.take_or_validate(value, lambda: self.validate(value, **options))
        compression = options.get("compression")
        compression = None if compression == "none" else compression
        chunk = options.get("chunk_size", DEFAULT_CHUNK_ROWS)
        from capsa_parquet._pipe import WriteBehindPipe  # threads: only when writing

        pipe = WriteBehindPipe(sink)
        try:
            write_options = pa.ipc.IpcWriteOptions(compression=compression)
            with pa.ipc.new_file(pipe, table.schema, options=write_options) as writer:
                writer.write_table(table, max_chunksize=chunk)
            pipe.finish()
        except BaseException:
            pipe.abort()
            raise
        info = schema_info(table)
        info["compression"] = compression or "none"
        return info

    def read(self, source: MemberSource, **options: Any) -> Any:
        """Read the member into a ``pyarrow.Table`` (``columns``, ``filters``, ``memory_map``).

        The table is fully validated (offsets, UTF-8) before it is returned:
        IPC buffers are used as stored, so corrupt bytes must not reach the
        caller as a table.
        """
        import pyarrow as pa

        check_options(self.name, "read", options, READ_OPTIONS)
        with (
            open_member(source, memory_map=options.get("memory_map", True)) as f,
            typed_errors(source.name, "arrow"),
        ):
            reader = pa.ipc.open_file(f)
            schema = reader.schema
            columns, expr = check_projection(schema, options.get("columns"), options.get("filters"))
            table = reader.read_all()
            table.validate(full=True)
            if expr is not None:
                table = table.filter(expr)
            if columns is not None:
                table = table.select(columns)
            return table


class FeatherFormat(ArrowFormat):
    """The ``feather`` name for the same format (Feather v2 is the Arrow IPC file format).

    It owns no extension (``.feather`` belongs to ``arrow``); it exists so
    that kinds and options can say ``format="feather"``.
    """

    name: ClassVar[str] = "feather"
    extensions: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = "alias of 'arrow' (Feather v2 = Arrow IPC file format)"
