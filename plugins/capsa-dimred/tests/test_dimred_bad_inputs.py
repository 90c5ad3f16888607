"""Every bad input of the issue raises a clear, typed error before anything is written."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from capsa_dimred import (
    FIT_RUN_KEY_FIELDS,
    load_fit_runs,
    save_eval_artifact,
    save_fit_artifact,
    update_runs,
)
from capsa_dimred.location import locate_root
from dimred_helpers import join, read_object, run_record, sample_fit, save_args

from capsa.errors import CapsaError, InvalidKeyError, UnknownBackendError, ValidationError


def _nothing_written(root: str) -> None:
    loc = locate_root(root)
    assert [info.key for info in loc.backend.list("")] == []


def _fit(**changes: Any) -> tuple[Any, ...]:
    fit = sample_fit()
    fit.update(changes)
    return save_args(fit)


class Custom:
    """Not JSON."""


FIT_CASES = [
    (_fit(ids=np.arange(39)), r"ids has 39 entries but the embedding has 40 rows"),
    (_fit(ids=np.arange(80).reshape(40, 2)), r"ids must be 1-D"),
    (_fit(ids=np.array([1, "a", None], dtype=object)), r"ids hold Python objects"),
    (_fit(ids=np.ones(40)), r"ids must be ints or strings, got dtype float64"),
    (
        _fit(embedding=np.where(np.eye(40, 2) > 0, np.nan, 0.0)),
        r"embedding holds 2 non-finite value\(s\) \(NaN or inf\), the first at index \(0, 0\)",
    ),
    (_fit(embedding=np.full((40, 2), np.inf)), r"allow_nonfinite=True"),
    (_fit(embedding=np.array(1.0)), r"at least one dimension"),
    (_fit(embedding=np.array([["a", "b"]] * 40)), r"embedding must hold numbers"),
    (_fit(embedding=np.ma.masked_array(np.zeros((40, 2)))), r"masked array"),
    (_fit(fit_payload={"alpha": float("nan")}), r"fit_payload.alpha is nan: JSON cannot hold"),
    (_fit(fit_payload={"cb": Custom()}), r"fit_payload.cb is a .*Custom, which is not JSON"),
    (_fit(fit_payload={"s": {1, 2}}), r"fit_payload.s is a builtins.set"),
    (_fit(fit_payload={1: "a"}), r"fit_payload has the key 1 of type int"),
    (_fit(fit_payload=[("a", 1)]), r"fit_payload must be a dict, got list"),
    (_fit(fit_payload={"artifact_stem": 3}), r"artifact_stem must be a string"),
    (_fit(metrics_payload={"t": [1.0, float("inf")]}), r"metrics_payload.t\[1\] is inf"),
    (_fit(metrics_payload={"t": 1j}), r"metrics_payload.t is a builtins.complex"),
    (_fit(diagnostics={"w": np.array([object()])}), r"diagnostics.w is an object array"),
    (_fit(diagnostics={"a/b": np.zeros(2)}), r"diagnostics.a/b: npz array name"),
    (_fit(diagnostics={"when": np.datetime64("2024-01-01")}), r"diagnostics.when is a numpy"),
]


@pytest.mark.parametrize(("args", "match"), FIT_CASES)
def test_save_fit_refuses(root: str, args: tuple[Any, ...], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        save_fit_artifact(join(root, "fits", "bad"), *args)
    _nothing_written(root)


def test_allow_nonfinite_must_be_a_bool(root: str) -> None:
    with pytest.raises(ValidationError, match=r"allow_nonfinite must be a bool"):
        save_fit_artifact(join(root, "fits", "bad"), *_fit(), allow_nonfinite="yes")  # type: ignore[arg-type]
    _nothing_written(root)


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        ({"m": float("nan")}, r"eval_payload.m is nan"),
        ({"m": {"x": Custom()}}, r"eval_payload.m.x is a"),
        ("not a dict", r"eval_payload must be a dict, got str"),
        ({"artifact_stem": ["a"]}, r"eval_payload.artifact_stem must be a string"),
    ],
)
def test_save_eval_refuses(root: str, payload: Any, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        save_eval_artifact(join(root, "evals", "bad"), payload)
    _nothing_written(root)


@pytest.mark.parametrize(
    ("record", "key_fields", "match"),
    [
        (
            {"scope": "s", "condition": "c"},
            FIT_RUN_KEY_FIELDS,
            r"record misses the key field\(s\) 'unit', 'method', 'n_components'",
        ),
        (run_record(0, 1), "scope", r"key_fields must be a sequence of field names"),
        (run_record(0, 1), (), r"key_fields is empty"),
        (run_record(0, 1), ("scope", "scope"), r"lists a field twice"),
        (run_record(0, 1), ("scope", 3), r"key_fields must hold non-empty strings"),
        (run_record(0, 1, extra=Custom()), FIT_RUN_KEY_FIELDS, r"record.extra is a"),
        (run_record(0, 1, extra={2: 1}), FIT_RUN_KEY_FIELDS, r"record.extra has the key 2"),
        (["not", "a", "dict"], FIT_RUN_KEY_FIELDS, r"record must be a dict"),
    ],
)
def test_update_runs_refuses(root: str, record: Any, key_fields: Any, match: str) -> None:
    path = join(root, "fit_runs.json")
    with pytest.raises(ValidationError, match=match):
        update_runs(path, record, key_fields)
    _nothing_written(root)


def test_update_runs_refusal_leaves_an_existing_inventory_alone(root: str) -> None:
    path = join(root, "fit_runs.json")
    update_runs(path, run_record(0, 1), FIT_RUN_KEY_FIELDS)
    before = read_object(path)
    with pytest.raises(ValidationError, match=r"record misses the key field"):
        update_runs(path, {"scope": "x"}, FIT_RUN_KEY_FIELDS)
    assert read_object(path) == before
    assert load_fit_runs(path) == json.loads(before)


@pytest.mark.parametrize(
    ("path", "error", "match"),
    [
        ("", InvalidKeyError, r"is empty"),
        ("memory://nothing-below", InvalidKeyError, r"has no parent to act as the store root"),
        ("memory://space/out/_SUCCESS", InvalidKeyError, r"reserved name '_SUCCESS'"),
        ("memory://space/out/.capsa", InvalidKeyError, r"internal folder"),
        ("nosuch://bucket/out/x", UnknownBackendError, r"nosuch"),
        (42, InvalidKeyError, r"must be a path, a capsa URL or a StoreLocation, got int"),
    ],
)
def test_bad_paths(path: Any, error: type[CapsaError], match: str) -> None:
    with pytest.raises(error, match=match):
        save_fit_artifact(path, *_fit())
    with pytest.raises(error, match=match):
        update_runs(path, run_record(0, 1), FIT_RUN_KEY_FIELDS)
