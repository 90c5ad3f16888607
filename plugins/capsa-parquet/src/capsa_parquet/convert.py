"""Conversion helpers from Arrow tables to pandas and polars, when those are installed."""

# mypy: disable-error-code="import-untyped"

from __future__ import annotations

import importlib
from typing import Any


def _require(module: str, what: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ModuleNotFoundError(
            f"{what} needs {module}, which is not installed: pip install {module}",
            name=module,
        ) from exc


def _as_arrow(table: Any) -> Any:
    import pyarrow as pa

    if isinstance(table, pa.Table):
        return table
    if isinstance(table, pa.RecordBatch):
        return pa.Table.from_batches([table])
    if hasattr(type(table), "__arrow_c_stream__"):
        return pa.RecordBatchReader.from_stream(table).read_all()
    raise TypeError(
        f"expected a pyarrow Table, a ParquetTable or an Arrow stream, got {type(table).__name__}"
    )


def to_pandas(table: Any, **kwargs: Any) -> Any:
    """Convert a ``pyarrow.Table`` (or a :class:`~capsa_parquet.ParquetTable`) to pandas.

    The pandas metadata stored with tables that came from pandas restores the
    index and column dtypes. Extra keyword arguments go to
    ``pyarrow.Table.to_pandas``.

    :raises ModuleNotFoundError: pandas is not installed (the message says how
        to install it).
    """
    _require("pandas", "to_pandas")
    return _as_arrow(table).to_pandas(**kwargs)


def to_polars(table: Any) -> Any:
    """Convert a ``pyarrow.Table`` (or a :class:`~capsa_parquet.ParquetTable`) to polars.

    :raises ModuleNotFoundError: polars is not installed.
    """
    pl = _require("polars", "to_polars")
    return pl.from_arrow(_as_arrow(table))
