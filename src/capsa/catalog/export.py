"""Writing catalog rows to Parquet (DuckDB, Polars, pandas, Spark) or CSV.

One column per catalog column (:data:`capsa.catalog.query.COLUMNS`), then
one per field, in order of first appearance. A field whose values are all
integers is an int64 column, all numbers a float64 column, all booleans a
boolean column, anything else a string column; a row without the field has
a null. A whole catalog comes out in key order; a query's rows in their
order. Parquet needs pyarrow, imported here on first use (``pip install
capsa-parquet`` brings it); CSV needs only the standard library. A whole
catalog is read column by column in one pass.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from capsa.catalog.errors import CatalogError, ParquetUnavailableError
from capsa.catalog.query import COLUMNS, CatalogRow

FORMATS = ("parquet", "csv")
"""Export formats."""

_COLUMN_TYPES = {"kind_version": "int", "size": "int"}


class Columns:
    """Rows held column by column, ready to write.

    :ivar columns: column name -> values (one per row; None where a row has no value).
    :ivar types: field name -> ``int``, ``float``, ``bool`` or ``str``.
    """

    def __init__(self, columns: dict[str, list[Any]], types: dict[str, str]):
        self.columns = columns
        self.types = types

    def __len__(self) -> int:
        return len(self.columns["key"])

    @classmethod
    def from_rows(cls, rows: Iterable[CatalogRow]) -> Columns:
        """Gather rows (a query's result) into columns, keeping their order."""
        builder = ColumnBuilder()
        for row in rows:
            builder.add([getattr(row, c) for c in COLUMNS], row.fields)
        return builder.finish(sort=False)


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "str"


def field_type(values: list[Any], stored: set[str]) -> str:
    """The column type of a field: ``int``, ``float``, ``bool`` or ``str``.

    ``stored`` holds the index's type tags seen (``n``, ``b``, ``s``); numbers
    are told apart by looking at the values.
    """
    if stored == {"b"}:
        return "bool"
    if stored == {"n"}:
        ints = all(isinstance(v, int) for v in values if v is not None)
        return "int" if ints else "float"
    return "str"


class ColumnBuilder:
    """Appends rows (column values and a field mapping) into :class:`Columns`."""

    def __init__(self) -> None:
        self._columns: dict[str, list[Any]] = {c: [] for c in COLUMNS}
        self._fields: dict[str, list[Any]] = {}
        self._kinds: dict[str, set[str]] = {}
        self._count = 0

    def add(self, values: list[Any], fields: dict[str, Any]) -> None:
        """Append one row."""
        for name, value in zip(COLUMNS, values, strict=True):
            self._columns[name].append(value)
        for name, value in fields.items():
            if name in self._columns:
                continue  # a column wins over a field of the same name
            column = self._fields.get(name)
            if column is None:
                column = self._fields[name] = [None] * self._count
                self._kinds[name] = set()
            column.append(value)
            self._kinds[name].add(_type_of(value))
        self._count += 1
        for column in self._fields.values():
            if len(column) < self._count:
                column.append(None)

    def finish(self, *, sort: bool) -> Columns:
        """The columns (rows sorted by namespace and key when ``sort``)."""
        types: dict[str, str] = {}
        for name, kinds in self._kinds.items():
            if kinds == {"int"}:
                types[name] = "int"
            elif kinds <= {"int", "float"}:
                types[name] = "float"
            elif kinds == {"bool"}:
                types[name] = "bool"
            else:
                types[name] = "str"
        columns = {**self._columns, **self._fields}
        if sort and self._count:
            keys, spaces = self._columns["key"], self._columns["namespace"]
            order = sorted(range(self._count), key=lambda i: (spaces[i], keys[i]))
            columns = {name: [values[i] for i in order] for name, values in columns.items()}
        return Columns(columns, types)


def export_format(path: str | os.PathLike[str], format: str | None = None) -> str:
    """The export format: ``format`` when given, else from the file extension."""
    if format is None:
        suffix = Path(path).suffix.lower().lstrip(".")
        format = {"pq": "parquet", "parq": "parquet"}.get(suffix, suffix)
    if format not in FORMATS:
        raise CatalogError(
            f"cannot export the catalog to {str(path)!r}: unknown format {format!r}; "
            "use a .parquet or .csv file (or format='parquet'/'csv')"
        )
    return format


def _write_csv(table: Columns, path: Path) -> None:
    names = list(table.columns)
    tmp = path.with_name(path.name + ".capsa-part")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        for values in zip(*(table.columns[n] for n in names), strict=True):
            writer.writerow(["" if v is None else v for v in values])
    os.replace(tmp, path)


def _write_parquet(table: Columns, path: Path) -> None:
    try:
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.parquet as pq  # type: ignore[import-untyped]
    except ImportError:
        raise ParquetUnavailableError(
            "exporting the catalog to Parquet needs pyarrow, which is not installed: "
            "pip install capsa-parquet (it brings pyarrow), or export to .csv"
        ) from None
    arrow_types = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "str": pa.string()}
    arrays = []
    for name, values in table.columns.items():
        if name in COLUMNS:
            kind = _COLUMN_TYPES.get(name, "str")
        else:
            kind = table.types[name]
            if kind == "str":
                values = [None if v is None else str(v) for v in values]
            elif kind == "float":
                values = [None if v is None else float(v) for v in values]
        arrays.append(pa.array(values, type=arrow_types[kind]))
    arrow = pa.Table.from_arrays(arrays, names=list(table.columns))
    tmp = path.with_name(path.name + ".capsa-part")
    pq.write_table(arrow, tmp)
    os.replace(tmp, path)


def write_columns(
    table: Columns, path: str | os.PathLike[str], *, format: str | None = None
) -> int:
    """Write columns to ``path`` (replaced atomically); return how many rows."""
    chosen = export_format(path, format)
    target = Path(path)
    if target.is_dir():
        raise CatalogError(f"cannot export the catalog to {str(path)!r}: it is a folder")
    if not target.parent.is_dir():
        raise CatalogError(
            f"cannot export the catalog to {str(path)!r}: the folder {str(target.parent)!r} "
            "does not exist"
        )
    if chosen == "csv":
        _write_csv(table, target)
    else:
        _write_parquet(table, target)
    return len(table)


def export_rows(
    rows: Iterable[CatalogRow], path: str | os.PathLike[str], *, format: str | None = None
) -> int:
    """Write ``rows`` (in their order) to ``path`` (replaced atomically); return how many."""
    export_format(path, format)  # a bad target fails before the rows are gathered
    return write_columns(Columns.from_rows(rows), path, format=format)


__all__ = [
    "FORMATS",
    "ColumnBuilder",
    "Columns",
    "export_format",
    "export_rows",
    "field_type",
    "write_columns",
]
