"""Store-level round trips of the npz format and the arrays kind, on both built-in backends."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
from capsa_npz import NpzArrays

import capsa
from capsa.errors import CapsaError, IntegrityError, ValidationError
from capsa.store.store import Store

ARRAYS = {
    "weights": np.arange(60_000, dtype=np.float32).reshape(300, 200),
    "bias": np.linspace(-1, 1, 7),
    "mask": np.arange(9) % 2 == 0,
    "fortran": np.asfortranarray(np.arange(12).reshape(3, 4)),
}


def _check(got, expected):
    assert list(got) == list(expected)
    for k, v in expected.items():
        np.testing.assert_array_equal(got[k], v)
        assert got[k].dtype == v.dtype


@pytest.fixture(params=["file", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "file":
        return capsa.open_store(str(tmp_path / "store"))
    return capsa.open_store(f"memory://npz-{uuid.uuid4().hex[:8]}")


def test_dict_round_trip_is_lazy(store):
    store.save("run/arrays", "arrays", ARRAYS)
    art = store.load("run/arrays")
    got = art["arrays"]
    assert isinstance(got, NpzArrays)
    assert list(got.keys()) == list(ARRAYS)
    assert got.loaded == []
    _check(got, ARRAYS)
    assert art["arrays.npz"] is not None


def test_verified_load_and_verify(store):
    store.save("k", "arrays", ARRAYS)
    assert store.verify("k").ok
    _check(store.load("k", verify=True)["arrays"], ARRAYS)


def test_single_array_round_trip(store):
    arr = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    store.save("one", "arrays", arr)
    got = store.load("one")["arrays"]
    assert isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, arr)


def test_compressed_option(store):
    # The shape of ``options`` (per member name) is the store's contract.
    store.save("c", "arrays", ARRAYS, options={"arrays": {"compressed": True}})
    _check(store.load("c", verify=True)["arrays"], ARRAYS)


def test_object_arrays_refused_before_writing(store):
    with pytest.raises(ValidationError, match="objs"):
        store.save("bad", "arrays", {"ok": np.ones(2), "objs": np.array([None, 1], dtype=object)})
    with pytest.raises(CapsaError):
        store.load("bad")
    assert list(store.backend.list("")) == []


def test_lazy_arrays_refuse_a_version_overwritten_after_load(tmp_path):
    dev = capsa.open_store(str(tmp_path / "s"), mode="development", session="x")
    dev.save("k", "arrays", {"a": np.zeros(3), "b": np.zeros(3)})
    lazy = dev.load("k")["arrays"]
    np.testing.assert_array_equal(lazy["a"], np.zeros(3))
    dev.save("k", "arrays", {"a": np.ones(3), "b": np.ones(3)})
    with pytest.raises(IntegrityError, match="overwritten"):
        lazy["b"]  # never a mix of the old "a" and the new "b"
    np.testing.assert_array_equal(dev.load("k")["arrays"]["b"], np.ones(3))


def test_local_store_file_is_plain_npz(tmp_path):
    store = capsa.open_store(str(tmp_path / "store"))
    store.save("exp/1", "arrays", ARRAYS)
    files = [p for p in (tmp_path / "store").rglob("arrays.npz") if p.is_file()]
    assert len(files) == 1
    with np.load(files[0], allow_pickle=False) as plain:
        _check({k: plain[k] for k in ARRAYS}, ARRAYS)


def test_store_discovery_does_not_import_numpy():
    code = (
        "import sys, capsa\n"
        "store = capsa.open_store('memory://x')\n"
        "assert 'numpy' not in sys.modules, 'numpy imported by discovery'\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
