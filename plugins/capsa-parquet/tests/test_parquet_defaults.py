"""Parquet defaults (float-aware codecs and dictionaries, row groups, metadata), overrides."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from capsa_parquet import ParquetFormat
from capsa_parquet.parquet import MAX_ROW_GROUP_ROWS, default_row_group_size


def _write(table, **options):
    fmt = ParquetFormat()
    fmt.validate(table, **options)
    out = io.BytesIO()
    info = fmt.write(table, out, **options)
    return out.getvalue(), dict(info)


def _chunks(data: bytes) -> dict[str, tuple[str, bool]]:
    """Column name -> (codec, dictionary-encoded) in the first row group."""
    md = pq.read_metadata(pa.BufferReader(data))
    out = {}
    for i in range(md.num_columns):
        col = md.row_group(0).column(i)
        out[col.path_in_schema] = (col.compression, col.has_dictionary_page)
    return out


def test_float_aware_defaults():
    n = 200_000
    rng = np.random.default_rng(0)
    table = pa.table(
        {
            "random": rng.random(n),  # incompressible: plain, uncompressed
            "rounded": np.round(rng.random(n), 2),  # few distinct values: dictionary
            "smooth": np.cumsum(rng.integers(1, 5, n)).astype(np.float64),  # compressible
            "position": np.arange(n, dtype=np.int64),
            "gene": pa.array([f"g{i % 100}" for i in range(n)]),
        }
    )
    data, info = _write(table)
    chunks = _chunks(data)
    assert chunks["random"] == ("UNCOMPRESSED", False)
    assert chunks["rounded"] == ("ZSTD", True)
    assert chunks["smooth"] == ("ZSTD", False)
    assert chunks["position"] == ("ZSTD", False)
    assert chunks["gene"] == ("ZSTD", True)
    assert info["compression"] == {
        "random": "none",
        "rounded": "zstd",
        "smooth": "zstd",
        "position": "zstd",
        "gene": "zstd",
    }
    assert info["dictionary"] == ["rounded", "gene"]
    md = pq.read_metadata(pa.BufferReader(data))
    stats = md.row_group(0).column(0).statistics
    assert stats is not None and stats.has_min_max
    # Random floats are stored at about their raw size, not inflated by a dictionary.
    assert len(data) < 1.02 * table.nbytes


def test_overrides():
    table = pa.table({"x": np.random.default_rng(0).random(10_000), "s": ["a"] * 10_000})
    data, info = _write(table, compression="snappy", use_dictionary=False, row_group_size=3_000)
    assert set(_chunks(data).values()) == {("SNAPPY", False)}
    assert info["row_groups"] == 4
    assert pq.read_metadata(pa.BufferReader(data)).num_row_groups == 4
    data, _ = _write(table, compression={"x": "gzip"}, compression_level=3)
    assert _chunks(data)["x"][0] == "GZIP" and _chunks(data)["s"][0] == "ZSTD"
    data, _ = _write(table, compression="none", use_byte_stream_split=["x"])
    md = pq.read_metadata(pa.BufferReader(data))
    assert "BYTE_STREAM_SPLIT" in md.row_group(0).column(0).encodings
    data, _ = _write(table, write_statistics=False)
    assert pq.read_metadata(pa.BufferReader(data)).row_group(0).column(0).statistics is None


def test_schema_and_key_value_metadata_are_kept():
    table = pa.table(
        {"x": pa.array([1, 2], pa.int16())},
    ).replace_schema_metadata({"source": "seed-001"})
    table = table.cast(
        pa.schema(
            [pa.field("x", pa.int16(), metadata={"unit": "bp"})], metadata=table.schema.metadata
        )
    )
    data, info = _write(table, metadata={"run": "7"})
    schema = pq.read_schema(pa.BufferReader(data))
    assert schema.field("x").type == pa.int16()
    assert schema.field("x").metadata == {b"unit": b"bp"}
    assert schema.metadata[b"source"] == b"seed-001"
    assert schema.metadata[b"run"] == b"7"
    assert info["metadata_keys"] == ["run", "source"]


def test_row_group_size_rule():
    narrow = pa.table({"a": np.zeros(10, dtype=np.float64)})
    assert default_row_group_size(narrow) == MAX_ROW_GROUP_ROWS
    wide = pa.table({f"c{i}": np.zeros(100) for i in range(2000)})  # 16 KB per row
    assert default_row_group_size(wide) == (128 << 20) // 16000
    assert default_row_group_size(narrow.slice(0, 0)) == MAX_ROW_GROUP_ROWS


def test_nested_columns_get_codecs_per_leaf():
    table = pa.table(
        {
            "s": pa.array([{"a": 1.5, "b": "x"}] * 100),
            "l": pa.array([[1, 2]] * 100),
            "f": np.random.default_rng(0).random(100),
        }
    )
    data, _ = _write(table)
    chunks = _chunks(data)
    assert chunks["s.a"][0] == "ZSTD" and chunks["s.b"][0] == "ZSTD"
    assert chunks["l.list.element"][0] == "ZSTD"
    assert pq.read_table(pa.BufferReader(data)).equals(table)


@pytest.mark.parametrize("rows", [0, 1, 100, 1 << 17])
def test_deterministic_bytes(rows):
    table = pa.table({"x": np.random.default_rng(rows).random(rows), "i": np.arange(rows)})
    assert _write(table)[0] == _write(table)[0]
