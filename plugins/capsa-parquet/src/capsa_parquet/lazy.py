"""``ParquetTable``: a Parquet member whose footer is read and whose data waits until asked."""

# mypy: disable-error-code="import-untyped"

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from capsa_parquet._util import open_member, typed_errors

if TYPE_CHECKING:
    from capsa.formats.base import MemberSource
    from capsa_parquet.parquet import ParquetFormat


class ParquetTable:
    """A lazy handle on one Parquet member, what ``artifact["table"]`` returns.

    Building it reads only the file's footer (schema, row counts, row-group
    statistics, key-value metadata). Nothing else is read until
    :meth:`read`, :meth:`iter_batches`, :meth:`to_pandas` or
    :meth:`to_polars` is called; each call opens the member again (ranged
    reads on object stores) and holds no file open afterwards.

    It also exports the Arrow PyCapsule stream interface, so
    ``pyarrow.table(t)``, ``polars.DataFrame(t)`` or DuckDB read it directly
    (the whole table).
    """

    def __init__(self, source: MemberSource, fmt: ParquetFormat):
        import pyarrow.parquet as pq

        self._source = source
        self._fmt = fmt
        with open_member(source) as f, typed_errors(source.name, "parquet"):
            pf = pq.ParquetFile(f)
            self._metadata = pf.metadata
            self._schema = pf.schema_arrow
            self._names = list(self._schema.names)  # undecodable names fail here, typed

    @property
    def name(self) -> str:
        """The member name."""
        return self._source.name

    @property
    def schema(self) -> Any:
        """The Arrow schema (``pyarrow.Schema``), with its key-value metadata."""
        return self._schema

    @property
    def column_names(self) -> list[str]:
        """Column names, in order."""
        return list(self._names)

    @property
    def num_rows(self) -> int:
        """Number of rows (from the footer)."""
        return int(self._metadata.num_rows)

    @property
    def num_columns(self) -> int:
        """Number of columns."""
        return len(self._schema)

    @property
    def num_row_groups(self) -> int:
        """Number of row groups."""
        return int(self._metadata.num_row_groups)

    @property
    def metadata(self) -> Any:
        """The Parquet ``FileMetaData`` (row groups, column statistics, created_by ...)."""
        return self._metadata

    @property
    def key_value_metadata(self) -> dict[str, str]:
        """The schema's key-value metadata, decoded (``{"pandas": "...", ...}``)."""
        raw = self._schema.metadata or {}
        return {k.decode("utf-8", "replace"): v.decode("utf-8", "replace") for k, v in raw.items()}

    def read(
        self, columns: list[str] | None = None, filters: Any = None, *, use_threads: bool = True
    ) -> Any:
        """Read into a ``pyarrow.Table``; ``columns`` and ``filters`` as for the format's ``read``.

        Only the row groups whose statistics may match ``filters`` and only
        the ``columns`` asked for are read.
        """
        return self._fmt._read_table(
            self._source,
            columns=columns,
            filters=filters,
            use_threads=use_threads,
            metadata=self._metadata if filters is None else None,
        )

    def iter_batches(
        self, batch_size: int = 65536, columns: list[str] | None = None, filters: Any = None
    ) -> Iterator[Any]:
        """Yield ``pyarrow.RecordBatch`` es with bounded memory (one row group at a time)."""
        return self._fmt.iter_batches(
            self._source, batch_size=batch_size, columns=columns, filters=filters
        )

    def to_pandas(
        self, columns: list[str] | None = None, filters: Any = None, **kwargs: Any
    ) -> Any:
        """Read and convert to a pandas DataFrame (needs pandas)."""
        from capsa_parquet.convert import to_pandas

        return to_pandas(self.read(columns, filters), **kwargs)

    def to_polars(self, columns: list[str] | None = None, filters: Any = None) -> Any:
        """Read and convert to a polars DataFrame (needs polars)."""
        from capsa_parquet.convert import to_polars

        return to_polars(self.read(columns, filters))

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """Export the whole table through the Arrow PyCapsule stream interface."""
        return self.read().__arrow_c_stream__(requested_schema)

    def __len__(self) -> int:
        """Number of rows."""
        return self.num_rows

    def __repr__(self) -> str:
        cols = ", ".join(f"{f.name}: {f.type}" for f in list(self._schema)[:8])
        more = ", ..." if len(self._schema) > 8 else ""
        return (
            f"ParquetTable({self.name!r}, rows={self.num_rows}, "
            f"row_groups={self.num_row_groups}, columns=[{cols}{more}])"
        )
