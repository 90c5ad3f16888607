"""Catalog records are derived from manifests; kinds declare the scalar fields they carry."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from catalog_helpers import fingerprint, save_run

from capsa.catalog.errors import CatalogError
from capsa.catalog.records import (
    CatalogRecord,
    decode_record,
    encode_record,
    record_from_manifest,
    split_full_key,
)
from capsa.kinds.base import ArtifactKind, extract_fields
from capsa.plugins.manager import get_registry
from capsa.store.store import Store


def test_experiment_runs_declare_their_metrics_and_fields(store: Store) -> None:
    ref = save_run(store, "grid/a", loss=0.25, by_reference=True)
    record = record_from_manifest(ref.full_key, ref.manifest, get_registry())
    assert record.kind == "experiment.run" and record.key == "grid/a" and record.namespace == ""
    assert record.status == "success" and record.fingerprint == fingerprint("grid/a")
    assert record.fields == {
        "loss": 0.25,
        "converged": True,
        "optimizer": "adam",
        "experiment": "grid",
        "concrete_name": "grid__a",
        "attempt": 1,
        "model": "ridge",
        "duration_seconds": 0.25,
    }
    assert [(o.member, o.size) for o in record.objects] == [("model.bin", 13)]
    assert record.size == ref.manifest.size and record.txid == ref.manifest.txid


def test_other_kinds_record_columns_only(dev_store: Store) -> None:
    ref = dev_store.save("m", "json", {"a": 1}, meta={"status": 3, "fingerprint": ["x"]})
    record = record_from_manifest(ref.full_key, ref.manifest, get_registry())
    assert (record.namespace, record.key) == ("dev/s1", "m")
    assert record.status == "committed" and record.fingerprint is None and record.fields == {}
    assert record_from_manifest(ref.full_key, ref.manifest).fields == {}  # no registry


def test_field_paths() -> None:
    meta: dict[str, Any] = {
        "metrics": {"loss": 0.5, "nan": float("nan"), "hist": [1, 2], "acc": 0.9, "": 1},
        "duration": 3,
        "loss": "shadowed by the explicit path below",
        "nested": {"deep": {"x": True}},
        "none": None,
    }
    fields = extract_fields(
        ("metrics.*", "duration", "best=metrics.acc", "nested.deep.x", "none", "missing.path"),
        meta,
    )
    assert fields == {"loss": 0.5, "acc": 0.9, "duration": 3, "best": 0.9, "x": True}
    assert extract_fields(("loss", "metrics.*"), meta)["loss"] == meta["loss"]  # explicit wins
    assert extract_fields(("a.b",), {"a": 3}) == {}


class OddKind(ArtifactKind):
    name: ClassVar[str] = "test.odd"

    def catalog_values(self, meta: Any) -> dict[str, Any]:
        return {"ok": 1, "bad": [1], 3: "no", "inf": float("inf"), "": 2}


def test_a_kinds_odd_values_are_filtered(store: Store) -> None:
    ref = store.save("odd", "json", {"a": 1})
    registry = get_registry()
    registry.kinds.add("test.odd", OddKind(), "test")
    try:
        ref.manifest.kind = "test.odd"
        assert record_from_manifest("odd", ref.manifest, registry).fields == {"ok": 1}
    finally:
        del registry.kinds.entries["test.odd"]


def test_split_full_key() -> None:
    assert split_full_key("dev/s1/a/b") == ("dev/s1", "a/b")
    assert split_full_key("tests/t/x") == ("tests/t", "x")
    assert split_full_key("dev/x") == ("", "dev/x")
    assert split_full_key("a/b/_SUCCESS".removesuffix("/_SUCCESS")) == ("", "a/b")


def test_records_encode_and_refuse_bad_input() -> None:
    record = CatalogRecord(
        key="k", kind="json", kind_version=1, created_at="2024", txid="t", mode="production", size=1
    )
    assert decode_record(encode_record(record), source="r") == record
    with pytest.raises(CatalogError, match=r"record r: not a valid record"):
        decode_record(b"{", source="r")
    with pytest.raises(CatalogError, match=r"upgrade capsa"):
        decode_record(
            encode_record(record).replace(b'"schema_version":1', b'"schema_version":9'), source="r"
        )
