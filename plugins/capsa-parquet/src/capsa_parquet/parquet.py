"""The ``parquet`` format: tables in Apache Parquet, with defaults chosen for large tables.

Defaults (each overridable per member, see :data:`WRITE_OPTIONS`):

* **compression** ``"auto"``: zstd level 1 for every column, except
  floating-point columns whose sample does not shrink below 85% under zstd
  (random-like floats: model outputs and scores at full precision compress to
  about 93% while zstd halves the write speed); those are stored
  uncompressed.
* **dictionary encoding** ``"auto"``: on for string, binary and categorical
  columns; on for numeric and temporal columns only when a sample has few
  distinct values (at most 10%); never on random floats, where pyarrow's
  default (dictionary for everything) costs most of the write speed.
* **statistics** on (min/max per row group and page), which is what makes
  filters skip row groups.
* **row groups** of about 128 MiB of data, at most 1,048,576 rows.
* the Arrow schema and the key-value metadata (pandas metadata included) are
  kept in the file.

The sample is up to four evenly spaced runs of rows, so the choice is
deterministic for given data; the choices are recorded in the member's
``info``.
"""

# mypy: disable-error-code="import-untyped"

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

from capsa.errors import ValidationError
from capsa.formats.base import Format, MemberSource
from capsa_parquet._convert import WRITES, TableCache, accepts_table, as_table
from capsa_parquet._util import (
    PROJECTION_OPTIONS,
    SCHEMA_SUMMARY_MAX,
    Check,
    check_options,
    check_projection,
    is_bool,
    is_pos_int,
    is_str_list,
    open_member,
    schema_info,
    typed_errors,
)

if TYPE_CHECKING:
    from capsa_parquet.lazy import ParquetTable

CODECS = ("none", "uncompressed", "snappy", "gzip", "brotli", "lz4", "zstd")
"""Compression codec names accepted by the ``compression`` option (besides ``"auto"``)."""

LEVELLED = ("zstd", "gzip", "brotli")
"""Codecs that take a compression level."""

DEFAULT_ZSTD_LEVEL = 1
"""zstd level used unless ``compression_level`` is given."""

MAX_ROW_GROUP_ROWS = 1 << 20
"""Upper bound of the default row-group size, in rows."""

MIN_ROW_GROUP_ROWS = 1 << 10
"""Lower bound of the default row-group size, in rows (very wide tables)."""

ROW_GROUP_BYTES = 128 << 20
"""Target uncompressed bytes per row group for the default row-group size."""

INCOMPRESSIBLE = 0.85
"""A float column whose zstd sample keeps more than this fraction is stored uncompressed."""

FEW_DISTINCT = 0.10
"""A numeric column whose sample has at most this fraction of distinct values gets a dictionary."""

SAMPLE_RUNS = 4
"""Runs of rows sampled per column."""

SAMPLE_BYTES = 8 << 20
"""Total sample budget across columns, so that very wide tables stay cheap to plan."""


def _codec_spec(value: Any) -> bool:
    if isinstance(value, str):
        return value in (*CODECS, "auto")
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) and v in CODECS for k, v in value.items()
    )


def _bool_or_columns(value: Any) -> bool:
    return isinstance(value, bool) or is_str_list(value)


