"""TSV/CSV text: the seed-001 gene manifest byte for byte, quoting, nulls, typed reads."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.csv as pcsv
import pytest
from capsa_parquet import CsvFormat, TsvFormat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capsa.errors import ValidationError
from capsa.formats.base import BytesSource

# The example of seed 001 (gene_manifest.tsv), as a TSV file must hold it.
SEED_TSV = (
    "gene_id\tchromosome\tstrand\tstart\tend\ttranscript_count\n"
    "ENSG00000000003\tchrX\t-\t100627108\t100639991\t3\n"
    "ENSG00000000005\tchrX\t+\t100584936\t100599885\t2\n"
)
SEED = {
    "gene_id": ["ENSG00000000003", "ENSG00000000005"],
    "chromosome": ["chrX", "chrX"],
    "strand": ["-", "+"],
    "start": [100627108, 100584936],
    "end": [100639991, 100599885],
    "transcript_count": [3, 2],
}
SEED_SCHEMA = pa.schema(
    [
        ("gene_id", pa.string()),
        ("chromosome", pa.string()),
        ("strand", pa.string()),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("transcript_count", pa.int64()),
    ]
)


def test_seed_gene_manifest_bytes_and_types(store):
    ref = store.save("base_layer/gene_manifest", "table.tsv", SEED)
    raw = store.backend.get(f"{ref.full_key}/table.tsv")
    assert raw.decode("utf-8") == SEED_TSV
    art = store.load("base_layer/gene_manifest", verify=True)
    table = art["table"]
    assert table.schema == SEED_SCHEMA
    assert table.to_pydict() == SEED
    # Types inferred from the text alone give the same table.
    inferred = art.read("table", infer_types=True)
    assert inferred.schema == SEED_SCHEMA
    assert inferred.to_pydict() == SEED
    # And so does an explicit schema.
    assert art.read("table", schema=SEED_SCHEMA).equals(table)


def test_seed_tsv_written_by_hand_reads_typed(store):
    # A file written by polars/pandas/a text editor and stored as bytes reads typed.
    fmt = TsvFormat()
    table = fmt.read(BytesSource(SEED_TSV.encode(), name="gene_manifest.tsv"))
    assert table.schema == SEED_SCHEMA
    assert table.to_pydict() == SEED


def test_seed_from_polars_and_pandas(store):
    pl = pytest.importorskip("polars")
    pd = pytest.importorskip("pandas")
    for label, frame in (("pl", pl.DataFrame(SEED)), ("pd", pd.DataFrame(SEED))):
        ref = store.save(f"g/{label}", "table.tsv", frame)
        assert store.backend.get(f"{ref.full_key}/table.tsv").decode() == SEED_TSV
        assert store.load(f"g/{label}")["table"].to_pydict() == SEED


def test_csv_is_comma_separated(write):
    data, info = write(CsvFormat(), SEED)
    assert data.decode() == SEED_TSV.replace("\t", ",")
    assert info["quoted"] is False and info["delimiter"] == ","


@pytest.mark.parametrize(
    ("values", "line"),
    [
        (["plain"], "plain"),
        (["tab\there"], '"tab\there"'),
        (['say "hi"'], '"say ""hi"""'),
        (["two\nlines"], '"two\nlines"'),
        (["cr\rhere"], '"cr\rhere"'),
        ([""], '""'),
        ([None], ""),
        (["a,b"], "a,b"),  # a comma needs no quotes in TSV
    ],
)
def test_tsv_quotes_only_what_needs_it(write, values, line):
    fmt = TsvFormat()
    data, info = write(fmt, {"s": values, "n": [1]})
    assert data.decode() == f"s\tn\n{line}\t1\n"
    back = fmt.read(BytesSource(data, name="t.tsv", info=info))
    assert back.column("s").to_pylist() == values
    inferred = fmt.read(BytesSource(data, name="t.tsv", info=info), infer_types=True)
    assert inferred.column("s").to_pylist() == values


def test_csv_quotes_commas(write):
    data, _ = write(CsvFormat(), {"s": ["a,b", "c"]})
    assert data.decode() == 's\n"a,b"\nc\n'


def test_header_names_are_quoted_when_needed(write):
    fmt = TsvFormat()
    data, info = write(fmt, {"a\tb": [1], 'q"': [2], "": [3]})
    assert data.decode().splitlines()[0] == '"a\tb"\t"q"""\t""'
    assert fmt.read(BytesSource(data, name="t.tsv", info=info)).schema.names == ["a\tb", 'q"', ""]


