"""Catalog queries: filter by kind and fields, order by a metric, limit; from Python."""

from __future__ import annotations

import pytest
from catalog_helpers import save_run

import capsa
from capsa.catalog import Filter, QueryError, objectstore, open_catalog, parse_filter
from capsa.catalog.query import parse_value
from capsa.store.store import Store


@pytest.fixture(autouse=True)
def _no_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(objectstore, "ENABLED_CHECK_SECONDS", 0.0)


@pytest.fixture
def runs(store: Store) -> Store:
    for i, (loss, status, model) in enumerate(
        [
            (0.9, "success", "ridge"),
            (0.2, "success", "lasso"),
            (0.5, "failed", "ridge"),
            (0.1, "partial", "ridge"),
            (0.7, "success", "ridge"),
        ]
    ):
        save_run(store, f"grid/run{i}", loss=loss, status=status, model=model, by_reference=True)
    store.save("notes", "text", "not a run")
    return store


def keys(rows) -> list[str]:
    return [row.key for row in rows]


def test_top_k_by_a_metric_with_filters(runs: Store) -> None:
    catalog = open_catalog(runs)
    best = catalog.query(
        kind="experiment.run", where={"status": "success"}, order_by="loss", limit=2
    )
    assert keys(best) == ["grid/run1", "grid/run4"]
    assert best[0].fields["loss"] == 0.2 and best[0].get("model") == "lasso"
    worst = catalog.query(kind="experiment.run", order_by="loss", descending=True, limit=1)
    assert keys(worst) == ["grid/run0"]
    ridge = catalog.query(where=["model=ridge", "loss<0.8", "loss >= 0.1"], order_by="loss")
    assert keys(ridge) == ["grid/run3", "grid/run2", "grid/run4"]
    assert keys(catalog.query(where={"converged": True, "status": "success"})) == ["grid/run1"]
    assert keys(catalog.query(where=["converged=false"])) == ["grid/run0", "grid/run4"]
    assert len(catalog.query()) == 6 and catalog.count() == 6
    assert keys(catalog.query(kind="text")) == ["notes"]
    assert keys(catalog.query(prefix="grid/run1")) == ["grid/run1"]
    assert keys(
        catalog.query(where=[Filter("status", "!=", "success")], kind="experiment.run")
    ) == [
        "grid/run2",
        "grid/run3",
    ]


def test_order_by_columns_and_typed_comparisons(runs: Store) -> None:
    catalog = open_catalog(runs)
    newest = catalog.query(order_by="created_at", descending=True, limit=1)
    assert keys(newest) == ["notes"]
    assert keys(catalog.query(where=["size>1000000"])) == []
    # A numeric comparison never matches a string field, and vice versa.
    assert keys(catalog.query(where=["optimizer<1"])) == []
    assert len(catalog.query(where=["optimizer=adam"])) == 5
    assert keys(catalog.query(where=["loss=adam"])) == []
    assert keys(catalog.query(where=[Filter("model", "=", None)])) == ["notes"]
    assert len(catalog.query(where=[Filter("model", "!=", None)])) == 5
    assert keys(catalog.query(where=["fingerprint=null"])) == ["notes"]
    assert keys(catalog.query(order_by="model", limit=1)) == ["grid/run1"]  # a string field


def test_object_reference_counts_come_from_the_manifests(runs: Store) -> None:
    usage = {u.refs for u in open_catalog(runs).objects()}
    assert usage == {1, 4}  # one lasso model, four runs share the ridge model's bytes
    assert runs.objects.usage()[0] == 2  # stored once each


def test_namespaces(tmp_path) -> None:
    root = str(tmp_path / "s")
    prod = capsa.open_store(root)
    dev = capsa.open_store(root, mode="development", session="s1")
    save_run(prod, "grid/p", loss=0.3)
    save_run(dev, "grid/d", loss=0.1)
    assert keys(open_catalog(prod).query()) == ["grid/p"]
    assert keys(open_catalog(dev).query()) == ["grid/d"]
    everything = open_catalog(prod).query(all_namespaces=True, order_by="loss")
    assert [(r.namespace, r.key) for r in everything] == [("dev/s1", "grid/d"), ("", "grid/p")]
    assert open_catalog(prod).count(all_namespaces=True) == 2
    assert keys(open_catalog(prod).query(namespace="dev/s1")) == ["grid/d"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("loss<0.5", Filter("loss", "<", 0.5)),
        ("status = success", Filter("status", "=", "success")),
        ("epochs>=3", Filter("epochs", ">=", 3)),
        ("ok=true", Filter("ok", "=", True)),
        ('name="42"', Filter("name", "=", "42")),
        ("model!=ridge", Filter("model", "!=", "ridge")),
        ("note=a=b", Filter("note", "=", "a=b")),
        ("x=-1.5e3", Filter("x", "=", -1500.0)),
        ("path=01x", Filter("path", "=", "01x")),
    ],
)
def test_parse_filter(text: str, expected: Filter) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (lambda: ["loss"], r"cannot read the filter 'loss'"),
        (lambda: ["=3"], r"cannot read the filter"),
        (lambda: [Filter("loss", "~", 1)], r"unknown operator '~'"),
        (lambda: [Filter("loss", "<", None)], r"null only compares"),
        (lambda: [Filter("ok", "<", True)], r"booleans only compare"),
        (lambda: [Filter("loss", "<", float("nan"))], r"not a finite number"),
        (lambda: [Filter("loss", "<", [1])], r"must be a number, boolean or string"),  # type: ignore[arg-type]
        (lambda: [Filter(" ", "=", 1)], r"needs a field name"),
        (lambda: [3], r"expected a filter"),
        (lambda: 5, r"expected filters"),
        (lambda: ["status=true"], r"holds no booleans"),
    ],
)
def test_bad_queries_are_refused(runs: Store, where, message: str) -> None:
    catalog = open_catalog(runs)
    with pytest.raises(QueryError, match=message):
        catalog.query(where=where())


def test_bad_limit_and_order(runs: Store) -> None:
    catalog = open_catalog(runs)
    for limit in (-1, 1.5, True):
        with pytest.raises(QueryError, match=r"limit must be"):
            catalog.query(limit=limit)  # type: ignore[arg-type]
    with pytest.raises(QueryError, match=r"order_by must be"):
        catalog.query(order_by="")
    assert catalog.query(order_by="no_such_field") == []


def test_parse_value() -> None:
    assert parse_value("3") == 3 and parse_value("null") is None
    assert parse_value("true") is True and parse_value("ridge") == "ridge"
    assert parse_value('"x y"') == "x y" and parse_value(" 0.5 ") == 0.5
