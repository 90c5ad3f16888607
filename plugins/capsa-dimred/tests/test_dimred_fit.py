"""save_fit_artifact / load_fit_artifact against the seed's behaviour, on every backend."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from capsa_dimred import (
    EmbeddingContainer,
    FitData,
    StoreLocation,
    WrongKindError,
    load_fit_artifact,
    save_eval_artifact,
    save_fit_artifact,
)
from dimred_helpers import join, objects_under, read_object, sample_fit, save_args

import capsa
from capsa.errors import ArtifactExistsError, IntegrityError, MemberNotFoundError

SEED_KEYS = {
    "embedding",
    "ids",
    "fit",
    "metrics",
    "diagnostics",
    "manifest",
    "path",
    "embedding_container",
}


def test_writes_exactly_the_three_files(root: str) -> None:
    path = join(root, "fits", "pca_k2")
    save_fit_artifact(path, *save_args(sample_fit()))
    assert objects_under(path) == ["_SUCCESS", "fit.json", "fit.npz"]


def test_fit_npz_is_plain_numpy(root: str) -> None:
    fit = sample_fit()
    path = join(root, "fits", "pca_k2")
    save_fit_artifact(path, *save_args(fit))
    with np.load(io.BytesIO(read_object(path, "fit.npz")), allow_pickle=False) as npz:
        assert sorted(npz.files) == ["diag__explained_variance_ratio", "embedding", "ids"]
        np.testing.assert_array_equal(npz["embedding"], fit["embedding"])
        np.testing.assert_array_equal(npz["ids"], fit["ids"])


def test_fit_json_keeps_the_seed_keys(root: str) -> None:
    fit = sample_fit()
    path = join(root, "fits", "pca_k2")
    save_fit_artifact(path, *save_args(fit))
    doc = json.loads(read_object(path, "fit.json"))
    assert doc["fit"] == fit["fit_payload"]
    assert doc["metrics"] == fit["metrics_payload"]
    assert doc["diagnostics"] == {"n_iter": 3, "solver": "svd"}
    assert doc["diagnostic_arrays"] == ["explained_variance_ratio"]
    assert doc["artifact_stem"] == "pca_k2"
    assert (doc["schema"], doc["schema_version"]) == ("capsa.dimred.fit", 1)


def test_success_marker_is_the_manifest_with_provenance(root: str) -> None:
    path = join(root, "fits", "pca_k2")
    ref = save_fit_artifact(path, *save_args(sample_fit()))
    marker = json.loads(read_object(path, "_SUCCESS"))
    assert marker["kind"] == "dimred.fit" and marker["txid"] == ref.manifest.txid
    assert marker["meta"]["artifact_stem"] == "pca_k2"
    assert marker["meta"]["shape"] == [40, 2]
    assert marker["meta"]["metrics"] == {"trustworthiness": 0.91, "continuity": 0.95}
    assert sorted(m["file"] for m in marker["members"]) == ["fit.json", "fit.npz"]


def test_load_round_trip(root: str) -> None:
    fit = sample_fit()
    path = join(root, "fits", "pca_k2")
    save_fit_artifact(path, *save_args(fit))
    out = load_fit_artifact(path, verify=True)
    assert set(out) == SEED_KEYS
    np.testing.assert_array_equal(out["embedding"], fit["embedding"])
    np.testing.assert_array_equal(out["ids"], fit["ids"])
    assert out["fit"] == fit["fit_payload"] and out["metrics"] == fit["metrics_payload"]
    diag = out["diagnostics"]
    assert diag["n_iter"] == 3 and diag["solver"] == "svd"
    np.testing.assert_array_equal(
        diag["explained_variance_ratio"], fit["diagnostics"]["explained_variance_ratio"]
    )
    assert out["manifest"]["layout"] == "capsa" and out["manifest"]["kind"] == "dimred.fit"
    if "://" in root:
        assert out["path"] == path
    else:
        assert isinstance(out["path"], Path) and out["path"] == Path(path).resolve()


def test_embedding_container_labels_rows_and_columns(root: str) -> None:
    fit = sample_fit(dims=3, component_names=["PC1", "PC2", "PC3"])
    path = join(root, "fits", "pca_k3")
    save_fit_artifact(path, *save_args(fit))
    container = load_fit_artifact(path)["embedding_container"]
    assert isinstance(container, EmbeddingContainer)
    assert container.shape == (40, 3) and container.dims == ("obs", "component")
    assert container.components == ("PC1", "PC2", "PC3")
    np.testing.assert_array_equal(container.column("PC2"), fit["embedding"][:, 1])
    np.testing.assert_array_equal(container.row("obs-007"), fit["embedding"][7])
    np.testing.assert_array_equal(np.asarray(container), fit["embedding"])
    assert container.to_dict()["coords"]["obs"][0] == "obs-000"
    with pytest.raises(MemberNotFoundError, match=r"no component 'PC9'"):
        container.column("PC9")
    with pytest.raises(MemberNotFoundError, match=r"no observation"):
        container.row("nope")


def test_default_component_names(root: str) -> None:
    path = join(root, "fits", "pca_k2")
    save_fit_artifact(path, *save_args(sample_fit()))
    assert load_fit_artifact(path)["embedding_container"].components == ("dim_1", "dim_2")


@pytest.mark.parametrize("shape", [(40,), (40, 2, 3)])
def test_container_is_none_for_other_shapes(root: str, shape: tuple[int, ...]) -> None:
    fit = sample_fit()
    fit["embedding"] = np.ones(shape)
    path = join(root, "fits", "odd")
    save_fit_artifact(path, *save_args(fit))
    out = load_fit_artifact(path)
    assert out["embedding"].shape == shape and out["embedding_container"] is None


def test_integer_ids_and_empty_diagnostics(root: str) -> None:
    path = join(root, "fits", "ints")
    emb = np.zeros((5, 2), np.float32)
    save_fit_artifact(path, emb, np.arange(5), {"artifact_stem": "ints"}, {}, {})
    out = load_fit_artifact(path)
    assert out["ids"].dtype.kind == "i" and out["diagnostics"] == {}
    assert out["embedding"].dtype == np.float32


def test_object_string_ids_are_stored_as_strings(root: str) -> None:
    path = join(root, "fits", "obj")
    ids = np.array(["a", "b", "c"], dtype=object)
    save_fit_artifact(path, np.zeros((3, 2)), ids, {}, {}, {})
    assert load_fit_artifact(path)["ids"].tolist() == ["a", "b", "c"]


def test_allow_nonfinite_stores_nan(root: str) -> None:
    fit = sample_fit()
    fit["embedding"][3, 1] = np.nan
    path = join(root, "fits", "nan")
    save_fit_artifact(path, *save_args(fit), allow_nonfinite=True)
    out = load_fit_artifact(path)
    assert np.isnan(out["embedding"][3, 1])
    assert json.loads(read_object(path, "fit.json"))["allow_nonfinite"] is True


def test_production_path_is_written_once(root: str) -> None:
    path = join(root, "fits", "pca_k2")
    save_fit_artifact(path, *save_args(sample_fit(seed=1)))
    before = read_object(path, "fit.npz")
    with pytest.raises(ArtifactExistsError):
        save_fit_artifact(path, *save_args(sample_fit(seed=2)))
    assert read_object(path, "fit.npz") == before


def test_store_location_in_development_mode_overwrites(tmp_path: Path) -> None:
    store = capsa.open_store(str(tmp_path / "dev"), mode="development", session="s1")
    loc = StoreLocation(store, "fits/pca_k2")
    save_fit_artifact(loc, *save_args(sample_fit(seed=1)))
    save_fit_artifact(loc, *save_args(sample_fit(seed=2)))
    out = load_fit_artifact(loc)
    np.testing.assert_array_equal(out["embedding"], sample_fit(seed=2)["embedding"])
    assert out["path"] is loc
    assert (tmp_path / "dev" / "dev" / "s1" / "fits" / "pca_k2" / "fit.npz").is_file()


def test_the_kind_saves_fit_data_directly(tmp_path: Path) -> None:
    store = capsa.open_store(str(tmp_path / "s"))
    fit = sample_fit()
    store.save(
        "a",
        "dimred.fit",
        FitData(fit["embedding"], fit["ids"], fit["fit_payload"], fit["metrics_payload"]),
    )
    store.save(
        "b",
        "dimred.fit",
        {"embedding": fit["embedding"], "ids": fit["ids"], "diagnostics": fit["diagnostics"]},
    )
    assert load_fit_artifact(StoreLocation(store, "a"))["fit"] == fit["fit_payload"]
    b = load_fit_artifact(StoreLocation(store, "b"))
    assert b["fit"] == {} and b["diagnostics"]["n_iter"] == 3
    assert [i.kind for i in store.list()] == ["dimred.fit", "dimred.fit"]


def test_verify_catches_a_tampered_member(local_root: str) -> None:
    path = join(local_root, "fits", "pca_k2")
    save_fit_artifact(path, *save_args(sample_fit()))
    member = Path(path) / "fit.json"
    member.write_bytes(member.read_bytes().replace(b"0.91", b"0.99"))
    with pytest.raises(IntegrityError, match=r"fit.json"):
        load_fit_artifact(path, verify=True)


def test_loading_an_eval_as_a_fit_is_refused(root: str) -> None:
    path = join(root, "evals", "e")
    save_eval_artifact(path, {"metrics": {}})
    with pytest.raises(WrongKindError, match=r"'dimred.eval' artifact, not a 'dimred.fit'"):
        load_fit_artifact(path)
