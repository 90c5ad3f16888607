"""Catalog exports: Parquet read by pyarrow, polars, pandas (and duckdb when installed), and CSV."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest
from catalog_helpers import save_run

import capsa
from capsa.catalog import CatalogError, ParquetUnavailableError, open_catalog
from capsa.catalog.export import export_format


@pytest.fixture
def store(tmp_path: Path) -> capsa.Store:
    store = capsa.open_store(str(tmp_path / "s"))
    for i, loss in enumerate([0.5, 0.25, 0.75]):
        save_run(store, f"grid/run{i}", loss=loss, extra={"epochs": i + 1})
    store.save("notes", "text", "no fields")
    return store


def test_parquet_is_read_by_pyarrow_polars_and_pandas(store: capsa.Store, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "runs.parquet"
    assert open_catalog(store).export(out) == 4
    table = pq.read_table(out)
    assert table.column_names[:3] == ["key", "namespace", "kind"]
    assert str(table.schema.field("loss").type) == "double"
    assert str(table.schema.field("epochs").type) == "int64"
    assert str(table.schema.field("converged").type) == "bool"
    assert str(table.schema.field("size").type) == "int64"
    by_key = {row["key"]: row for row in table.to_pylist()}
    assert by_key["grid/run1"]["loss"] == 0.25 and by_key["notes"]["loss"] is None
    polars = pytest.importorskip("polars")
    best = polars.read_parquet(out).drop_nulls("loss").sort("loss").head(1)
    assert best["key"].to_list() == ["grid/run1"]
    pandas = pytest.importorskip("pandas")
    frame = pandas.read_parquet(out)
    assert frame.loc[frame["loss"].idxmax(), "key"] == "grid/run2"


def test_duckdb_reads_the_export(store: capsa.Store, tmp_path: Path) -> None:
    import duckdb

    out = tmp_path / "runs.parquet"
    open_catalog(store).export(out)
    top = duckdb.sql(f"SELECT key FROM '{out}' WHERE loss IS NOT NULL ORDER BY loss LIMIT 2")
    assert [r[0] for r in top.fetchall()] == ["grid/run1", "grid/run0"]


def test_csv_export_of_a_query(store: capsa.Store, tmp_path: Path) -> None:
    catalog = open_catalog(store)
    out = tmp_path / "best.csv"
    assert catalog.export(out, catalog.query(order_by="loss", limit=2)) == 2
    with open(out, newline="") as fh:
        read = list(csv.DictReader(fh))
    assert [(r["key"], r["loss"], r["epochs"]) for r in read] == [
        ("grid/run1", "0.25", "2"),
        ("grid/run0", "0.5", "1"),
    ]


def test_missing_pyarrow_names_the_package_to_install(
    store: capsa.Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ParquetUnavailableError, match=r"pip install capsa-parquet"):
        open_catalog(store).export(tmp_path / "runs.parquet")
    assert not (tmp_path / "runs.parquet").exists()


def test_bad_export_targets(store: capsa.Store, tmp_path: Path) -> None:
    catalog = open_catalog(store)
    with pytest.raises(CatalogError, match=r"unknown format 'xlsx'"):
        catalog.export(tmp_path / "runs.xlsx")
    with pytest.raises(CatalogError, match=r"does not exist"):
        catalog.export(tmp_path / "missing" / "runs.csv")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(CatalogError, match=r"is a folder"):
        catalog.export(tmp_path / "dir.csv")
    assert export_format("x.pq") == "parquet" and export_format("x", "csv") == "csv"
