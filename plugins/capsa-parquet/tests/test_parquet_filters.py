"""Projection and filters: right rows, only the needed row groups read, clear errors."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from capsa_parquet import ParquetFormat, ParquetTable

from capsa.errors import ValidationError

N = 200_000
GROUP = 20_000  # 10 row groups


def _scores() -> pa.Table:
    rng = np.random.default_rng(3)
    return pa.table(
        {
            "position": np.arange(N, dtype=np.int64),
            "chrom": pa.array(np.where(np.arange(N) < N // 2, "chr1", "chr2")),
            "score": rng.random(N),
            "other": rng.random(N),
        }
    )


@pytest.fixture(scope="module")
def parquet_bytes() -> tuple[bytes, dict]:
    import io

    fmt = ParquetFormat()
    table = _scores()
    fmt.validate(table, row_group_size=GROUP)
    out = io.BytesIO()
    info = fmt.write(table, out, row_group_size=GROUP)
    return out.getvalue(), dict(info)


def test_projection(store):
    table = _scores()
    store.save("s", "table", table, options={"table": {"row_group_size": GROUP}})
    got = store.load("s").read("table", columns=["score", "position"])
    assert got.schema.names == ["score", "position"]
    assert got.column("score").equals(table.column("score"))


@pytest.mark.parametrize(
    "filters",
    [
        [("position", ">=", 150_000), ("position", "<", 150_100)],
        [[("position", "<", 10)], [("position", ">=", N - 10)]],
        (pc.field("position") >= 150_000) & (pc.field("position") < 150_100),
        [("chrom", "==", "chr2"), ("position", "in", [5, 150_001, 199_999])],
    ],
    ids=["dnf-and", "dnf-or", "expression", "strings-in"],
)
def test_filters_select_rows(store, filters):
    table = _scores()
    store.save("s", "table", table, options={"table": {"row_group_size": GROUP}})
    got = store.load("s").read("table", filters=filters)
    expr = (
        filters if isinstance(filters, pc.Expression) else pa.parquet.filters_to_expression(filters)
    )
    expected = table.filter(expr)
    assert got.num_rows == expected.num_rows > 0
    assert got.equals(expected)


def test_filtered_read_reads_only_the_needed_row_groups(parquet_bytes, counting_source):
    data, info = parquet_bytes
    assert info["row_groups"] == N // GROUP
    fmt = ParquetFormat()
    full = counting_source(data, info=info)
    fmt.read(full)
    everything = full.bytes_read
    assert everything >= 0.9 * len(data)

    # One row group of ten holds the matching rows: about a tenth is read.
    one = counting_source(data, info=info)
    got = fmt.read(one, filters=[("position", ">=", 150_000), ("position", "<", 150_100)])
    assert got.num_rows == 100
    assert one.bytes_read < 0.2 * everything

    # Two columns of four, all row groups: about half.
    proj = counting_source(data, info=info)
    fmt.read(proj, columns=["position", "chrom"])
    assert proj.bytes_read < 0.6 * everything

    # Filter and projection together: one row group, one column.
    both = counting_source(data, info=info)
    got = fmt.read(both, columns=["score"], filters=[("position", "==", 123_456)])
    assert got.num_rows == 1 and got.schema.names == ["score"]
    assert both.bytes_read < 0.1 * everything

    # No row group can match: nothing but the footer (pyarrow fetches the last
    # 64 KiB to find it; it is read once for the schema, once by the scan).
    none = counting_source(data, info=info)
    assert fmt.read(none, filters=[("position", "<", 0)]).num_rows == 0
    assert none.bytes_read <= 2 * 65536 < 0.05 * everything


def test_lazy_table_reads_only_the_footer(parquet_bytes, counting_source):
    data, info = parquet_bytes
    fmt = ParquetFormat()
    src = counting_source(data, info=info)
    lazy = fmt.read_lazy(src)
    assert isinstance(lazy, ParquetTable)
    assert src.bytes_read <= 65536
    assert lazy.num_rows == N and len(lazy) == N
    assert lazy.num_row_groups == N // GROUP
    assert lazy.column_names == ["position", "chrom", "score", "other"]
    assert lazy.schema.field("score").type == pa.float64()
    assert lazy.metadata.row_group(0).num_rows == GROUP
    assert "ParquetTable('table.parquet', rows=200000" in repr(lazy)
    assert src.bytes_read <= 65536  # still nothing but the footer
    before = src.bytes_read
    part = lazy.read(columns=["score"], filters=[("position", "<", 5)])
    assert part.num_rows == 5
    assert src.bytes_read - before < 0.1 * len(data)


def test_lazy_table_from_the_store(store):
    table = _scores()
    store.save("s", "table", table, options={"table": {"row_group_size": GROUP}})
    lazy = store.load("s")["table"]
    assert isinstance(lazy, ParquetTable)
    assert lazy.read().equals(table)
    assert pa.table(lazy).equals(table)  # the PyCapsule stream export
    batches = list(lazy.iter_batches(batch_size=5_000, columns=["position"]))
    assert sum(b.num_rows for b in batches) == N
    assert max(b.num_rows for b in batches) <= 5_000
    assert batches[0].schema.names == ["position"]
    filtered = list(lazy.iter_batches(filters=[("chrom", "==", "chr1")]))
    assert sum(b.num_rows for b in filtered) == N // 2


def test_filters_on_text_and_arrow(store):
    table = _scores().slice(0, 1000)
    store.save("t", "bundle", {"t.tsv": table, "t.arrow": table, "t.csv": table})
    art = store.load("t")
    for name in ("t.tsv", "t.arrow", "t.csv"):
        got = art.read(name, columns=["position"], filters=[("score", ">", 0.5)])
        expected = table.filter(pc.field("score") > 0.5).select(["position"])
        assert got.equals(expected), name


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"columns": ["nope"]}, "no column.*'nope'"),
        ({"columns": "score"}, "option .columns. must be a list"),
        ({"filters": [("nope", "==", 1)]}, "do not apply"),
        ({"filters": [("chrom", ">", 5)]}, "do not apply"),
        ({"filters": [("position", "~", 1)]}, "malformed"),
        ({"filters": "position > 3"}, "option 'filters' must be"),
        ({"filters": []}, "non-empty"),
        ({"bogus": 1}, "no read option 'bogus'"),
    ],
)
def test_bad_read_options(store, options, message):
    store.save("s", "bundle", {"t.parquet": _scores().slice(0, 100), "t.tsv": _scores()[:10]})
    art = store.load("s")
    with pytest.raises(ValidationError, match=message):
        art.read("t.parquet", **options)
    if "bogus" not in options:
        with pytest.raises(ValidationError, match=message):
            art.read("t.tsv", **options)
