"""Round trips of every format on both built-in backends, and reading without capsa."""

from __future__ import annotations

import datetime as dt
import decimal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from capsa_parquet import ParquetTable

FORMATS = ["parquet", "csv", "tsv", "arrow", "feather"]
EXT = {"parquet": "parquet", "csv": "csv", "tsv": "tsv", "arrow": "arrow", "feather": "feather"}


def _table(n: int = 1000) -> pa.Table:
    rng = np.random.default_rng(1)
    return pa.table(
        {
            "i64": pa.array(np.arange(n, dtype=np.int64) * 7 - 3),
            "i32": pa.array(rng.integers(-50, 50, n).astype(np.int32)),
            "u8": pa.array((np.arange(n) % 256).astype(np.uint8)),
            "f64": pa.array(rng.standard_normal(n)),
            "f32": pa.array(rng.random(n, dtype=np.float32)),
            "whole": pa.array(np.arange(n, dtype=np.float64)),  # 1.0 is written "1" in text
            "flag": pa.array(np.arange(n) % 3 == 0),
            "name": pa.array([f"gene-{i % 37}" if i % 11 else None for i in range(n)]),
            "cat": pa.array([("a", "b", "c")[i % 3] for i in range(n)]).dictionary_encode(),
            "day": pa.array(
                [dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(n)], pa.date32()
            ),
            "ts": pa.array(
                [dt.datetime(2021, 5, 4, 3, 2, 1) + dt.timedelta(seconds=i) for i in range(n)],
                pa.timestamp("us", tz="UTC"),
            ),
            "price": pa.array([decimal.Decimal(i) / 100 for i in range(n)], pa.decimal128(12, 2)),
            "maybe": pa.array([None if i % 5 == 0 else i * 0.5 for i in range(n)]),
        }
    )


def _same(got: pa.Table, expected: pa.Table) -> None:
    assert got.schema.names == expected.schema.names
    for name in expected.schema.names:
        assert got.schema.field(name).type == expected.schema.field(name).type, name
        assert got.column(name).to_pylist() == expected.column(name).to_pylist(), name


@pytest.mark.parametrize("fmt", FORMATS)
def test_bundle_round_trip_every_format(store, fmt):
    table = _table()
    name = f"t.{EXT[fmt]}" if fmt != "feather" else "t.feather"
    ref = store.save("run/1", "bundle", {name: table})
    assert ref.manifest.members[0].info["rows"] == 1000
    art = store.load("run/1", verify=True)
    _same(art.read(name), table)
    got = art[name]
    if isinstance(got, ParquetTable):
        got = got.read()
    _same(got, table)


@pytest.mark.parametrize("kind", ["table", "table.tsv"])
def test_table_kinds(store, kind):
    table = _table(300)
    ref = store.save("k", kind, table)
    file = ref.manifest.members[0].file
    assert file == ("table.parquet" if kind == "table" else "table.tsv")
    _same(store.load("k").read("table"), table)


