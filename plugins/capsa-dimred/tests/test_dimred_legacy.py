"""The legacy layouts of docs/dimred.md, written by the documented writers, on every backend."""

from __future__ import annotations

import math

import numpy as np
import pytest
from capsa_dimred import LegacyLayoutError, load_eval_artifact, load_fit_artifact
from dimred_helpers import (
    join,
    older_eval_files,
    put_files,
    sample_fit,
    seed_compact_files,
    seed_eval_files,
    seven_file_files,
)

from capsa.errors import ArtifactNotFoundError


def _check_fit(out: dict, fit: dict, *, arrays_are_lists: bool = False) -> None:
    np.testing.assert_array_equal(out["embedding"], fit["embedding"])
    np.testing.assert_array_equal(out["ids"], fit["ids"])
    assert out["fit"] == fit["fit_payload"]
    assert out["metrics"] == fit["metrics_payload"]
    evr = out["diagnostics"]["explained_variance_ratio"]
    if arrays_are_lists:
        assert isinstance(evr, list)
    np.testing.assert_allclose(evr, fit["diagnostics"]["explained_variance_ratio"])
    assert out["diagnostics"]["n_iter"] == 3
    assert out["embedding_container"].shape == fit["embedding"].shape


def test_seed_compact_layout(root: str) -> None:
    fit = sample_fit()
    fit["metrics_payload"]["continuity"] = float("nan")  # the seed's json wrote NaN
    path = join(root, "legacy", "compact")
    put_files(path, seed_compact_files(fit))
    out = load_fit_artifact(path)
    assert math.isnan(out["metrics"].pop("continuity"))
    fit["metrics_payload"].pop("continuity")
    _check_fit(out, fit)
    assert out["manifest"] == {
        "layout": "seed-compact",
        "files": ["fit.npz", "fit.json", "_SUCCESS"],
    }


def test_seven_file_layout_through_the_manifest(root: str) -> None:
    fit = sample_fit(stem="umap_k2")
    path = join(root, "legacy", "seven")
    files = seven_file_files(fit)
    assert len(files) == 7
    put_files(path, files)
    out = load_fit_artifact(path)
    _check_fit(out, fit, arrays_are_lists=True)
    manifest = out["manifest"]
    assert manifest["layout"] == "legacy-seven-file"
    assert manifest["resolved_by"] == "manifest"
    assert manifest["artifact_stem"] == "umap_k2"
    assert manifest["files"]["embedding"] == "umap_k2_embedding.npy"


def test_seven_file_layout_by_glob_without_manifest(root: str) -> None:
    fit = sample_fit(stem="tsne_k2")
    path = join(root, "legacy", "glob")
    put_files(path, seven_file_files(fit, manifest=False))
    out = load_fit_artifact(path)
    _check_fit(out, fit, arrays_are_lists=True)
    assert out["manifest"]["resolved_by"] == "glob"
    assert out["manifest"]["artifact_stem"] == "tsne_k2"


def test_manifest_without_some_roles_falls_back_to_glob(root: str) -> None:
    fit = sample_fit()
    path = join(root, "legacy", "partial")
    put_files(path, seven_file_files(fit, roles=("embedding", "ids")))
    out = load_fit_artifact(path)
    _check_fit(out, fit, arrays_are_lists=True)
    assert out["manifest"]["resolved_by"] == "manifest+glob"


def test_optional_roles_may_be_absent(root: str) -> None:
    fit = sample_fit()
    files = seven_file_files(fit, manifest=False)
    files = {k: v for k, v in files.items() if "metrics" not in k and "diagnostics" not in k}
    path = join(root, "legacy", "minimal")
    put_files(path, files)
    out = load_fit_artifact(path)
    assert out["metrics"] == {} and out["diagnostics"] == {}


def test_ambiguous_glob_is_refused(root: str) -> None:
    fit = sample_fit()
    files = seven_file_files(fit, manifest=False)
    files["other_embedding.npy"] = files["pca_k2_embedding.npy"]
    path = join(root, "legacy", "ambiguous")
    put_files(path, files)
    with pytest.raises(LegacyLayoutError, match=r"2 files match '\*embedding.npy'"):
        load_fit_artifact(path)


