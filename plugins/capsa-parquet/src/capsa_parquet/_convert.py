"""From what users hand to ``save`` to a pyarrow Table, with clear errors.

Accepted values:

* ``pyarrow.Table`` and ``pyarrow.RecordBatch``;
* anything exporting the Arrow PyCapsule stream interface
  (``__arrow_c_stream__``): pandas >= 2.2 and polars DataFrames, DuckDB
  relations, ``pyarrow.RecordBatchReader`` ...; read through
  ``pyarrow.RecordBatchReader.from_stream`` so that capsa never imports
  pandas or polars itself;
* older pandas DataFrames (no PyCapsule), through ``pyarrow.Table.from_pandas``
  (pandas is then already imported by the caller);
* a ``dict`` of column name to a 1-D array: numpy arrays, lists, tuples,
  pyarrow arrays or chunked arrays, pandas/polars Series.

Every refusal is a :class:`~capsa.errors.ValidationError` naming the column.
"""

# mypy: disable-error-code="import-untyped"

from __future__ import annotations

import _thread
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from capsa.errors import ValidationError
from capsa.formats.base import qualified_type_names

WRITES: tuple[str, ...] = (
    "pyarrow.lib.Table",
    "pyarrow.lib.RecordBatch",
    "builtins.dict",
    "pandas.DataFrame",
    "pandas.core.frame.DataFrame",
    "polars.dataframe.frame.DataFrame",
)
"""Type names the table formats write; anything with ``__arrow_c_stream__`` is accepted too."""

_PANDAS_FRAMES = ("pandas.DataFrame", "pandas.core.frame.DataFrame")


def accepts_table(value: object) -> bool:
    """Cheap type check: a known table type, a dict, or an Arrow PyCapsule stream exporter."""
    if hasattr(type(value), "__arrow_c_stream__"):
        return True
    names = qualified_type_names(value)
    return any(n in WRITES for n in names)


def _describe(value: object) -> str:
    t = type(value)
    return f"{t.__module__}.{t.__qualname__}"


def _column(name: str, col: Any) -> Any:
    """Convert one dict value to a pyarrow Array or ChunkedArray."""
    import pyarrow as pa

    if isinstance(col, pa.Array | pa.ChunkedArray):
        return col
    if isinstance(col, str | bytes | bytearray | Mapping) or not (
        hasattr(col, "__len__") or hasattr(col, "__arrow_c_array__")
    ):
        raise ValidationError(
            f"column {name!r} must be a 1-D array or sequence (numpy array, list, "
            f"pyarrow array), got {_describe(col)}"
        )
    ndim = getattr(col, "ndim", 1)
    if ndim != 1:
        shape = getattr(col, "shape", None)
        raise ValidationError(
            f"column {name!r} is {ndim}-D (shape {shape}); table columns must be 1-D. "
            "Split it into several columns, or store the array with the npz or zarr format"
        )
    dtype = getattr(col, "dtype", None)
    try:
        if hasattr(col, "__arrow_c_stream__") and not hasattr(col, "__arrow_c_array__"):
            return pa.chunked_array(col)
        return pa.array(col)
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
        kind = f" (dtype {dtype})" if dtype is not None else ""
        raise ValidationError(
            f"column {name!r}{kind} cannot be converted to an Arrow column: {exc}"
        ) from None


def _from_dict(value: Mapping[Any, Any]) -> Any:
    import pyarrow as pa

    names: list[str] = []
    arrays: list[Any] = []
    for name, col in value.items():
        if not isinstance(name, str):
            raise ValidationError(f"column names must be str, got {type(name).__name__} {name!r}")
        names.append(name)
        arrays.append(_column(name, col))
    lengths = {n: len(a) for n, a in zip(names, arrays, strict=True)}
    if len(set(lengths.values())) > 1:
        first = names[0]
        odd = [n for n in names if lengths[n] != lengths[first]]
        detail = ", ".join(f"{n!r} has {lengths[n]}" for n in [first, *odd][:6])
        raise ValidationError(
            f"columns must all have the same length; {detail} rows (ragged columns)"
        )
    try:
        return pa.Table.from_arrays(arrays, names=names)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise ValidationError(f"the columns do not form a table: {exc}") from None


def _from_stream(value: Any) -> Any:
    import pyarrow as pa

    try:
        return pa.RecordBatchReader.from_stream(value).read_all()
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
        raise ValidationError(
            f"{_describe(value)} could not be exported as an Arrow table: {exc}"
        ) from None


