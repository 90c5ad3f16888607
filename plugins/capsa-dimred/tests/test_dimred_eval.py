"""save_eval_artifact / load_eval_artifact against the seed's described behaviour."""

from __future__ import annotations

import json

import pytest
from capsa_dimred import SEPARATION_METRIC_KEY, load_eval_artifact, save_eval_artifact
from capsa_dimred import _load_eval_payload as seed_private_loader
from dimred_helpers import join, objects_under, read_object

from capsa.errors import ArtifactExistsError

PAYLOAD = {
    "scope": "subject",
    "condition": "rest",
    "unit": "all",
    "method": "pca",
    "n_components": 2,
    "evaluation": "class",
    "artifact_stem": "pca_k2_class",
    "metrics": {SEPARATION_METRIC_KEY: 0.93, "silhouette": 0.41, "note": "text is skipped"},
    "records": [{"fold": 0, "score": 0.9}],
}


def test_writes_exactly_eval_json_and_success(root: str) -> None:
    path = join(root, "evals", "pca_k2_class")
    save_eval_artifact(path, PAYLOAD)
    assert objects_under(path) == ["_SUCCESS", "eval.json"]
    assert json.loads(read_object(path, "eval.json")) == PAYLOAD


def test_manifest_records_stem_and_metrics(root: str) -> None:
    path = join(root, "evals", "pca_k2_class")
    ref = save_eval_artifact(path, PAYLOAD)
    assert ref.manifest.kind == "dimred.eval"
    assert ref.manifest.meta == {
        "artifact_stem": "pca_k2_class",
        "metrics": {SEPARATION_METRIC_KEY: 0.93, "silhouette": 0.41},
    }


def test_stem_is_optional(root: str) -> None:
    path = join(root, "evals", "bare")
    ref = save_eval_artifact(path, {"score": 1})
    assert ref.manifest.meta == {"artifact_stem": None, "metrics": {}}


def test_round_trip_and_seed_private_name(root: str) -> None:
    path = join(root, "evals", "pca_k2_class")
    save_eval_artifact(path, PAYLOAD)
    assert load_eval_artifact(path, verify=True) == PAYLOAD
    assert seed_private_loader(path) == PAYLOAD


def test_numpy_values_become_json(root: str) -> None:
    import numpy as np

    path = join(root, "evals", "np")
    save_eval_artifact(path, {"scores": np.array([0.5, 0.25]), "n": np.int64(3)})
    assert load_eval_artifact(path) == {"scores": [0.5, 0.25], "n": 3}


def test_written_once(root: str) -> None:
    path = join(root, "evals", "e")
    save_eval_artifact(path, {"a": 1})
    with pytest.raises(ArtifactExistsError):
        save_eval_artifact(path, {"a": 2})
    assert load_eval_artifact(path) == {"a": 1}
