"""Store-level round trips through capsa.open_store (skipped until the store exists)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

capsa = pytest.importorskip("capsa")
if not hasattr(capsa, "open_store"):
    pytest.skip("capsa.open_store is not implemented yet", allow_module_level=True)

from capsa_npz import NpzArrays  # noqa: E402

from capsa.errors import CapsaError, ValidationError  # noqa: E402

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


def test_dict_round_trip_is_lazy():
    store = capsa.open_store("memory://npz-dict")
    store.save("run/arrays", "arrays", ARRAYS)
    art = store.load("run/arrays")
    got = art["arrays"]
    assert isinstance(got, NpzArrays)
    assert list(got.keys()) == list(ARRAYS)
    assert got.loaded == []
    _check(got, ARRAYS)
    assert art["arrays.npz"] is not None


def test_verified_load_and_verify():
    store = capsa.open_store("memory://npz-verify")
    store.save("k", "arrays", ARRAYS)
    store.verify("k")
    _check(store.load("k", verify=True)["arrays"], ARRAYS)


def test_single_array_round_trip():
    store = capsa.open_store("memory://npz-single")
    arr = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    store.save("one", "arrays", arr)
    got = store.load("one")["arrays"]
    assert isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, arr)


def test_compressed_option():
    # The shape of ``options`` (per member name) is the store's contract.
    store = capsa.open_store("memory://npz-compressed")
    store.save("c", "arrays", ARRAYS, options={"arrays": {"compressed": True}})
    _check(store.load("c", verify=True)["arrays"], ARRAYS)


def test_object_arrays_refused_before_writing():
    store = capsa.open_store("memory://npz-refuse")
    with pytest.raises(ValidationError, match="objs"):
        store.save("bad", "arrays", {"ok": np.ones(2), "objs": np.array([None, 1], dtype=object)})
    with pytest.raises(CapsaError):
        store.load("bad")


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
