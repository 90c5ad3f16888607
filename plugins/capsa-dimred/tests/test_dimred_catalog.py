"""query_runs: the inventory through capsa's catalog, newest revision of each run only."""

from __future__ import annotations

import pytest
from capsa_dimred import FIT_RUN_KEY_FIELDS, load_fit_runs, query_runs, update_runs
from dimred_helpers import join, run_record

pytest.importorskip("capsa.catalog", reason="query_runs needs capsa's catalog")


@pytest.fixture(autouse=True)
def _no_enable_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """An object-store catalog waits 5 s when first enabled (for other processes): not here."""
    import capsa.catalog.objectstore as objectstore

    monkeypatch.setattr(objectstore, "ENABLED_CHECK_SECONDS", 0.0, raising=False)


def _fill(path: str) -> None:
    for i in range(4):
        update_runs(path, run_record(0, i, trustworthiness=0.5 + i / 10), FIT_RUN_KEY_FIELDS)
    update_runs(path, run_record(0, 1, trustworthiness=0.95), FIT_RUN_KEY_FIELDS)  # re-upsert
    update_runs(path, run_record(1, 0, status="failed", trustworthiness=0.2), FIT_RUN_KEY_FIELDS)


def test_query_orders_filters_and_keeps_the_newest_revision(root: str) -> None:
    path = join(root, "fit_runs.json")
    _fill(path)
    rows = query_runs(path, order_by="trustworthiness", descending=True)
    assert [(r["condition"], r["n_components"], r["trustworthiness"]) for r in rows] == [
        ("w00", 1, 0.95),
        ("w00", 3, 0.8),
        ("w00", 2, 0.7),
        ("w00", 0, 0.5),
        ("w01", 0, 0.2),
    ]
    assert rows[0]["revision"] == 4 and rows[0]["status"] == "success"
    assert len(rows) == len(load_fit_runs(path))


def test_where_and_limit(root: str) -> None:
    path = join(root, "fit_runs.json")
    _fill(path)
    best = query_runs(path, where={"status": "success"}, order_by="trustworthiness", limit=2)
    assert [r["n_components"] for r in best] == [0, 2]
    failed = query_runs(path, where={"status": "failed"})
    assert [(r["condition"], r["n_components"]) for r in failed] == [("w01", 0)]
    # The first revision of run 1 had trustworthiness 0.6: it is history, not a match.
    assert query_runs(path, where=["trustworthiness<0.65", "trustworthiness>0.55"]) == []


def test_inventories_are_kept_apart(root: str) -> None:
    fits, evals = join(root, "fit_runs.json"), join(root, "eval_runs.json")
    update_runs(fits, run_record(0, 1), FIT_RUN_KEY_FIELDS)
    update_runs(evals, {**run_record(0, 1), "evaluation": "e"}, (*FIT_RUN_KEY_FIELDS, "evaluation"))
    assert [r["inventory"] for r in query_runs(fits)] == ["fit_runs.json"]
    assert [r["evaluation"] for r in query_runs(evals)] == ["e"]
