"""write_run_status against the seed's status logic, on every backend."""

from __future__ import annotations

import json

import pytest
from capsa_dimred import FIT_RUN_KEY_FIELDS, update_runs, write_run_status
from capsa_dimred.status import run_status
from dimred_helpers import join, object_exists, put_object, read_object, run_record

from capsa.errors import ValidationError

MARKERS = ("_RUN_SUCCESS", "_RUN_PARTIAL", "_RUN_FAILED")


@pytest.mark.parametrize(
    ("successes", "failures", "fatal", "expected"),
    [
        (1, 0, None, "success"),
        (3, 2, None, "partial"),
        (2, 0, "killed", "partial"),
        (0, 2, None, "failed"),
        (0, 0, "killed", "failed"),
        (0, 2, "killed", "failed"),
        (0, 0, None, "failed"),
    ],
)
def test_status_logic(successes: int, failures: int, fatal: str | None, expected: str) -> None:
    assert run_status(successes, failures, fatal) == expected


def _inventories(root: str, fit: list[str], evals: list[str]) -> tuple[str, str]:
    fit_path, eval_path = join(root, "fit_runs.json"), join(root, "eval_runs.json")
    for i, status in enumerate(fit):
        update_runs(fit_path, run_record(0, i, status=status), FIT_RUN_KEY_FIELDS, mirror=False)
    for i, status in enumerate(evals):
        update_runs(eval_path, run_record(1, i, status=status), FIT_RUN_KEY_FIELDS, mirror=False)
    return fit_path, eval_path


def _markers(root: str) -> list[str]:
    return [m for m in MARKERS if object_exists(join(root, m))]


@pytest.mark.parametrize(
    ("fit", "evals", "expected"),
    [
        (["success", "success"], ["success"], "success"),
        (["success"], ["failed"], "partial"),
        (["failed"], ["failed"], "failed"),
        (["failed"], [], "failed"),
        (["success", "skipped"], [], "success"),
    ],
)
def test_summary_and_exactly_one_marker(
    root: str, fit: list[str], evals: list[str], expected: str
) -> None:
    fit_path, eval_path = _inventories(root, fit, evals)
    summary = write_run_status(root, fit_path, eval_path)
    assert summary["status"] == expected
    assert _markers(root) == [f"_RUN_{expected.upper()}"]
    written = json.loads(read_object(join(root, "run_summary.json")))
    assert written == summary
    assert written["fit_runs"] == {
        "total": len(fit),
        "success": fit.count("success"),
        "failed": fit.count("failed"),
        "other": len(fit) - fit.count("success") - fit.count("failed"),
    }
    assert (written["schema"], written["schema_version"]) == ("capsa.dimred.run_summary", 1)


def test_previous_markers_are_replaced(root: str) -> None:
    for marker in MARKERS:
        put_object(join(root, marker), b"")
    fit_path, eval_path = _inventories(root, ["success"], [])
    write_run_status(root, fit_path, eval_path)
    assert _markers(root) == ["_RUN_SUCCESS"]
    write_run_status(root, fit_path, eval_path, fatal_error=RuntimeError("oom"))
    assert _markers(root) == ["_RUN_PARTIAL"]


def test_missing_inventories_count_as_empty(root: str) -> None:
    summary = write_run_status(root, join(root, "none.json"), join(root, "nope.json"))
    assert summary["status"] == "failed" and summary["fit_runs"]["total"] == 0
    assert _markers(root) == ["_RUN_FAILED"]


def test_fatal_error_report_and_metadata(root: str) -> None:
    fit_path, eval_path = _inventories(root, ["success"], ["success"])
    summary = write_run_status(
        root,
        fit_path,
        eval_path,
        fatal_error="worker crashed",
        report_path=join(root, "report.html"),
        run_metadata={"git": "abc123", "availability": [{"n_obs": 3}]},
    )
    assert summary["status"] == "partial" and summary["fatal_error"] == "worker crashed"
    assert summary["report_path"] == join(root, "report.html")
    assert summary["git"] == "abc123" and summary["availability"] == [{"n_obs": 3}]
    assert summary["fit_runs_path"] == fit_path


def test_summary_elsewhere(root: str) -> None:
    fit_path, eval_path = _inventories(root, ["success"], [])
    other = join(root, "meta", "summary.json")
    write_run_status(root, fit_path, eval_path, run_summary_path=other)
    assert json.loads(read_object(other))["status"] == "success"
    assert not object_exists(join(root, "run_summary.json"))
    assert _markers(root) == ["_RUN_SUCCESS"]


@pytest.mark.parametrize(
    ("metadata", "match"),
    [
        ({"status": "ok"}, r"may not set the summary's own key\(s\) 'status'"),
        ({"x": float("nan")}, r"run_metadata.x is nan"),
        ({"x": {1, 2}}, r"run_metadata.x is a builtins.set"),
        ([1, 2], r"run_metadata must be a dict"),
    ],
)
def test_bad_metadata_writes_nothing(root: str, metadata: object, match: str) -> None:
    fit_path, eval_path = _inventories(root, ["success"], [])
    with pytest.raises(ValidationError, match=match):
        write_run_status(root, fit_path, eval_path, run_metadata=metadata)  # type: ignore[arg-type]
    assert not object_exists(join(root, "run_summary.json")) and _markers(root) == []
