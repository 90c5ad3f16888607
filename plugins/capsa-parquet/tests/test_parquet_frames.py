"""pandas and polars DataFrames in and out, through the PyCapsule interface and the helpers."""

from __future__ import annotations

import sys

import numpy as np
import pyarrow as pa
import pytest
from capsa_parquet import to_pandas, to_polars

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")

FORMATS = ["parquet", "csv", "tsv", "arrow"]


def _pandas_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "score": np.linspace(0, 1, 50),
            "count": np.arange(50, dtype=np.int32),
            "gene": [f"g{i}" for i in range(50)],
            "flag": np.arange(50) % 2 == 0,
            "when": pd.date_range("2024-01-01", periods=50, freq="h", tz="UTC"),
            "kind": pd.Categorical(["a", "b"] * 25),
        },
        index=pd.Index(np.arange(100, 150), name="row"),
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_pandas_round_trip(store, fmt):
    frame = _pandas_frame()
    store.save("pd", "bundle", {f"t.{fmt}": frame})
    back = to_pandas(store.load("pd").read(f"t.{fmt}"))
    pd.testing.assert_frame_equal(back, frame)


def test_pandas_metadata_is_kept_in_parquet(store):
    import pyarrow.parquet as pq

    frame = _pandas_frame()
    store.save("pd", "table", frame)
    lazy = store.load("pd")["table"]
    assert "pandas" in lazy.key_value_metadata
    pd.testing.assert_frame_equal(lazy.to_pandas(), frame)
    if store.backend.local_path("x") is not None:
        plain = pd.read_parquet(store.load("pd").path("table"))
        pd.testing.assert_frame_equal(plain, frame)
        assert b"pandas" in pq.read_schema(store.load("pd").path("table")).metadata
    # A projection keeps the index (pandas metadata names it).
    proj = lazy.to_pandas(columns=["score"])
    assert list(proj.columns) == ["score"] and proj.index.name == "row"


def _polars_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "score": np.linspace(0, 1, 50),
            "count": pl.Series(np.arange(50), dtype=pl.Int32),
            "gene": [f"g{i}" for i in range(50)],
            "kind": pl.Series(["a", "b"] * 25, dtype=pl.Categorical),
            "tags": [["x", "y"] if i % 2 else [] for i in range(50)],
        }
    )


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_polars_round_trip(store, fmt):
    frame = _polars_frame()
    store.save("pl", "bundle", {f"t.{fmt}": frame})
    back = to_polars(store.load("pl").read(f"t.{fmt}"))
    assert back.equals(frame)
    assert back.schema == frame.schema


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_polars_round_trip_text(store, fmt):
    frame = _polars_frame().drop("tags")  # lists cannot be text
    store.save("pl", "bundle", {f"t.{fmt}": frame})
    back = to_polars(store.load("pl").read(f"t.{fmt}"))
    assert back.equals(frame)


def test_lazy_table_to_frames(store):
    frame = _polars_frame()
    store.save("pl", "table", frame)
    lazy = store.load("pl")["table"]
    assert lazy.to_polars().equals(frame)
    assert lazy.to_polars(columns=["gene"], filters=[("count", "<", 3)])["gene"].to_list() == [
        "g0",
        "g1",
        "g2",
    ]
    assert pl.DataFrame(lazy).equals(frame)  # PyCapsule export of the handle
    assert list(lazy.to_pandas(columns=["score"]).columns) == ["score"]


def test_helpers_accept_tables_batches_and_streams():
    table = pa.table({"a": [1, 2]})
    assert to_pandas(table)["a"].tolist() == [1, 2]
    assert to_pandas(table.to_batches()[0])["a"].tolist() == [1, 2]
    assert to_polars(pl.DataFrame({"a": [1, 2]}))["a"].to_list() == [1, 2]
    with pytest.raises(TypeError, match="expected a pyarrow Table"):
        to_pandas([1, 2])


@pytest.mark.parametrize(("helper", "module"), [(to_pandas, "pandas"), (to_polars, "polars")])
def test_helpers_say_what_to_install(monkeypatch, helper, module):
    monkeypatch.setitem(sys.modules, module, None)  # "import pandas" now raises ImportError
    with pytest.raises(ModuleNotFoundError, match=f"needs {module}.*pip install {module}"):
        helper(pa.table({"a": [1]}))
