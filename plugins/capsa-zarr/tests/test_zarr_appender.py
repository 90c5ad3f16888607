"""ZarrAppender: growing arrays along axis 0 inside a transaction, with bounded memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr
from capsa_zarr import GrowingArray, ZarrAppender

import capsa
from capsa.errors import CapsaError, ValidationError
from capsa.store.store import Store


def _batches(seed: int, total: int, dim: int | None) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    done = 0
    while done < total:
        n = int(min(total - done, rng.choice([0, 1, 3, 17, 64, 250])))
        shape = (n,) if dim is None else (n, dim)
        out.append(rng.random(shape).astype(np.float32))
        done += n
    return out


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"chunks": [64, 6]},
        {"chunks": [64, 4]},
        {"compressor": "zstd", "chunks": [50, 6]},
        {"compressor": "blosc", "checksum": False, "chunks": [50, 6]},
        {"chunks": [16, 6], "shards": [64, 6]},
    ],
    ids=json.dumps,
)
def test_single_array_grows_batch_by_batch(store: Store, options: dict[str, Any]) -> None:
    batches = _batches(0, 1234, 6)
    with store.transaction("run/theta", "zarr.array", meta={"seed": 0}) as tx:
        app = ZarrAppender(tx, "array", dtype="float32", trailing_shape=(6,), **options)
        for batch in batches:
            app.append(batch)
        assert len(app) == 1234
        assert app.shapes == {"": (1234, 6)}
        assert not store.exists("run/theta")  # nothing visible before the commit
    art = store.load("run/theta", verify=True)
    expected = np.concatenate(batches)
    np.testing.assert_array_equal(art.read("array"), expected)
    lazy = art["array"]
    assert lazy.shape == (1234, 6)
    np.testing.assert_array_equal(lazy[1000:1100], expected[1000:1100])
    assert lazy.metadata.dimension_names == ("step", "dim_1")
    info = art.manifest.members[0].info
    assert info["node"] == "array" and info["shape"] == [1234, 6] and info["appended"] is True
    assert art.meta == {"seed": 0}


def test_group_trace(store: Store) -> None:
    dim = 5
    loss_parts, theta_parts = [], []
    with store.transaction("trace", "bundle") as tx:
        app = ZarrAppender(
            tx,
            "trace.zarr",
            arrays={
                "loss": {"dtype": "float64", "chunks": [100]},
                "theta": ("float32", (dim,)),
            },
        )
        rng = np.random.default_rng(3)
        for step in range(300):
            loss = np.array([1.0 / (step + 1)])
            theta = rng.random((1, dim)).astype(np.float32)
            if step % 2:
                app.append(loss=loss, theta=theta)
            else:
                app.append({"loss": loss[0], "theta": theta[0]})  # one row each
            loss_parts.append(loss)
            theta_parts.append(theta)
        assert isinstance(app["theta"], GrowingArray)
        assert app["theta"].shape == (300, dim)
    art = store.load("trace")
    got = art.read("trace.zarr")
    np.testing.assert_array_equal(got["loss"], np.concatenate(loss_parts))
    np.testing.assert_array_equal(got["theta"], np.concatenate(theta_parts))
    group = art["trace.zarr"]
    assert group["loss"].metadata.dimension_names == ("step",)
    assert group["theta"].metadata.dimension_names == ("step", "dim_1")
    assert art.manifest.member("trace.zarr").info["arrays"]["theta"]["shape"] == [300, dim]


def test_arrays_of_different_lengths(store: Store) -> None:
    with store.transaction("k", "zarr.array") as tx:
        app = ZarrAppender(tx, "array", arrays={"a": {"dtype": "int64"}, "b": {"dtype": "int64"}})
        app.append(a=np.arange(10))
        app["b"].append(np.arange(3))
        assert len(app) == 10
    group = store.load("k")["array"]
    assert group["a"].shape == (10,) and group["b"].shape == (3,)
    assert group["a"].metadata.dimension_names == ("step",)
    assert group["b"].metadata.dimension_names == ("b_step",)  # xarray would refuse "step"


def test_empty_appender_commits_an_empty_array(store: Store) -> None:
    with store.transaction("e", "zarr.array") as tx:
        ZarrAppender(tx, "array", dtype="int16", trailing_shape=(2, 3))
    got = store.load("e").read("array")
    assert got.shape == (0, 2, 3) and got.dtype == np.int16


def test_lists_and_scalars_are_converted_same_kind(store: Store) -> None:
    with store.transaction("l", "zarr.array") as tx:
        app = ZarrAppender(tx, "array", dtype="float32", trailing_shape=2)
        app.append([[1.0, 2.0], [3.0, 4.0]])
        app.append([5, 6])
        with pytest.raises(ValidationError, match="cannot append values of dtype <U1"):
            app.append([["a", "b"]])
    np.testing.assert_array_equal(store.load("l").read("array"), [[1, 2], [3, 4], [5, 6]])


@pytest.mark.parametrize(
    ("batch", "match"),
    [
        (np.zeros((4, 5), np.float32), r"shape \(4, 5\) does not fit rows of shape \(6,\)"),
        (np.zeros((4, 6, 1), np.float32), r"shape \(4, 6, 1\)"),
        (np.zeros(5, np.float32), r"shape \(5,\)"),
        (np.zeros((4, 6), np.float64), "dtype float64 to an array of dtype float32"),
        (np.zeros((4, 6), np.int32), "dtype int32"),
    ],
)
def test_mismatched_batches_are_refused(store: Store, batch: np.ndarray, match: str) -> None:
    with store.transaction("m", "zarr.array") as tx:
        app = ZarrAppender(tx, "array", dtype="float32", trailing_shape=(6,), chunks=[8, 6])
        app.append(np.ones((5, 6), np.float32))
        with pytest.raises(ValidationError, match=match) as info:
            app.append(batch)
        assert "artifact 'm', member 'array'" in str(info.value)
        assert len(app) == 5  # nothing of the refused batch was taken
        app.append(np.ones((1, 6), np.float32))
    np.testing.assert_array_equal(store.load("m").read("array"), np.ones((6, 6)))


def test_group_batch_is_checked_whole_before_writing(store: Store) -> None:
    with store.transaction("g", "zarr.array") as tx:
        app = ZarrAppender(
            tx, "array", arrays={"a": ("float64", ()), "b": ("float64", (2,))}, chunks="auto"
        )
        with pytest.raises(ValidationError, match="array 'b'"):
            app.append(a=np.ones(3), b=np.ones((3, 3)))
        assert app.shapes == {"a": (0,), "b": (0, 2)}
        with pytest.raises(ValidationError, match="no array 'c'"):
            app.append(c=np.ones(3))
        with pytest.raises(ValidationError, match="appends by name"):
            app.append(np.ones(3))
        with pytest.raises(ValidationError, match="nothing to append"):
            app.append()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "give dtype= .* or arrays="),
        ({"dtype": "object"}, "object dtype"),
        ({"dtype": "float32", "trailing_shape": (-1,)}, "non-negative"),
        ({"dtype": "float32", "trailing_shape": (3,), "chunks": [4]}, "1 dimension"),
        ({"dtype": "float32", "compressor": "lzma"}, "compressor"),
        ({"dtype": "nope"}, "bad dtype"),
        ({"arrays": {}}, "non-empty dict"),
        ({"arrays": {"a/b": {"dtype": "f4"}}}, "not allowed"),
        ({"arrays": {"a": {"shape": (3,)}}}, "needs a dict with at least 'dtype'"),
        ({"arrays": {"a": {"dtype": "f4", "shape": 3}}}, "unknown key"),
        ({"arrays": {"a": ("f4", ())}, "dtype": "f4"}, "per array"),
    ],
)
def test_bad_appender_arguments(store: Store, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValidationError, match=match), store.transaction("b", "zarr.array") as tx:
        ZarrAppender(tx, "array", **kwargs)
    assert not store.exists("b")


def test_exception_aborts_and_leaves_nothing(store: Store) -> None:
    with (
        pytest.raises(RuntimeError, match="optimizer diverged"),
        store.transaction("crash", "zarr.array") as tx,
    ):
        app = ZarrAppender(tx, "array", dtype="float64", chunks=[10])
        app.append(np.arange(95.0))
        raise RuntimeError("optimizer diverged")
    assert not store.exists("crash")
    assert store.list() == []
    leftovers = [o.key for o in store.backend.list("")]
    assert leftovers == []


def test_close_is_idempotent_and_final(store: Store) -> None:
    with store.transaction("c", "zarr.array") as tx:
        app = ZarrAppender(tx, "array", dtype="int32")
        app.append(np.arange(7, dtype=np.int32))
        app.close()
        app.close()
        with pytest.raises(CapsaError, match="closed"):
            app.append(np.arange(2, dtype=np.int32))
    np.testing.assert_array_equal(store.load("c").read("array"), np.arange(7))


def test_context_manager(store: Store) -> None:
    with (
        store.transaction("cm", "zarr.array") as tx,
        ZarrAppender(tx, "array", dtype="uint8", trailing_shape=(3,)) as app,
    ):
        app.append(np.full((4, 3), 9, np.uint8))
    np.testing.assert_array_equal(store.load("cm").read("array"), np.full((4, 3), 9))


def test_dev_mode_overwrite_with_an_appender(dev_store: Store) -> None:
    for total, value in ((500, 1.0), (25, 2.0)):
        with dev_store.transaction("trace", "zarr.array") as tx:
            app = ZarrAppender(tx, "array", dtype="float64", trailing_shape=(4,), chunks=[10, 4])
            for _ in range(total // 5):
                app.append(np.full((5, 4), value))
    art = dev_store.load("trace", verify=True)
    np.testing.assert_array_equal(art.read("array"), np.full((25, 4), 2.0))
    np.testing.assert_array_equal(art["array"][...], np.full((25, 4), 2.0))
    assert sorted(p for p, _ in art.source("array").list()) == [
        "c.0.0",
        "c.1.0",
        "c.2.0",
        "zarr.json",
    ]


def test_production_key_taken(store: Store) -> None:
    store.save("p", "zarr.array", np.zeros(3))
    with pytest.raises(FileExistsError):
        store.transaction("p", "zarr.array")


def test_plain_zarr_reads_an_appended_array(local_store: Store) -> None:
    with local_store.transaction("z", "zarr.array") as tx:
        app = ZarrAppender(tx, "array", dtype="float32", trailing_shape=(3,), chunks=[4, 3])
        app.append(np.arange(30, dtype=np.float32).reshape(10, 3))
    path = local_store.load("z").path("array")
    arr = zarr.open_array(str(path), mode="r")
    assert arr.shape == (10, 3)
    np.testing.assert_array_equal(arr[...], np.arange(30).reshape(10, 3))


BOUNDED = textwrap.dedent(
    """
    import sys
    import numpy as np
    import capsa
    from capsa_zarr import ZarrAppender

    def peak_mib():
        # VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's (pytest's) peak.
        with open("/proc/self/status") as f:
            return int(next(l for l in f if l.startswith("VmHWM:")).split()[1]) / 1024

    store = capsa.open_store(sys.argv[1])
    batch = np.empty((256, 1024), dtype=np.float32)  # 1 MiB per batch
    with store.transaction("warm", "zarr.array") as tx:  # imports and first-use costs
        app = ZarrAppender(tx, "array", arrays={"x": ("float32", (1024,)), "y": ("float64", ())})
        app.append(x=batch, y=np.zeros(256))
    before = peak_mib()
    total = 0
    with store.transaction("big", "zarr.array") as tx:
        app = ZarrAppender(tx, "array", arrays={"x": ("float32", (1024,)), "y": ("float64", ())})
        for i in range(int(sys.argv[2])):
            batch.fill(i)
            app.append(x=batch[: 100 + i % 156], y=np.full(100 + i % 156, float(i)))
            total += (100 + i % 156) * (1024 * 4 + 8)
    art = store.load("big")
    shape = art.manifest.members[0].info["arrays"]["x"]["shape"]
    print(before, peak_mib(), total, shape[0])
    """
)


def test_appending_past_a_memory_budget_keeps_rss_bounded(tmp_path: Path) -> None:
    script = tmp_path / "bounded.py"
    script.write_text(BOUNDED)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    out = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "store"), "600"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    before, peak, total, rows = out.stdout.split()
    data_mib = int(total) / (1 << 20)
    growth = float(peak) - float(before)
    assert data_mib > 300  # far more than the budget below
    assert growth < 96, f"peak RSS grew {growth:.0f} MiB while appending {data_mib:.0f} MiB"
    assert int(rows) == sum(100 + i % 156 for i in range(600))
    store = capsa.open_store(str(tmp_path / "store"))
    x = store.load("big")["array"]["x"]
    np.testing.assert_array_equal(x[-3:], np.full((3, 1024), 599, np.float32))


def test_short_trace_is_one_exact_chunk(store: Store) -> None:
    """A trace shorter than one default chunk is not padded to 4 MiB."""
    with store.transaction("short", "zarr.array") as tx:
        app = ZarrAppender(tx, "array", arrays={"loss": ("float64", ()), "theta": ("f4", (8,))})
        for step in range(100):
            app.append(loss=[1.0 / (step + 1)], theta=np.full((1, 8), step, np.float32))
    art = store.load("short")
    info = art.manifest.members[0].info["arrays"]
    assert info["loss"]["chunks"] == [100] and info["theta"]["chunks"] == [100, 8]
    assert art.manifest.members[0].size < 8 * 100 + 4 * 800 + 4096
    np.testing.assert_array_equal(art["array"]["theta"][:, 0], np.arange(100))
