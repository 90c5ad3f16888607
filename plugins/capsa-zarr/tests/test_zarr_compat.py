"""Members written by capsa open without capsa: plain zarr, and xarray."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import zarr

from capsa.store.store import Store

xr = pytest.importorskip("xarray")

X = np.arange(120 * 9, dtype=np.float32).reshape(120, 9)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"chunks": [7, 4]},
        {"compressor": "zstd"},
        {"compressor": "blosc", "checksum": False},
        {"shards": [40, 9], "chunks": [10, 9]},
    ],
    ids=json.dumps,
)
def test_plain_zarr_open(local_store: Store, options: dict[str, Any]) -> None:
    local_store.save("a", "zarr.array", X, options={"array": options})
    path = local_store.load("a").path("array")
    assert path is not None and path.is_dir()
    arr = zarr.open(str(path), mode="r")
    assert isinstance(arr, zarr.Array)
    assert arr.shape == X.shape and arr.dtype == X.dtype
    np.testing.assert_array_equal(arr[...], X)
    np.testing.assert_array_equal(zarr.open_array(str(path), mode="r")[3:11, 2], X[3:11, 2])
    meta = json.loads((path / "zarr.json").read_text())
    assert meta["zarr_format"] == 3 and meta["node_type"] == "array"


def test_plain_zarr_open_group(local_store: Store) -> None:
    value = {"loss": np.linspace(0, 1, 50), "theta": np.ones((50, 4), np.float32)}
    local_store.save("g", "zarr.array", value)
    path = local_store.load("g").path("array")
    group = zarr.open_group(str(path), mode="r")
    assert sorted(group.array_keys()) == ["loss", "theta"]
    np.testing.assert_array_equal(group["loss"][...], value["loss"])
    np.testing.assert_array_equal(group["theta"][...], value["theta"])


def test_xarray_opens_a_group(local_store: Store) -> None:
    value = {
        "loss": np.linspace(1, 0, 300),
        "theta": np.arange(300 * 3, dtype=np.float32).reshape(300, 3),
    }
    local_store.save(
        "trace",
        "zarr.array",
        value,
        options={
            "array": {
                "dimension_names": {"loss": ["step"], "theta": ["step", "param"]},
                "attributes": {"optimizer": "adam"},
            }
        },
    )
    path = local_store.load("trace").path("array")
    ds = xr.open_zarr(str(path), consolidated=False)
    assert dict(ds.sizes) == {"step": 300, "param": 3}
    assert ds["theta"].dims == ("step", "param")
    assert ds.attrs["optimizer"] == "adam"
    np.testing.assert_array_equal(ds["loss"].values, value["loss"])
    np.testing.assert_array_equal(
        ds["theta"].isel(step=slice(10, 20)).values, value["theta"][10:20]
    )


def test_xarray_with_default_dimension_names(local_store: Store) -> None:
    value = {"a": np.zeros((4, 2)), "b": np.ones(4), "c": np.ones(7)}
    local_store.save("d", "zarr.array", value)
    ds = xr.open_zarr(str(local_store.load("d").path("array")), consolidated=False)
    assert ds["a"].dims == ("dim_0", "dim_1")
    assert ds["b"].dims == ("dim_0",)
    assert ds["c"].dims == ("c_dim_0",)


def test_xarray_opens_through_the_adapter(store: Store) -> None:
    """On any backend (no local path needed): xarray over the capsa zarr store."""
    from capsa_zarr import CapsaZarrStore

    value = {"loss": np.linspace(1, 0, 64), "theta": np.ones((64, 2), np.float32)}
    store.save("x", "zarr.array", value, options={"array": {"chunks": {"loss": [16]}}})
    source = store.load("x").source("array")
    ds = xr.open_zarr(CapsaZarrStore.reading(source), consolidated=False)  # type: ignore[arg-type]
    np.testing.assert_array_equal(ds["loss"].values, value["loss"])
    assert ds["theta"].shape == (64, 2)
