"""capsa hook implementations of the capsa-parquet plugin (entry point ``parquet``).

Importing this module does not import pyarrow, pandas or polars; the
formats import pyarrow only when they write or read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from capsa.markers import hookimpl

if TYPE_CHECKING:
    from capsa.cli.demo import DemoArtifact
    from capsa.formats.base import Format
    from capsa.kinds.base import ArtifactKind


@hookimpl
def capsa_register_formats(register: Callable[[Format], None]) -> None:
    """Register the ``parquet``, ``csv``, ``tsv``, ``arrow`` and ``feather`` formats."""
    from capsa_parquet.ipc import ArrowFormat, FeatherFormat
    from capsa_parquet.parquet import ParquetFormat
    from capsa_parquet.text import CsvFormat, TsvFormat

    for fmt in (ParquetFormat(), CsvFormat(), TsvFormat(), ArrowFormat(), FeatherFormat()):
        register(fmt)


@hookimpl
def capsa_register_artifact_kinds(register: Callable[[ArtifactKind], None]) -> None:
    """Register the ``table`` (Parquet) and ``table.tsv`` kinds."""
    from capsa_parquet.kind import TableKind, TsvTableKind

    register(TableKind())
    register(TsvTableKind())


GENE_MANIFEST: dict[str, list[object]] = {
    "gene_id": ["ENSG00000000003", "ENSG00000000005", "ENSG00000000419", "ENSG00000000457"],
    "chromosome": ["chrX", "chrX", "chr20", "chr1"],
    "strand": ["-", "+", "-", "-"],
    "start": [100627108, 100584936, 50934867, 169849631],
    "end": [100639991, 100599885, 50959140, 169894267],
    "transcript_count": [3, 2, 5, 4],
}
"""A small gene manifest in the shape of the seed-001 example (``gene_manifest.tsv``)."""


def _demo_gene_manifest() -> dict[str, list[object]]:
    return {name: list(values) for name, values in GENE_MANIFEST.items()}


def _demo_scores() -> object:
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    n = 100_000
    position = pa.array(range(1_000_000, 1_000_000 + 10 * n, 10), pa.int64())
    rand = pc.random(n, initializer=7)
    score = pc.round(rand, 4)
    acceptor = pc.multiply(pc.random(n, initializer=8), pc.random(n, initializer=9))
    return pa.table(
        {
            "chromosome": pa.array(
                ["chr1"] * (n // 2) + ["chr2"] * (n - n // 2)
            ).dictionary_encode(),
            "position": position,
            "donor_score": score,
            "acceptor_score": acceptor,
        }
    )


@hookimpl
def capsa_demo_artifacts(register: Callable[[DemoArtifact], None]) -> None:
    """Contribute a 100k-row score table (Parquet) and a gene manifest (TSV) to ``capsa demo``."""
    from capsa.cli.demo import DemoArtifact

    register(
        DemoArtifact(
            key="demo/scores",
            kind="table",
            make=_demo_scores,
            description="100k nucleotide scores as Parquet (zstd, statistics, lazy reads)",
        )
    )
    register(
        DemoArtifact(
            key="demo/gene_manifest",
            kind="table.tsv",
            make=_demo_gene_manifest,
            description="a gene manifest as readable TSV (seed 001)",
        )
    )
