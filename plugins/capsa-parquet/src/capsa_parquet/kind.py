"""The ``table`` kinds: one table per artifact, as Parquet (large) or TSV (small, readable)."""

from __future__ import annotations

from typing import ClassVar

from capsa.kinds.base import ArtifactKind, MemberSpec


class TableKind(ArtifactKind):
    """One table stored as ``table.parquet``: the kind for large tables.

    ``store.save(key, "table", df)`` writes it (a pyarrow Table, a pandas or
    polars DataFrame, or a dict of columns); ``store.load(key)["table"]``
    gives a lazy :class:`~capsa_parquet.ParquetTable`, and
    ``store.load(key).read("table", columns=..., filters=...)`` a
    ``pyarrow.Table``.
    """

    name: ClassVar[str] = "table"
    version: ClassVar[int] = 1
    members: ClassVar[tuple[MemberSpec, ...]] = (
        MemberSpec(
            name="table",
            filename="table.parquet",
            format="parquet",
            description="the table, as Parquet",
        ),
    )
    description: ClassVar[str] = "one table as Parquet (table.parquet): large, typed, filterable"


class TsvTableKind(ArtifactKind):
    """One table stored as ``table.tsv``: the kind for small, human-readable tables.

    Tab-separated with a header line; the column types are recorded in the
    manifest, so ``store.load(key)["table"]`` gives back the same typed
    ``pyarrow.Table``.
    """

    name: ClassVar[str] = "table.tsv"
    version: ClassVar[int] = 1
    members: ClassVar[tuple[MemberSpec, ...]] = (
        MemberSpec(
            name="table",
            filename="table.tsv",
            format="tsv",
            description="the table, as tab-separated text",
        ),
    )
    description: ClassVar[str] = "one table as TSV (table.tsv): small, readable, line-oriented"
