"""Bad input is refused with a ValidationError naming the column, before anything is written."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from capsa.errors import ValidationError

FORMATS = ["parquet", "csv", "tsv", "arrow"]


def _refused(store, value, match, fmt="parquet", options=None):
    with pytest.raises(ValidationError, match=match):
        store.save(
            "bad/1",
            "bundle",
            {"ok.json": {"fine": True}, f"t.{fmt}": value},
            options={f"t.{fmt}": options or {}},
        )
    assert list(store.backend.list("")) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_ragged_columns(store, fmt):
    _refused(
        store,
        {"a": np.arange(3), "b": np.arange(4), "c": [1, 2, 3]},
        r"same length; 'a' has 3, 'b' has 4 rows \(ragged",
        fmt,
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_two_dimensional_array(store, fmt):
    _refused(store, {"a": np.arange(3), "m": np.ones((3, 2))}, r"column 'm' is 2-D \(shape", fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_unconvertible_object_dtype(store, fmt):
    mixed = np.array([1, "a", 2.5], dtype=object)
    _refused(store, {"ok": [1, 2, 3], "mixed": mixed}, r"column 'mixed' \(dtype object\)", fmt)
    opaque = np.array([object(), object()], dtype=object)
    _refused(store, {"o": opaque}, r"column 'o' \(dtype object\) cannot be converted", fmt)


def test_object_dtype_of_strings_is_fine(store):
    store.save("ok", "table", {"s": np.array(["a", None, "c"], dtype=object)})
    assert store.load("ok").read("table").column("s").to_pylist() == ["a", None, "c"]


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ({"a": 5}, "column 'a' must be a 1-D array or sequence"),
        ({"a": "text"}, "column 'a' must be a 1-D array or sequence"),
        ({"a": {"nested": [1]}}, "column 'a' must be a 1-D array"),
        ({1: [1, 2]}, "column names must be str"),
        ({}, "at least one column"),
        ({"c": np.array([1 + 2j])}, "column 'c' .*cannot be converted"),
    ],
)
def test_bad_columns(store, value, match):
    _refused(store, value, match)


@pytest.mark.parametrize("value", [[1, 2, 3], "a,b\n1,2\n", b"PAR1", 42, np.arange(3)])
def test_non_table_values(store, value):
    _refused(store, value, "cannot write a value of type")


def test_duplicate_column_names(store):
    table = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["x", "x"])
    _refused(store, table, "'x' appear twice")


@pytest.mark.parametrize(
    ("fmt", "options", "match"),
    [
        ("parquet", {"compresion": "zstd"}, "no write option 'compresion'"),
        ("parquet", {"compression": "zip"}, "option 'compression' must be"),
        ("parquet", {"compression": {"a": "bogus"}}, "option 'compression' must be"),
        ("parquet", {"compression": {"nope": "zstd"}}, "unknown column.*'nope'"),
        ("parquet", {"row_group_size": 0}, "option 'row_group_size' must be a positive int"),
        ("parquet", {"row_group_size": True}, "option 'row_group_size'"),
        ("parquet", {"use_dictionary": ["nope"]}, "'use_dictionary' names unknown column"),
        ("parquet", {"write_statistics": "yes"}, "option 'write_statistics'"),
        ("parquet", {"version": "3.0"}, "option 'version'"),
        ("parquet", {"metadata": {"k": 1}}, "option 'metadata'"),
        ("tsv", {"delimiter": ","}, "no write option 'delimiter'"),
        ("csv", {"header": "yes"}, "option 'header' must be a bool"),
        ("arrow", {"compression": "snappy"}, "option 'compression'"),
    ],
)
def test_unknown_or_bad_options(store, fmt, options, match):
    _refused(store, {"a": [1, 2]}, match, fmt, options)


def test_errors_name_artifact_and_member(store):
    with pytest.raises(ValidationError) as info:
        store.save("k", "table", {"a": [1], "b": [1, 2]})
    message = str(info.value)
    assert "'k'" in message and "table.parquet" in message and "'a'" in message


def test_pandas_object_column_that_arrow_cannot_convert(store):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"ok": [1, 2], "bad": pd.Series([1, "x"], dtype=object)})
    _refused(store, frame, "bad")


def test_one_shot_stream_is_read_once(store):
    table = pa.table({"a": [1, 2, 3]})
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches())
    store.save("r", "table", reader)  # validated (read) once, written from the same table
    assert store.load("r").read("table").equals(table)


@pytest.mark.parametrize("fmt", ["parquet", "tsv", "arrow"])
def test_write_without_validate_reads_a_stream_once(fmt):
    import io

    from capsa.plugins.manager import get_registry

    table = pa.table({"a": [1, 2, 3]})
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches())
    format_ = get_registry().format(fmt)
    out = io.BytesIO()
    info = format_.write(reader, out)  # no validate() first: write converts (once)
    assert info["rows"] == 3
    from capsa.formats.base import BytesSource

    assert format_.read(BytesSource(out.getvalue(), info=info)).equals(table)
