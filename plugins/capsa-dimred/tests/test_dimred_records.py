"""build_record and build_availability_record against the seed's described behaviour."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from capsa_dimred import (
    EVAL_METRIC_COLUMNS,
    FIT_METRIC_COLUMNS,
    SEPARATION_METRIC_KEY,
    EmbeddingContainer,
    StoreLocation,
    build_availability_record,
    build_record,
)

import capsa
from capsa.errors import ValidationError

PAYLOAD = {
    "scope": "subject",
    "condition": "rest",
    "method": "pca",
    "n_components": np.int64(2),
    "metrics": {"trustworthiness": 0.9, "continuity": "0.8", "lcmc": 1},
    "records": [1, 2, 3],
    "metadata": {"big": "x"},
    "artifacts": {"plot": "a.png"},
}


def test_strips_bulky_dicts_and_promotes_metrics(tmp_path: Path) -> None:
    root = tmp_path / "out"
    record = build_record(PAYLOAD, root / "fits" / "pca_2", root, FIT_METRIC_COLUMNS)
    assert list(record) == [
        "scope",
        "condition",
        "method",
        "n_components",
        "artifact_path",
        *FIT_METRIC_COLUMNS,
        "status",
        "error",
    ]
    assert record["n_components"] == 2 and type(record["n_components"]) is int
    assert record["artifact_path"] == "fits/pca_2"
    assert record["trustworthiness"] == 0.9 and record["continuity"] == 0.8
    for column in ("knn_preservation", "explained_variance_ratio", "reconstruction_error"):
        assert math.isnan(record[column])
    assert (record["status"], record["error"]) == ("success", None)


def test_metrics_payload_wins_over_payload_metrics(tmp_path: Path) -> None:
    metrics = {SEPARATION_METRIC_KEY: np.float32(0.75), "silhouette": None}
    record = build_record(PAYLOAD, None, tmp_path, EVAL_METRIC_COLUMNS, metrics_payload=metrics)
    assert record[SEPARATION_METRIC_KEY] == 0.75
    assert math.isnan(record["silhouette"]) and math.isnan(record["knn_label_accuracy"])
    assert record["artifact_path"] is None


@pytest.mark.parametrize("value", ["n/a", [1, 2], {"a": 1}, object(), float("nan")])
def test_non_numbers_become_nan(tmp_path: Path, value: object) -> None:
    record = build_record(
        {"metrics": {"trustworthiness": value}}, None, tmp_path, ("trustworthiness",)
    )
    assert math.isnan(record["trustworthiness"])


def test_error_stamps_failed(tmp_path: Path) -> None:
    record = build_record({"a": 1}, None, tmp_path, (), error=ValueError("boom"))
    assert record == {"a": 1, "artifact_path": None, "status": "failed", "error": "boom"}
    assert build_record({}, None, tmp_path, (), error=RuntimeError())["error"] == "RuntimeError"


def test_relative_path_for_urls_and_locations(tmp_path: Path) -> None:
    rec = build_record({}, "s3://b/out/fits/x", "s3://b/out/", ())
    assert rec["artifact_path"] == "fits/x"
    store = capsa.open_store(str(tmp_path / "s"))
    rec = build_record({}, StoreLocation(store, "out/fits/x"), StoreLocation(store, "out"), ())
    assert rec["artifact_path"] == "fits/x"


@pytest.mark.parametrize(
    ("artifact", "root"),
    [
        ("/data/other/x", "/data/out"),
        ("/data/out", "/data/out"),
        ("memory://a/outside/x", "memory://a/out"),
        ("memory://a/out-sibling/x", "memory://a/out"),
    ],
)
def test_artifact_outside_the_root_is_refused(artifact: str, root: str) -> None:
    with pytest.raises(ValidationError, match=r"is not inside output_root"):
        build_record({}, artifact, root, ())


@pytest.mark.parametrize(
    ("payload", "columns", "match"),
    [
        ([("a", 1)], (), r"payload must be a dict"),
        ({}, "trustworthiness", r"metric_columns must be a sequence"),
        ({}, (1,), r"metric_columns must hold strings"),
    ],
)
def test_bad_arguments(tmp_path: Path, payload: object, columns: object, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        build_record(payload, None, tmp_path, columns)  # type: ignore[arg-type]


def test_availability_from_an_array() -> None:
    record = build_availability_record(
        scope="subject",
        condition="rest",
        unit_spec={"channels": ["C3", "C4"]},
        container=np.zeros((40, 3, 4)),
        requested_components=[2, 3, 20, 2],
        valid_components=(3, 2),
    )
    assert record == {
        "scope": "subject",
        "condition": "rest",
        "unit_spec": {"channels": ["C3", "C4"]},
        "n_obs": 40,
        "n_features": 12,
        "shape": [40, 3, 4],
        "max_components": 12,
        "requested_components": [2, 3, 20],
        "valid_components": [3, 2],
        "skipped_components": [20],
        "available": True,
    }


def test_availability_from_a_container_and_from_a_shape() -> None:
    container = EmbeddingContainer(np.zeros((5, 2)), np.arange(5), ("a", "b"))

    class DataContainer:
        X = np.zeros((7, 30))

    for source, shape in ((container, [5, 2]), (DataContainer(), [7, 30]), ((9, 4), [9, 4])):
        record = build_availability_record(
            scope="s",
            condition="c",
            unit_spec="u",
            container=source,
            requested_components=[8],
            valid_components=[],
        )
        assert record["shape"] == shape and record["available"] is False
        assert record["skipped_components"] == [8]
    one_d = build_availability_record(
        scope="s",
        condition="c",
        unit_spec="u",
        container=np.zeros(6),
        requested_components=[1],
        valid_components=[1],
    )
    assert (one_d["n_obs"], one_d["n_features"], one_d["max_components"]) == (6, 1, 1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"container": "not an array"}, r"container must have a shape"),
        ({"container": object()}, r"container must have a shape"),
        ({"container": (3, -1)}, r"container must have a shape"),
        ({"requested_components": [2.5]}, r"requested_components must hold ints"),
        ({"requested_components": [0]}, r"must hold positive ints"),
        ({"requested_components": [True]}, r"must hold ints"),
        ({"valid_components": "2"}, r"valid_components must be a sequence"),
        ({"valid_components": [4]}, r"valid_components \[4\] were not requested"),
        ({"unit_spec": {1: "x"}}, r"non-string|key 1"),
        ({"scope": float("nan")}, r"availability.scope is nan"),
    ],
)
def test_availability_bad_input(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {
        "scope": "s",
        "condition": "c",
        "unit_spec": "u",
        "container": (10, 5),
        "requested_components": [2, 3],
        "valid_components": [2],
    }
    args.update(kwargs)
    with pytest.raises(ValidationError, match=match):
        build_availability_record(**args)  # type: ignore[arg-type]
