"""capsa-parquet: table formats (Parquet, CSV, TSV, Arrow IPC/Feather) and ``table`` kinds.

All formats use pyarrow. They write pyarrow Tables and RecordBatches,
anything exporting the Arrow PyCapsule stream interface (pandas and polars
DataFrames) and dicts of equal-length 1-D arrays; they read back
``pyarrow.Table`` objects, with column projection and row filters.

Importing this package does not import pyarrow, pandas or polars: the public
names below are resolved on first attribute access.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

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


def __getattr__(name: str) -> Any:
    """Resolve the public names lazily."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'capsa_parquet' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the public names."""
    return sorted(set(globals()) | set(__all__))