def test_manifest_naming_a_missing_file_is_refused(root: str) -> None:
    files = seven_file_files(sample_fit())
    del files["pca_k2_ids.npy"]
    path = join(root, "legacy", "missing")
    put_files(path, files)
    with pytest.raises(LegacyLayoutError, match=r"names 'pca_k2_ids.npy' for 'ids'.*missing"):
        load_fit_artifact(path)


@pytest.mark.parametrize("bad", ["../escape.npy", "sub/file.npy"])
def test_manifest_naming_a_file_outside_is_refused(root: str, bad: str) -> None:
    import json

    files = seven_file_files(sample_fit())
    manifest = json.loads(files["artifact_manifest.json"])
    manifest["files"]["embedding"] = bad
    files["artifact_manifest.json"] = json.dumps(manifest).encode()
    path = join(root, "legacy", "escape")
    put_files(path, files)
    with pytest.raises(LegacyLayoutError, match=r"not a file of this directory"):
        load_fit_artifact(path)


def test_malformed_manifest_is_refused(root: str) -> None:
    files = seven_file_files(sample_fit())
    files["artifact_manifest.json"] = b'{"files": ["not", "a", "map"]}'
    path = join(root, "legacy", "bad-manifest")
    put_files(path, files)
    with pytest.raises(LegacyLayoutError, match=r"artifact_manifest.json is malformed"):
        load_fit_artifact(path)


def test_corrupt_npy_is_refused(root: str) -> None:
    files = seven_file_files(sample_fit())
    files["pca_k2_embedding.npy"] = b"not numpy"
    path = join(root, "legacy", "corrupt")
    put_files(path, files)
    with pytest.raises(LegacyLayoutError, match=r"pca_k2_embedding.npy is not a readable .npy"):
        load_fit_artifact(path)


def test_directory_without_success_is_incomplete(root: str) -> None:
    files = seven_file_files(sample_fit())
    del files["_SUCCESS"]
    path = join(root, "legacy", "unfinished")
    put_files(path, files)
    with pytest.raises(LegacyLayoutError, match=r"no _SUCCESS: the fit artifact is incomplete"):
        load_fit_artifact(path)


def test_nothing_at_the_path(root: str) -> None:
    with pytest.raises(ArtifactNotFoundError, match=r"no fit artifact at"):
        load_fit_artifact(join(root, "nothing", "here"))
    with pytest.raises(ArtifactNotFoundError, match=r"no eval artifact at"):
        load_eval_artifact(join(root, "nothing", "here"))


def test_seed_eval_layout(root: str) -> None:
    payload = {"metrics": {"silhouette": float("nan")}, "evaluation": "class"}
    path = join(root, "legacy", "eval")
    put_files(path, seed_eval_files(payload))
    out = load_eval_artifact(path)
    assert out["evaluation"] == "class" and math.isnan(out["metrics"]["silhouette"])


def test_older_stem_eval_layout(root: str) -> None:
    payload = {"metrics": {"silhouette": 0.3}, "artifact_stem": "pca_k2"}
    path = join(root, "legacy", "old-eval")
    put_files(path, older_eval_files("pca_k2", payload))
    assert load_eval_artifact(path) == payload


def test_two_stem_eval_files_are_ambiguous(root: str) -> None:
    files = {**older_eval_files("a", {}), **older_eval_files("b", {})}
    path = join(root, "legacy", "two-evals")
    put_files(path, files)
    with pytest.raises(LegacyLayoutError, match=r"exactly one <stem>_eval.json, found a_eval"):
        load_eval_artifact(path)


def test_capsa_marker_that_is_corrupt_is_not_taken_for_legacy(local_root: str) -> None:
    from pathlib import Path

    from capsa_dimred import save_fit_artifact
    from dimred_helpers import save_args

    from capsa.errors import IntegrityError

    path = join(local_root, "fits", "pca_k2")
    save_fit_artifact(path, *save_args(sample_fit()))
    marker = Path(path) / "_SUCCESS"
    marker.write_bytes(marker.read_bytes().replace(b'"members"', b'"memberz"'))
    with pytest.raises(IntegrityError, match=r"not a valid capsa manifest"):
        load_fit_artifact(path)