@pytest.mark.parametrize("fmt", ["parquet", "tsv", "arrow"])
def test_value_types(store, fmt):
    expected = pa.table({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    values = {
        "table": expected,
        "batch": expected.to_batches()[0],
        "reader": pa.RecordBatchReader.from_batches(expected.schema, expected.to_batches()),
        "numpy": {"a": np.array([1, 2, 3]), "b": np.array(["x", "y", "z"])},
        "lists": {"a": [1, 2, 3], "b": ("x", "y", "z")},
        "arrow": {"a": pa.array([1, 2, 3]), "b": pa.chunked_array([["x"], ["y", "z"]])},
    }
    for label, value in values.items():
        store.save(f"v/{label}", "bundle", {f"t.{fmt}": value})
        _same(store.load(f"v/{label}").read(f"t.{fmt}"), expected)


def test_empty_table_round_trips(store):
    empty = _table(0)
    for fmt in ("parquet", "tsv", "arrow"):
        store.save(f"e/{fmt}", "bundle", {f"t.{fmt}": empty})
        got = store.load(f"e/{fmt}").read(f"t.{fmt}")
        assert got.num_rows == 0
        assert got.schema.names == empty.schema.names


def test_nested_types_round_trip_in_parquet_and_arrow(store):
    table = pa.table(
        {
            "lists": pa.array([[1, 2], [], None, [3]]),
            "structs": pa.array(
                [{"x": 1, "y": "a"}, {"x": 2, "y": None}, None, {"x": 4, "y": "d"}]
            ),
            "maps": pa.array([[("k", 1)], [], None, [("z", 2)]], pa.map_(pa.string(), pa.int64())),
        }
    )
    for fmt in ("parquet", "arrow"):
        store.save(f"n/{fmt}", "bundle", {f"t.{fmt}": table})
        assert store.load(f"n/{fmt}").read(f"t.{fmt}").equals(table)


def test_files_are_readable_without_capsa(tmp_path):
    import capsa

    store = capsa.open_store(str(tmp_path / "s"))
    table = _table(200)
    store.save(
        "plain",
        "bundle",
        {"t.parquet": table, "t.csv": table, "t.tsv": table, "t.arrow": table, "t.feather": table},
    )
    art = store.load("plain")
    assert pq.read_table(art.path("t.parquet")).equals(table)
    assert feather.read_table(art.path("t.feather")).equals(table)
    with pa.ipc.open_file(art.path("t.arrow")) as reader:
        assert reader.read_all().equals(table)
    for name, delim in (("t.csv", ","), ("t.tsv", "\t")):
        plain = pcsv.read_csv(art.path(name), parse_options=pcsv.ParseOptions(delimiter=delim))
        assert plain.num_rows == 200
        assert plain.column("i64").to_pylist() == table.column("i64").to_pylist()
        assert plain.column("f64").to_pylist() == table.column("f64").to_pylist()


def test_polars_and_pandas_read_the_files(tmp_path):
    pl = pytest.importorskip("polars")
    pd = pytest.importorskip("pandas")
    import capsa

    store = capsa.open_store(str(tmp_path / "s"))
    table = pa.table({"a": [1, 2, 3], "s": ["x", "y", "z"], "f": [0.5, 1.5, 2.5]})
    store.save("p", "bundle", {"t.parquet": table, "t.tsv": table, "t.arrow": table})
    art = store.load("p")
    assert pl.read_parquet(art.path("t.parquet")).to_dict(as_series=False) == table.to_pydict()
    assert pl.read_csv(art.path("t.tsv"), separator="\t").to_dict(as_series=False) == (
        table.to_pydict()
    )
    assert pl.read_ipc(art.path("t.arrow")).to_dict(as_series=False) == table.to_pydict()
    assert pd.read_parquet(art.path("t.parquet"))["s"].tolist() == ["x", "y", "z"]
    assert pd.read_csv(art.path("t.tsv"), sep="\t")["f"].tolist() == [0.5, 1.5, 2.5]


def test_info_is_recorded(store):
    table = pa.table({"x": np.arange(5.0), "s": list("abcde")}, metadata={"origin": "test"})
    ref = store.save("i", "table", table)
    info = store.load("i").manifest.members[0].info
    assert info == ref.manifest.members[0].info
    assert info["rows"] == 5 and info["columns"] == 2
    assert info["schema"] == [["x", "double"], ["s", "string"]]
    assert info["metadata_keys"] == ["origin"]
    assert info["row_groups"] == 1
    assert set(info["compression"]) == {"x", "s"}


def test_large_table_many_row_groups(store):
    n = 300_000
    table = pa.table({"a": np.arange(n), "b": np.random.default_rng(0).random(n)})
    ref = store.save("big", "table", table, options={"table": {"row_group_size": 50_000}})
    assert ref.manifest.members[0].info["row_groups"] == 6
    lazy = store.load("big")["table"]
    assert lazy.num_row_groups == 6
    assert lazy.read().equals(table)