def test_na_strings_stay_strings(write):
    fmt = TsvFormat()
    values = ["NA", "null", "NaN", "N/A", "-", "nan"]
    data, info = write(fmt, {"s": values})
    for opts in ({}, {"infer_types": True}):
        back = fmt.read(BytesSource(data, name="t.tsv", info=info), **opts)
        assert back.column("s").to_pylist() == values


def test_floats_nulls_and_specials(write):
    fmt = TsvFormat()
    values = [0.1, 1.0, -0.0, 1e300, 5e-324, float("inf"), float("-inf"), None]
    data, info = write(fmt, {"f": values})
    back = fmt.read(BytesSource(data, name="t.tsv", info=info)).column("f").to_pylist()
    assert back == values
    nan = fmt.read(BytesSource(write(fmt, {"f": [float("nan")]})[0], name="t.tsv"))
    assert nan.column("f")[0].as_py() != nan.column("f")[0].as_py()


def test_quoting_path_matches_pyarrow_writer_for_plain_values():
    # The kernel-based writer (used when some value needs quotes) formats every
    # other value exactly as pyarrow.csv.write_csv does.
    import datetime as dt
    import decimal

    from capsa_parquet.text import _write_quoted

    table = pa.table(
        {
            "i": [1, -2, None],
            "f": [0.1, 1e-7, None],
            "b": [True, False, None],
            "s": ["x", "y z", None],
            "d": pa.array([dt.date(2020, 1, 2), None, dt.date(1999, 12, 31)]),
            "t": pa.array([dt.datetime(2020, 1, 2, 3, 4, 5, 6), None, None], pa.timestamp("us")),
            "m": pa.array([decimal.Decimal("1.25"), None, decimal.Decimal("-3.50")]),
        }
    )
    expected = io.BytesIO()
    pcsv.write_csv(
        table,
        expected,
        pcsv.WriteOptions(delimiter="\t", quoting_style="none", quoting_header="none"),
    )
    got = io.BytesIO()
    _write_quoted(table, got, "\t", True)
    assert got.getvalue() == expected.getvalue()


def test_header_false(write):
    fmt = TsvFormat()
    data, info = write(fmt, SEED, header=False)
    assert data.decode() == SEED_TSV.split("\n", 1)[1]
    assert fmt.read(BytesSource(data, name="t.tsv", info=info)).to_pydict() == SEED


def test_column_types_override(write):
    fmt = TsvFormat()
    data, info = write(fmt, SEED)
    src = BytesSource(data, name="t.tsv", info=info)
    got = fmt.read(src, column_types={"start": pa.int32(), "transcript_count": "int8"})
    assert got.schema.field("start").type == pa.int32()
    assert got.schema.field("transcript_count").type == pa.int8()
    assert got.schema.field("end").type == pa.int64()
    with pytest.raises(ValidationError, match="unknown type 'int99'"):
        fmt.read(src, column_types={"start": "int99"})
    with pytest.raises(ValidationError, match="unknown column"):
        fmt.read(src, column_types={"nope": "int8"})
    digits = BytesSource(b"code\n007\n010\n", name="codes.tsv")
    assert fmt.read(digits).column("code").to_pylist() == [7, 10]
    assert fmt.read(digits, column_types={"code": "string"}).column("code").to_pylist() == [
        "007",
        "010",
    ]


def test_text_refuses_types_it_cannot_read_back(store):
    with pytest.raises(ValidationError, match="column 'l' has type list<item: int64>"):
        store.save("bad", "table.tsv", {"l": pa.array([[1], [2]])})
    with pytest.raises(ValidationError, match="column 'b' has type binary"):
        store.save("bad", "table.tsv", {"b": pa.array([b"x"])})
    assert list(store.backend.list("")) == []


_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
    max_size=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(
            st.none() | _text,
            st.none() | st.integers(-(2**63), 2**63 - 1),
            st.none() | st.floats(allow_nan=False),
            st.none() | st.booleans(),
        ),
        max_size=20,
    ),
    delimiter=st.sampled_from(["csv", "tsv"]),
)
def test_text_round_trip_property(rows, delimiter):
    fmt = CsvFormat() if delimiter == "csv" else TsvFormat()
    table = pa.table(
        {
            "s": pa.array([r[0] for r in rows], pa.string()),
            "i": pa.array([r[1] for r in rows], pa.int64()),
            "f": pa.array([r[2] for r in rows], pa.float64()),
            "b": pa.array([r[3] for r in rows], pa.bool_()),
        }
    )
    fmt.validate(table)
    out = io.BytesIO()
    info = fmt.write(table, out)
    back = fmt.read(BytesSource(out.getvalue(), name="p", info=info))
    assert back.to_pydict() == table.to_pydict()
