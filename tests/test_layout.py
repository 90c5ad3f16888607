"""Layouts: typed kinds, partitions and layers resolved to keys (seed 001)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import capsa
from capsa.errors import ArtifactExistsError, InvalidKeyError, ValidationError
from capsa.kinds import typed_kind
from capsa.layout import Layout
from capsa.markers import hookimpl
from capsa.plugins.manager import register_plugin, unregister_plugin

KINDS = [
    typed_kind("error_notes", format="text", layer="base", partition_keys=("chromosome",)),
    typed_kind("run_metrics", format="json", layer="meta"),
    typed_kind("checkpoint_notes", format="text", layer="meta", partition_keys=("epoch",)),
    typed_kind("free_notes", format="text"),
]


class SeedKinds:
    @hookimpl
    def capsa_register_artifact_kinds(self, register: Any) -> None:
        for kind in KINDS:
            register(kind)


@pytest.fixture(autouse=True)
def seed_kinds() -> Iterator[None]:
    register_plugin(SeedKinds(), "seed-kinds")
    yield
    unregister_plugin("seed-kinds")


def test_keys_follow_layer_kind_and_partitions(tmp_path: Path) -> None:
    layout = Layout(capsa.open_store(str(tmp_path / "s")), "spliceai_eval")
    assert layout.key("error_notes", chromosome="chr1") == (
        "spliceai_eval/base_layer/error_notes/chromosome=chr1"
    )
    assert layout.key("run_metrics") == "spliceai_eval/meta_layer/run_metrics"
    assert layout.key("free_notes") == "spliceai_eval/free_notes"
    assert Layout(layout.store).key("run_metrics") == "meta_layer/run_metrics"


def test_partition_errors_name_the_problem(tmp_path: Path) -> None:
    layout = Layout(capsa.open_store(str(tmp_path / "s")), "proj")
    with pytest.raises(ValidationError, match="missing chromosome"):
        layout.key("error_notes")
    with pytest.raises(ValidationError, match="unknown strand"):
        layout.key("error_notes", chromosome="chr1", strand="+")
    for bad in ("chr1/../x", "", "a=b"):
        with pytest.raises(InvalidKeyError, match="partition chromosome"):
            layout.key("error_notes", chromosome=bad)
    with pytest.raises(ValidationError, match="layer 'meta'"):
        Layout(layout.store, layers={"base": "base_layer"}).key("run_metrics")


def test_save_load_list_by_kind_and_partition(backend_url: str) -> None:
    layout = Layout(capsa.open_store(backend_url), "spliceai_eval")
    for chrom in ("chr1", "chr2", "chrX"):
        layout.save("error_notes", f"errors on {chrom}\n", chromosome=chrom)
    layout.save("run_metrics", {"val_loss": 0.031})
    layout.save("checkpoint_notes", "epoch 1", epoch=1)
    art = layout.load("error_notes", chromosome="chr2", verify=True)
    assert art["error_notes"] == "errors on chr2\n"
    assert art.meta == {"chromosome": "chr2"}
    assert layout.exists("error_notes", chromosome="chrX")
    assert not layout.exists("error_notes", chromosome="chrY")
    base = layout.list(layer="base")
    assert [(e.kind, e.partitions) for e in base] == [
        ("error_notes", {"chromosome": "chr1"}),
        ("error_notes", {"chromosome": "chr2"}),
        ("error_notes", {"chromosome": "chrX"}),
    ]
    meta = layout.list(layer="meta")
    assert {(e.kind, tuple(e.partitions.items())) for e in meta} == {
        ("run_metrics", ()),
        ("checkpoint_notes", (("epoch", "1"),)),
    }
    assert [e.key for e in layout.list(kind="run_metrics")] == [
        "spliceai_eval/meta_layer/run_metrics"
    ]
    with pytest.raises(ValidationError, match="unknown layer"):
        layout.list(layer="nope")


def test_seed_modes_production_development_test(tmp_path: Path) -> None:
    url = str(tmp_path / "s")
    prod = Layout(capsa.open_store(url), "spliceai_eval")
    prod.save("error_notes", "v1", chromosome="chr1")
    with pytest.raises(FileExistsError):  # the seed's exact outcome
        prod.save("error_notes", "v2", chromosome="chr1")
    assert isinstance(ArtifactExistsError("x"), FileExistsError)

    dev = Layout(
        capsa.open_store(url, mode="development", session="20260215_143022"), "spliceai_eval"
    )
    dev.save("error_notes", "d1", chromosome="chr1")
    dev.save("error_notes", "d2", chromosome="chr1")  # overwrite within the session
    assert dev.load("error_notes", chromosome="chr1")["error_notes"] == "d2"
    assert (tmp_path / "s" / "dev" / "20260215_143022" / "spliceai_eval" / "base_layer").is_dir()

    test = Layout(capsa.open_store(url, mode="test", test_name="test_prediction"), "spliceai_eval")
    test.save("error_notes", "t1", chromosome="chr1")
    assert (tmp_path / "s" / "tests" / "test_prediction").is_dir()
    test.store.destroy()
    assert not (tmp_path / "s" / "tests" / "test_prediction").exists()
    assert prod.load("error_notes", chromosome="chr1")["error_notes"] == "v1"


def test_typed_kind_declaration_errors() -> None:
    with pytest.raises(ValidationError, match="partition key"):
        typed_kind("x", format="json", partition_keys=("not an identifier",))
    with pytest.raises(ValidationError, match="kind name"):
        typed_kind("a/b", format="json")
    kind = typed_kind("gene_manifest", format="tsv", layer="base")
    assert kind.members[0].file == "gene_manifest.tsv" and kind.layer == "base"