def _plain_type(t: Any) -> Any:
    """``t`` with view types replaced by their classic equivalents (None when unchanged).

    polars exports ``string_view``/``binary_view`` (and categoricals as
    dictionaries of them), which not every writer or reader handles; the
    classic large types hold the same values.
    """
    import pyarrow as pa
    import pyarrow.types as pat

    if pat.is_string_view(t):
        return pa.large_string()
    if pat.is_binary_view(t):
        return pa.large_binary()
    if pat.is_dictionary(t):
        value = _plain_type(t.value_type)
        index = t.index_type
        if value is None and pat.is_signed_integer(index):
            return None
        return pa.dictionary(pa.int32(), value or t.value_type, t.ordered)
    if pat.is_list(t) or pat.is_large_list(t) or pat.is_list_view(t) or pat.is_large_list_view(t):
        item = _plain_type(t.value_type)
        if item is None and (pat.is_list(t) or pat.is_large_list(t)):
            return None
        field = t.value_field.with_type(item or t.value_type)
        return pa.list_(field) if pat.is_list(t) or pat.is_list_view(t) else pa.large_list(field)
    if pat.is_fixed_size_list(t):
        item = _plain_type(t.value_type)
        return None if item is None else pa.list_(t.value_field.with_type(item), t.list_size)
    if pat.is_struct(t):
        fields = [t.field(i) for i in range(t.num_fields)]
        plain = [_plain_type(f.type) for f in fields]
        if all(p is None for p in plain):
            return None
        return pa.struct(
            [f if p is None else f.with_type(p) for f, p in zip(fields, plain, strict=True)]
        )
    if pat.is_map(t):
        key, item = _plain_type(t.key_type), _plain_type(t.item_type)
        if key is None and item is None:
            return None
        return pa.map_(key or t.key_type, item or t.item_type, t.keys_sorted)
    return None


def normalize(table: Any) -> Any:
    """Cast view types (from polars) to classic ones; refuse duplicate or no columns."""
    if table.num_columns == 0:
        raise ValidationError("a table needs at least one column")
    names = table.schema.names
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValidationError(f"column name(s) {', '.join(map(repr, dupes))} appear twice")
    fields = list(table.schema)
    plain = [_plain_type(f.type) for f in fields]
    if all(p is None for p in plain):
        return table
    import pyarrow as pa

    schema = pa.schema(
        [f if p is None else f.with_type(p) for f, p in zip(fields, plain, strict=True)],
        metadata=table.schema.metadata,
    )
    try:
        return table.cast(schema)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise ValidationError(f"the table's column types cannot be stored: {exc}") from None


def as_table(value: Any) -> Any:
    """Return ``value`` as a pyarrow Table; raise :class:`ValidationError` when it is not one."""
    import pyarrow as pa

    if isinstance(value, pa.Table):
        table = value
    elif isinstance(value, pa.RecordBatch):
        table = pa.Table.from_batches([value])
    elif isinstance(value, dict):
        table = _from_dict(value)
    elif hasattr(type(value), "__arrow_c_stream__"):
        table = _from_stream(value)
    elif any(n in _PANDAS_FRAMES for n in qualified_type_names(value)):
        try:
            table = pa.Table.from_pandas(value)
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise ValidationError(f"the pandas DataFrame cannot be converted: {exc}") from None
    else:
        raise ValidationError(
            f"a table format cannot write a value of type {_describe(value)}; it writes "
            "pyarrow Tables and RecordBatches, objects with __arrow_c_stream__ (pandas, "
            "polars DataFrames) and dicts of equal-length 1-D arrays"
        )
    return normalize(table)


class TableCache:
    """Tables converted by ``validate``, kept for the ``write`` that follows.

    The store validates every member before writing any; converting once
    matters for values that are expensive to convert, and is required for
    one-shot streams (a ``RecordBatchReader`` can be read only once). Keyed
    by the value's identity, bounded, thread-safe; ``write`` takes its entry
    out.
    """

    def __init__(self, size: int = 8):
        self._size = size
        self._lock = _thread.allocate_lock()
        self._items: OrderedDict[int, tuple[Any, Any]] = OrderedDict()

    def put(self, value: Any, table: Any) -> None:
        """Remember ``table`` as the conversion of ``value``."""
        with self._lock:
            self._items[id(value)] = (value, table)
            self._items.move_to_end(id(value))
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def take_or_validate(self, value: Any, validate: Callable[[], None]) -> Any:
        """Return the table ``validate`` converted; call ``validate`` first when it did not run."""
        table = self.take(value)
        if table is None:
            validate()
            table = self.take(value)
        if table is None:  # pragma: no cover - validate always caches
            raise RuntimeError("validate did not convert the value")
        return table

    def take(self, value: Any) -> Any | None:
        """Return (and forget) the table converted from this very object, if any."""
        with self._lock:
            item = self._items.pop(id(value), None)
        if item is None or item[0] is not value:
            return None
        return item[1]
