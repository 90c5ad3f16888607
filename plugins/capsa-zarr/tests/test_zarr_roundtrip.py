"""Store-level round trips of the zarr format and the zarr.array kind, on both built-in backends."""

from __future__ import annotations

import json

import numpy as np
import pytest
import zarr
from capsa_zarr import CheckedArray, CheckedGroup

from capsa.store.store import Store

DTYPES = [
    "bool",
    "int8",
    "uint16",
    "int32",
    "int64",
    "uint64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
]


def _member_json(store: Store, key: str, path: str = "zarr.json") -> dict[str, object]:
    art = store.load(key)
    raw = art.source("array").get(path)
    return json.loads(raw)


def test_single_array_round_trip(store: Store) -> None:
    x = np.arange(300 * 7, dtype=np.float32).reshape(300, 7)
    ref = store.save("run/x", "zarr.array", x)
    record = ref.manifest.member("array")
    assert record is not None and record.layout == "directory" and record.file == "array.zarr"
    assert record.info["node"] == "array"
    assert record.info["shape"] == [300, 7]
    art = store.load("run/x")
    lazy = art["array"]
    assert isinstance(lazy, zarr.Array) and isinstance(lazy, CheckedArray)
    assert lazy.shape == (300, 7) and lazy.dtype == np.float32
    np.testing.assert_array_equal(lazy[10:20], x[10:20])
    got = art.read("array")
    assert isinstance(got, np.ndarray) and got.dtype == x.dtype
    np.testing.assert_array_equal(got, x)
    assert store.verify("run/x").ok


def test_group_round_trip(store: Store) -> None:
    value = {
        "loss": np.linspace(1, 0, 1000),
        "theta": np.arange(1000 * 3, dtype=np.float32).reshape(1000, 3),
        "step": np.arange(1000, dtype=np.int64),
    }
    ref = store.save("g", "zarr.array", value)
    info = ref.manifest.members[0].info
    assert info["node"] == "group" and sorted(info["arrays"]) == ["loss", "step", "theta"]
    art = store.load("g", verify=True)
    group = art["array"]
    assert isinstance(group, zarr.Group) and isinstance(group, CheckedGroup)
    assert sorted(group.array_keys()) == ["loss", "step", "theta"]
    theta = group["theta"]
    assert isinstance(theta, CheckedArray)
    np.testing.assert_array_equal(theta[5:9], value["theta"][5:9])
    got = art.read("array")
    assert sorted(got) == sorted(value)
    for name, arr in value.items():
        np.testing.assert_array_equal(got[name], arr)
        assert got[name].dtype == arr.dtype
    # shared lengths share a dimension name (xarray aligns them)
    assert group["loss"].metadata.dimension_names == ("dim_0",)
    assert group["theta"].metadata.dimension_names == ("dim_0", "dim_1")


@pytest.mark.parametrize("dtype", DTYPES)
def test_numeric_dtypes(store: Store, dtype: str) -> None:
    rng = np.random.default_rng(1)
    x = (rng.random((50, 4)) * 100).astype(dtype)
    store.save(f"d/{dtype}", "zarr.array", x)
    art = store.load(f"d/{dtype}")
    got = art.read("array")
    assert got.dtype == x.dtype
    np.testing.assert_array_equal(got, x)
    np.testing.assert_array_equal(art["array"][...], x)


@pytest.mark.parametrize(
    "x",
    [
        np.array(3.5),
        np.zeros((0, 5), dtype=np.float32),
        np.zeros((4, 0), dtype=np.int32),
        np.arange(10, dtype=">f8"),
        np.asfortranarray(np.arange(60.0).reshape(6, 10)),
        np.arange(200.0).reshape(20, 10)[::2, ::3],
        np.array(["a", "bc", "def"]),
        np.array([b"x", b"yz"]),
        np.arange(5).astype("datetime64[s]"),
        np.arange(5).astype("timedelta64[ms]"),
        np.arange(2 * 3 * 4 * 5, dtype=np.uint8).reshape(2, 3, 4, 5),
    ],
    ids=lambda x: f"{x.dtype.str}-{'x'.join(map(str, x.shape)) or 'scalar'}",
)
@pytest.mark.filterwarnings("ignore:The data type .* does not have a Zarr V3 specification")
def test_special_arrays(store: Store, x: np.ndarray) -> None:
    store.save("s", "zarr.array", x)
    art = store.load("s")
    got = art.read("array")
    assert got.shape == x.shape
    assert got.dtype.kind == x.dtype.kind
    np.testing.assert_array_equal(got, x)
    np.testing.assert_array_equal(np.asarray(art["array"][...]), x)


def test_default_chunking_whole_rows_along_axis0(store: Store) -> None:
    x = np.zeros((100_000, 64), dtype=np.float32)  # 256 B rows -> 16384-row chunks (4 MiB)
    ref = store.save("c", "zarr.array", x)
    assert ref.manifest.members[0].info["chunks"] == [16384, 64]
    small = np.zeros((10, 3))
    ref = store.save("small", "zarr.array", small)
    assert ref.manifest.members[0].info["chunks"] == [10, 3]