def _level(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def _metadata(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


WRITE_OPTIONS: Mapping[str, tuple[Check, str]] = {
    "compression": (
        _codec_spec,
        f"'auto', one of {', '.join(CODECS)}, or a dict of column name to codec",
    ),
    "compression_level": (_level, "an int (or None for the codec's default)"),
    "row_group_size": (is_pos_int, "a positive int (rows per row group)"),
    "use_dictionary": (
        lambda v: v == "auto" or _bool_or_columns(v),
        "'auto', a bool, or a list of column names",
    ),
    "use_byte_stream_split": (_bool_or_columns, "a bool or a list of column names"),
    "write_statistics": (_bool_or_columns, "a bool or a list of column names"),
    "data_page_size": (is_pos_int, "a positive int (bytes)"),
    "write_page_index": (is_bool, "a bool"),
    "version": (lambda v: v in ("1.0", "2.4", "2.6"), "'1.0', '2.4' or '2.6'"),
    "metadata": (_metadata, "a dict of str to str (added to the schema's key-value metadata)"),
}
"""Write options of the ``parquet`` format: name -> (check, description)."""

READ_OPTIONS: Mapping[str, tuple[Check, str]] = {
    **PROJECTION_OPTIONS,
    "use_threads": (is_bool, "a bool"),
}
"""Read options of the ``parquet`` format."""


def _leaf_count(t: Any) -> int:
    import pyarrow as pa
    import pyarrow.types as pat

    if pat.is_struct(t):
        return sum(_leaf_count(t.field(i).type) for i in range(t.num_fields))
    if pat.is_map(t):
        return _leaf_count(t.key_type) + _leaf_count(t.item_type)
    if pat.is_list(t) or pat.is_large_list(t) or pat.is_fixed_size_list(t):
        return _leaf_count(t.value_type)
    if isinstance(t, pa.ExtensionType):
        return _leaf_count(t.storage_type)
    return 1


def _is_nested(t: Any) -> bool:
    import pyarrow.types as pat

    return bool(pat.is_nested(t)) or _leaf_count(t) != 1


def leaf_paths(schema: Any) -> list[list[str]]:
    """The Parquet column paths of each top-level field (one path for flat columns)."""
    if not any(_is_nested(f.type) for f in schema):
        return [[f.name] for f in schema]
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = pa.BufferOutputStream()
    pq.write_table(schema.empty_table(), buf)
    pschema = pq.read_metadata(pa.BufferReader(buf.getvalue())).schema
    paths = [pschema.column(i).path for i in range(len(pschema))]
    out: list[list[str]] = []
    i = 0
    for f in schema:
        n = _leaf_count(f.type)
        out.append(paths[i : i + n])
        i += n
    return out


def _sample(column: Any, rows: int) -> Any:
    """Up to ``rows`` values of ``column``: SAMPLE_RUNS evenly spaced runs, concatenated."""
    import pyarrow as pa

    n = len(column)
    if n <= rows:
        chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        return pa.concat_arrays(chunks) if len(chunks) != 1 else chunks[0]
    run = max(1, rows // SAMPLE_RUNS)
    step = (n - run) // max(1, SAMPLE_RUNS - 1)
    parts = [column.slice(i * step, run) for i in range(SAMPLE_RUNS)]
    arrays: list[Any] = []
    for part in parts:
        arrays.extend(part.chunks if isinstance(part, pa.ChunkedArray) else [part])
    return pa.concat_arrays(arrays)


def _few_distinct(sample: Any) -> bool:
    import pyarrow.compute as pc

    if len(sample) == 0:
        return False
    return int(pc.count_distinct(sample).as_py()) <= FEW_DISTINCT * len(sample)


def _compresses(sample: Any) -> bool:
    import pyarrow as pa

    width = sample.type.bit_width // 8
    data = sample.buffers()[1]
    if data is None or width == 0 or len(sample) == 0:
        return True
    raw = data.slice(sample.offset * width, len(sample) * width)
    packed = pa.compress(raw, "zstd", asbytes=False)
    return bool(packed.size <= INCOMPRESSIBLE * raw.size)


def _is_stringlike(t: Any) -> bool:
    import pyarrow.types as pat

    return bool(
        pat.is_dictionary(t)
        or pat.is_string(t)
        or pat.is_large_string(t)
        or pat.is_binary(t)
        or pat.is_large_binary(t)
    )


def default_row_group_size(table: Any) -> int:
    """About :data:`ROW_GROUP_BYTES` of data per row group, within the row bounds."""
    if table.num_rows == 0:
        return MAX_ROW_GROUP_ROWS
    per_row = max(1, int(table.nbytes) // int(table.num_rows))
    return max(MIN_ROW_GROUP_ROWS, min(MAX_ROW_GROUP_ROWS, ROW_GROUP_BYTES // per_row))


class _Plan:
    """What the writer will do, per column: kwargs for ``ParquetWriter`` and a summary."""

    def __init__(self, table: Any, options: Mapping[str, Any]):
        import pyarrow.types as pat

        schema = table.schema
        names = schema.names
        self._check_columns(names, options)
        paths = leaf_paths(schema)
        compression = options.get("compression", "auto")
        level = options.get("compression_level")
        use_dictionary = options.get("use_dictionary", "auto")
        bss = options.get("use_byte_stream_split", False)
        sample_rows = max(1024, min(1 << 16, SAMPLE_BYTES // max(1, 8 * len(names))))

        self.codecs: dict[str, str] = {}
        self.dictionary: list[str] = []
        leaf_codec: dict[str, str] = {}
        leaf_dict: list[str] = []
        leaf_bss: list[str] = []
        for field, leaves in zip(schema, paths, strict=True):
            t = field.type
            name = field.name
            bss_on = bss is True or (isinstance(bss, list | tuple) and name in bss)
            numeric = (
                pat.is_integer(t) or pat.is_floating(t) or pat.is_temporal(t) or pat.is_decimal(t)
            )
            sample = None
            if numeric and (compression == "auto" or use_dictionary == "auto"):
                sample = _sample(table.column(name), sample_rows)
            # dictionary
            if use_dictionary == "auto":
                if _is_stringlike(t) or _is_nested(t):
                    dict_on = True
                elif numeric and sample is not None:
                    dict_on = _few_distinct(sample)
                else:
                    dict_on = False
            elif isinstance(use_dictionary, bool):
                dict_on = use_dictionary
            else:
                dict_on = name in use_dictionary
            if bss_on:
                dict_on = False
            # compression
            if isinstance(compression, dict) and name in compression:
                codec = compression[name]
            elif isinstance(compression, str) and compression != "auto":
                codec = compression
            elif pat.is_floating(t) and not dict_on and sample is not None:
                codec = "zstd" if _compresses(sample) else "none"
            else:
                codec = "zstd"
            codec = "none" if codec == "uncompressed" else codec
            self.codecs[name] = codec
            if dict_on:
                self.dictionary.append(name)
            for leaf in leaves:
                leaf_codec[leaf] = codec
                if dict_on:
                    leaf_dict.append(leaf)
                if bss_on:
                    leaf_bss.append(leaf)
        if isinstance(compression, dict):
            for leaf, codec in compression.items():
                if leaf not in names:  # a leaf path of a nested column
                    leaf_codec[leaf] = "none" if codec == "uncompressed" else codec
        levels: dict[str, int] = {}
        for leaf, codec in leaf_codec.items():
            if codec in LEVELLED and (level is not None or codec == "zstd"):
                levels[leaf] = DEFAULT_ZSTD_LEVEL if level is None else level
        stats = options.get("write_statistics", True)
        self.row_group_size: int = options.get("row_group_size") or default_row_group_size(table)
        self.kwargs: dict[str, Any] = {
            "compression": leaf_codec,
            "compression_level": levels or None,
            "use_dictionary": leaf_dict,
            "use_byte_stream_split": leaf_bss or False,
            "write_statistics": stats if isinstance(stats, bool) else list(stats),
            "store_schema": True,
            "version": options.get("version", "2.6"),
            "write_page_index": options.get("write_page_index", False),
        }
        if "data_page_size" in options:
            self.kwargs["data_page_size"] = options["data_page_size"]

    @staticmethod
    def _check_columns(names: list[str], options: Mapping[str, Any]) -> None:
        for option in ("use_dictionary", "use_byte_stream_split", "write_statistics"):
            value = options.get(option)
            if isinstance(value, list | tuple):
                missing = [c for c in value if c not in names]
                if missing:
                    raise ValidationError(
                        f"parquet option {option!r} names unknown column(s) "
                        f"{', '.join(map(repr, missing))}"
                    )
        compression = options.get("compression")
        if isinstance(compression, dict):
            tops = set(names)
            missing = [c for c in compression if c not in tops and c.split(".", 1)[0] not in tops]
            if missing:
                raise ValidationError(
                    f"parquet option 'compression' names unknown column(s) "
                    f"{', '.join(map(repr, missing))}"
                )

    def summary(self) -> dict[str, Any]:
        """JSON-safe record of the choices (capped for very wide tables)."""
        codecs = dict(list(self.codecs.items())[:SCHEMA_SUMMARY_MAX])
        return {
            "compression": codecs,
            "dictionary": self.dictionary[:SCHEMA_SUMMARY_MAX],
            "row_group_size": self.row_group_size,
        }


def _with_metadata(table: Any, extra: Mapping[str, str] | None) -> Any:
    if not extra:
        return table
    metadata = dict(table.schema.metadata or {})
    metadata.update({k.encode(): v.encode() for k, v in extra.items()})
    return table.replace_schema_metadata(metadata)


class ParquetFormat(Format):
    """Tables as Apache Parquet files, readable by pyarrow, pandas, polars, DuckDB, Spark.

    Writes pyarrow Tables and RecordBatches, objects exporting the Arrow
    PyCapsule stream interface (pandas >= 2.2 and polars DataFrames ...) and
    dicts of equal-length 1-D arrays. ``read`` returns a ``pyarrow.Table``
    (options ``columns``, ``filters``, ``use_threads``); ``read_lazy``
    returns a :class:`~capsa_parquet.ParquetTable` that has read only the
    footer. See the module docstring for the defaults.
    """

    name: ClassVar[str] = "parquet"
    extensions: ClassVar[tuple[str, ...]] = (".parquet",)
    writes: ClassVar[tuple[str, ...]] = WRITES
    description: ClassVar[str] = (
        "Apache Parquet tables (zstd, float-aware encodings); projection, filters, lazy reads"
    )
    lazy: ClassVar[bool] = True

    def __init__(self) -> None:
        self._cache = TableCache()

    def accepts(self, value: object) -> bool:
        """Tables, RecordBatches, dicts and anything with ``__arrow_c_stream__``."""
        return accepts_table(value)

    def _table(self, value: Any, options: Mapping[str, Any]) -> Any:
        """The table ``validate`` converted, or a fresh conversion (validated)."""
        return self._cache.take_or_validate(value, lambda: self.validate(value, **options))

    def validate(self, value: object, **options: Any) -> None:
        """Check the options, convert the value to a table (kept for ``write``), check columns."""
        check_options(self.name, "write", options, WRITE_OPTIONS)
        table = as_table(value)
        _Plan._check_columns(table.schema.names, options)
        self._cache.put(value, table)

    def write(self, value: Any, sink: BinaryIO, **options: Any) -> Mapping[str, Any]:
        """Write ``value`` as one Parquet file to the sequential ``sink``.

        :return: rows, columns, schema summary, row groups and the per-column
            compression and dictionary choices.
        """
        import pyarrow.parquet as pq

        table = self._table(value, options)
        table = _with_metadata(table, options.get("metadata"))
        plan = _Plan(table, options)
        from capsa_parquet._pipe import WriteBehindPipe  # threads: only when writing

        pipe = WriteBehindPipe(sink)
        writer = None
        try:
            writer = pq.ParquetWriter(pipe, table.schema, **plan.kwargs)
            writer.write_table(table, row_group_size=plan.row_group_size)
            writer.close()
            pipe.finish()
        except BaseException:
            if writer is not None:
                with contextlib.suppress(Exception):  # already failing; the pipe is aborted
                    writer.close()
            pipe.abort()
            raise
        rows = table.num_rows
        info = schema_info(table)
        info["row_groups"] = -(-rows // plan.row_group_size) if rows else 0
        info.update(plan.summary())
        return info

    def _read_table(
        self,
        source: MemberSource,
        columns: Any = None,
        filters: Any = None,
        use_threads: bool = True,
        metadata: Any = None,
    ) -> Any:
        import pyarrow.parquet as pq

        with open_member(source) as f, typed_errors(source.name, "parquet"):
            pf = pq.ParquetFile(f, metadata=metadata)
            cols, expr = check_projection(pf.schema_arrow, columns, filters)
            if expr is None:
                return pf.read(columns=cols, use_threads=use_threads, use_pandas_metadata=True)
            return pq.read_table(
                f,
                columns=cols,
                filters=expr,
                use_threads=use_threads,
                use_pandas_metadata=True,
            )

    def read(self, source: MemberSource, **options: Any) -> Any:
        """Read the member into a ``pyarrow.Table``.

        :param columns: read only these columns (projection).
        :param filters: keep only matching rows; row groups whose statistics
            exclude a match are not read. A ``pyarrow.compute.Expression`` or
            pyarrow's DNF form: ``[("score", ">", 0.5), ("chrom", "==", "chr1")]``
            (AND), or a list of such lists (OR of ANDs).
        :param use_threads: decode columns in parallel (default True).
        """
        check_options(self.name, "read", options, READ_OPTIONS)
        return self._read_table(source, **options)

    def read_lazy(self, source: MemberSource, **options: Any) -> ParquetTable:
        """Return a :class:`~capsa_parquet.ParquetTable`: footer read, data on demand."""
        from capsa_parquet.lazy import ParquetTable

        check_options(self.name, "read", options, {})
        return ParquetTable(source, self)

    def iter_batches(
        self,
        source: MemberSource,
        *,
        batch_size: int = 65536,
        columns: list[str] | None = None,
        filters: Any = None,
    ) -> Iterator[Any]:
        """Yield ``pyarrow.RecordBatch`` es of the member, reading one row group at a time."""
        import pyarrow.dataset as ds

        with open_member(source) as f, typed_errors(source.name, "parquet"):
            fragment = ds.ParquetFileFormat().make_fragment(f)
            schema = fragment.physical_schema
            cols, expr = check_projection(schema, columns, filters)
            yield from fragment.to_batches(
                schema=schema, columns=cols, filter=expr, batch_size=batch_size
            )
