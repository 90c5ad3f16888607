"""Seed 001's ArtifactManager workflow on capsa: typed kinds, layers, partitions, modes.

The kinds below are the seed's ``ArtifactType`` enum, declared with
``capsa.kinds.typed_kind`` and registered like any plugin's kinds. TSV for
small human-readable tables, Parquet for large ones, JSON for metrics, pickle
(opt-in) for checkpoints.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

import capsa
from capsa.kinds import typed_kind
from capsa.layout import Layout
from capsa.markers import hookimpl
from capsa.plugins.manager import register_plugin, unregister_plugin

BY_CHROMOSOME = ("chromosome",)
ARTIFACT_TYPES = {
    # base layer outputs
    "analysis_sequences": typed_kind(
        "analysis_sequences", format="tsv", layer="base", partition_keys=BY_CHROMOSOME
    ),
    "splice_errors": typed_kind(
        "splice_errors", format="tsv", layer="base", partition_keys=BY_CHROMOSOME
    ),
    "nucleotide_scores": typed_kind(
        "nucleotide_scores", format="parquet", layer="base", partition_keys=BY_CHROMOSOME
    ),
    "gene_manifest": typed_kind("gene_manifest", format="tsv", layer="base"),
    # meta layer outputs
    "meta_predictions": typed_kind("meta_predictions", format="tsv", layer="meta"),
    "meta_checkpoints": typed_kind(
        "meta_checkpoints", format="pickle", layer="meta", partition_keys=("epoch",)
    ),
    "meta_metrics": typed_kind("meta_metrics", format="json", layer="meta"),
    # training artifacts
    "training_data": typed_kind("training_data", format="parquet", layer="meta"),
}


class SpliceKinds:
    @hookimpl
    def capsa_register_artifact_kinds(self, register: Any) -> None:
        for kind in ARTIFACT_TYPES.values():
            register(kind)


@pytest.fixture(autouse=True)
def splice_kinds() -> Iterator[None]:
    register_plugin(SpliceKinds(), "splice-kinds")
    yield
    unregister_plugin("splice-kinds")


def scores(chrom: str, n: int) -> pa.Table:
    return pa.table(
        {
            "position": pa.array(range(n), pa.int64()),
            "donor_score": pa.array([i / n for i in range(n)], pa.float64()),
            "chromosome": pa.array([chrom] * n),
        }
    )


def sequences(chrom: str) -> dict[str, list[Any]]:
    return {"gene_id": ["ENSG00000000003", "ENSG00000000005"], "chromosome": [chrom, chrom]}


def test_per_chromosome_processing_and_listing(tmp_path: Path) -> None:
    am = Layout(capsa.open_store(str(tmp_path / "data")), "ensembl/GRCh38/spliceai_eval")
    for chrom in ("chr1", "chr2", "chrX"):
        am.save("analysis_sequences", sequences(chrom), chromosome=chrom)
        am.save("nucleotide_scores", scores(chrom, 1000), chromosome=chrom)
    am.save("meta_metrics", {"train_loss": 0.023, "val_accuracy": 0.947})
    am.save("meta_checkpoints", {"epoch": 42, "weights": [0.1, 0.2]}, epoch=42)

    chr1 = am.load("analysis_sequences", chromosome="chr1")["analysis_sequences"]
    assert chr1.to_pydict() == sequences("chr1")
    # The TSV is a plain, line-oriented file where the seed expects it.
    tsv = (
        tmp_path
        / "data/ensembl/GRCh38/spliceai_eval/base_layer/analysis_sequences"
        / "chromosome=chr1/analysis_sequences.tsv"
    )
    assert tsv.read_text().splitlines()[0] == "gene_id\tchromosome"
    # Listing a layer shows what is there by kind and partition.
    listing = [(e.kind, e.partitions.get("chromosome")) for e in am.list(layer="base")]
    assert listing == [
        ("analysis_sequences", "chr1"),
        ("analysis_sequences", "chr2"),
        ("analysis_sequences", "chrX"),
        ("nucleotide_scores", "chr1"),
        ("nucleotide_scores", "chr2"),
        ("nucleotide_scores", "chrX"),
    ]
    assert {e.kind for e in am.list(layer="meta")} == {"meta_metrics", "meta_checkpoints"}
    # Checkpoints are pickles: opt-in, and loads need trust.
    art = am.store.load(am.key("meta_checkpoints", epoch=42), trusted=True)
    assert art["meta_checkpoints"]["epoch"] == 42


def test_hive_partitions_read_as_one_dataset(tmp_path: Path) -> None:
    am = Layout(capsa.open_store(str(tmp_path / "data")), "spliceai_eval")
    for chrom in ("chr1", "chr2"):
        am.save("nucleotide_scores", scores(chrom, 500), chromosome=chrom)
    root = tmp_path / "data/spliceai_eval/base_layer/nucleotide_scores"
    dataset = ds.dataset(str(root), format="parquet", partitioning="hive")
    table = dataset.to_table(filter=ds.field("position") >= 490)
    assert table.num_rows == 20  # _SUCCESS and the manifest are skipped


def test_the_three_modes_give_the_seeds_outcomes(tmp_path: Path) -> None:
    url = str(tmp_path / "data")
    prod = Layout(capsa.open_store(url), "spliceai_eval")
    prod.save("gene_manifest", {"gene_id": ["ENSG00000000003"]})
    with pytest.raises(FileExistsError, match="immutable"):
        prod.save("gene_manifest", {"gene_id": ["ENSG00000000005"]})

    dev = Layout(capsa.open_store(url, mode="development"), "spliceai_eval")
    dev.save("gene_manifest", {"gene_id": ["a"]})
    dev.save("gene_manifest", {"gene_id": ["b"]})  # overwrite within the session
    assert dev.load("gene_manifest")["gene_manifest"].to_pydict() == {"gene_id": ["b"]}
    assert dev.store.namespace.startswith("dev/") and len(dev.store.namespace) == len("dev/") + 15

    test = Layout(capsa.open_store(url, mode="test", test_name="test_prediction"), "spliceai_eval")
    test.save("gene_manifest", {"gene_id": ["t"]})
    test.store.destroy()  # tests clean up easily
    assert not (tmp_path / "data/tests/test_prediction").exists()
    assert prod.load("gene_manifest")["gene_manifest"].to_pydict() == {
        "gene_id": ["ENSG00000000003"]
    }


def test_wrong_partitions_and_bad_tables_write_nothing(tmp_path: Path) -> None:
    am = Layout(capsa.open_store(str(tmp_path / "data")), "spliceai_eval")
    with pytest.raises(capsa.ValidationError, match="missing chromosome"):
        am.save("analysis_sequences", sequences("chr1"))
    with pytest.raises(capsa.ValidationError):
        am.save("analysis_sequences", {"a": [1, 2], "b": [1]}, chromosome="chr1")
    assert am.list() == []
    assert list(am.store.backend.list("")) == []