@pytest.mark.parametrize(
    "options",
    [
        {"chunks": [7, 3]},
        {"chunks": "auto"},
        {"compressor": "zstd"},
        {"compressor": "zstd", "level": 9},
        {"compressor": "blosc"},
        {"compressor": "blosc", "level": 1},
        {"compressor": None, "checksum": False},
        {"compressor": "zstd", "checksum": False},
        {"shards": [20, 6], "chunks": [5, 3]},
        {"shards": "auto", "chunks": [4, 6]},
        {"shards": "auto", "compressor": "zstd", "chunks": [8, 2]},
        {"compressor": "none"},
    ],
    ids=lambda o: json.dumps(o),
)
def test_write_options_round_trip(store: Store, options: dict[str, object]) -> None:
    x = np.arange(101 * 6, dtype=np.float64).reshape(101, 6)
    ref = store.save("o", "zarr.array", x, options={"array": options})
    assert ref.manifest.members[0].options == options
    art = store.load("o", verify=True)
    np.testing.assert_array_equal(art.read("array"), x)
    lazy = art["array"]
    np.testing.assert_array_equal(lazy[13:57, 2:5], x[13:57, 2:5])
    codecs = [c["name"] for c in _member_json(store, "o")["codecs"]]
    if options.get("shards"):
        assert codecs == ["sharding_indexed"]
        assert lazy.shards is not None
    else:
        expected = ["bytes"]
        compressor = options.get("compressor")
        if compressor in ("zstd", "blosc"):
            expected.append(str(compressor))
        if options.get("checksum", True):
            expected.append("crc32c")
        assert codecs == expected
    if options.get("chunks") not in (None, "auto"):
        assert lazy.chunks == tuple(options["chunks"])  # type: ignore[arg-type]


def test_compression_shrinks_compressible_data(store: Store) -> None:
    x = np.zeros((4096, 256), dtype=np.float32)
    x[:, 0] = 1.0
    plain = store.save("plain", "zarr.array", x)
    zstd = store.save("zstd", "zarr.array", x, options={"array": {"compressor": "zstd"}})
    blosc = store.save("blosc", "zarr.array", x, options={"array": {"compressor": "blosc"}})
    size = plain.manifest.members[0].size
    assert size >= x.nbytes
    assert zstd.manifest.members[0].size < size / 20
    assert blosc.manifest.members[0].size < size / 20


def test_dimension_names_and_attributes(store: Store) -> None:
    x = np.ones((5, 2))
    store.save(
        "n",
        "zarr.array",
        x,
        options={"array": {"dimension_names": ["step", "param"], "attributes": {"units": "m"}}},
    )
    lazy = store.load("n")["array"]
    assert lazy.metadata.dimension_names == ("step", "param")
    assert lazy.attrs["units"] == "m"
    group = {"a": np.ones(3), "b": np.ones(4), "c": np.ones((3, 2))}
    store.save(
        "ng",
        "zarr.array",
        group,
        options={"array": {"dimension_names": {"c": ["t", "xy"]}, "attributes": {"run": 7}}},
    )
    g = store.load("ng")["array"]
    assert g.attrs["run"] == 7
    # "a" and "b" disagree on the length of dim_0: the odd one out gets its own name
    assert g["a"].metadata.dimension_names == ("dim_0",)
    assert g["b"].metadata.dimension_names == ("b_dim_0",)
    assert g["c"].metadata.dimension_names == ("t", "xy")


def test_bundle_member_by_extension(store: Store) -> None:
    x = np.arange(12.0).reshape(4, 3)
    store.save("b", "bundle", {"trace.zarr": x, "meta.json": {"n": 4}})
    art = store.load("b")
    np.testing.assert_array_equal(art["trace.zarr"][1:3], x[1:3])
    assert art["meta.json"] == {"n": 4}


def test_chunk_files_and_flat_key_layout(local_store: Store) -> None:
    x = np.arange(40.0).reshape(10, 4)
    local_store.save("f", "zarr.array", x, options={"array": {"chunks": [3, 2]}})
    folder = local_store.load("f").path("array")
    assert folder is not None
    names = sorted(p.name for p in folder.iterdir())
    assert "zarr.json" in names
    assert "c.0.0" in names and "c.3.1" in names
    assert len([n for n in names if n.startswith("c.")]) == 4 * 2
    sums = (folder.parent / "array.zarr.sha256sums").read_text().splitlines()
    assert len(sums) == 1 + 8


def test_dev_mode_overwrite_replaces_every_object(dev_store: Store) -> None:
    big = np.arange(1000.0).reshape(100, 10)
    dev_store.save("k", "zarr.array", big, options={"array": {"chunks": [10, 10]}})
    small = np.full((15, 10), 7.0)
    dev_store.save("k", "zarr.array", small, options={"array": {"chunks": [10, 10]}})
    art = dev_store.load("k", verify=True)
    np.testing.assert_array_equal(art.read("array"), small)
    np.testing.assert_array_equal(art["array"][...], small)
    assert [p for p, _ in art.source("array").list()] == ["c.0.0", "c.1.0", "zarr.json"]


def test_lazy_array_is_read_only(store: Store) -> None:
    store.save("r", "zarr.array", np.zeros(10))
    lazy = store.load("r")["array"]
    with pytest.raises(Exception, match=r"read-only|read only"):
        lazy[0] = 1.0


def test_lazy_value_is_cached_per_artifact(store: Store) -> None:
    store.save("c", "zarr.array", np.zeros(10))
    art = store.load("c")
    assert art["array"] is art["array"]
