"""capsa-parquet: table formats (Parquet, CSV, TSV, Arrow IPC/Feather) and ``table`` kinds.

All formats use pyarrow. They write pyarrow Tables and RecordBatches,
anything exporting the Arrow PyCapsule stream interface (pandas and polars
DataFrames) and dicts of equal-length 1-D arrays; they read back
``pyarrow.Table`` objects, with column projection and row filters.

Importing this package does not import pyarrow, pandas or polars: the public
names below are resolved on first attribute access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

from capsa.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from capsa_parquet.convert import to_pandas, to_polars
    from capsa_parquet.ipc import ArrowFormat, FeatherFormat
    from capsa_parquet.kind import TableKind, TsvTableKind
    from capsa_parquet.lazy import ParquetTable
    from capsa_parquet.parquet import ParquetFormat
    from capsa_parquet.text import CsvFormat, TsvFormat

__all__ = [
    "ArrowFormat",
    "CsvFormat",
    "FeatherFormat",
    "ParquetFormat",
    "ParquetTable",
    "TableKind",
    "TsvFormat",
    "TsvTableKind",
    "__version__",
    "to_pandas",
    "to_polars",
]

_LAZY = {
    "ArrowFormat": "capsa_parquet.ipc",
    "CsvFormat": "capsa_parquet.text",
    "FeatherFormat": "capsa_parquet.ipc",
    "ParquetFormat": "capsa_parquet.parquet",
    "ParquetTable": "capsa_parquet.lazy",
    "TableKind": "capsa_parquet.kind",
    "TsvFormat": "capsa_parquet.text",
    "TsvTableKind": "capsa_parquet.kind",
    "to_pandas": "capsa_parquet.convert",
    "to_polars": "capsa_parquet.convert",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
