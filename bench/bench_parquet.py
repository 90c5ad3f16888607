"""Benchmarks of the parquet format through the store, against raw column files.

``run(workdir)`` returns one row per comparison; each side is timed in the
same run, interleaved, best of ``REPEATS``. ``ratio`` is
throughput(capsa) / throughput(baseline) = baseline_s / capsa_s (the same
table, 10M rows x 3 float64 columns = 240 MB, on both sides).

1. write: ``store.save(key, "table", table)`` in development mode (Parquet
   with capsa's defaults, sha256 in the sink, fsync by the store) vs
   ``col.tofile(f)`` of the three columns + fsync;
2. read: ``store.load(key).read("table")`` (the full table, unverified) vs
   ``np.fromfile`` of the three raw columns (both from the page cache);
3. a filtered read of 1% of the rows (by a range on a sorted column, so
   the row-group statistics skip the other row groups) vs ``np.fromfile`` of
   the three raw columns: what a selective read saves.

The data are uniform random floats in [0, 1): the worst case for compression,
where the defaults store floats plain. The filtered read uses the same table
with its first column replaced by a sorted ``position``.

Run with ``python bench/run.py parquet``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from common import throughput_row as _row
from common import timed as _time

REPEATS = 3
ROWS = 10_000_000
COLUMNS = ("score", "donor", "acceptor")
KEY_LOAD = "bench/parquet-load"
KEY_SORTED = "bench/parquet-sorted"


def run(workdir: Path) -> list[dict[str, Any]]:
    """Run the parquet benchmarks in ``workdir`` (created; our files are removed after)."""
    import numpy as np
    import pyarrow as pa  # type: ignore[import-untyped]

    import capsa

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    root = workdir / "parquet-store"
    raw = [workdir / f"parquet-baseline-{c}.bin" for c in COLUMNS]
    rng = np.random.default_rng(0)
    cols = {name: rng.random(ROWS) for name in COLUMNS}
    table = pa.table(cols)
    rows: list[dict[str, Any]] = []
    try:
        store = capsa.open_store(str(root), mode="development")

        # 1. write -----------------------------------------------------------
        def write_baseline() -> None:
            for path, col in zip(raw, cols.values(), strict=True):
                with open(path, "wb") as f:
                    col.tofile(f)
                    f.flush()
                    os.fsync(f.fileno())

        base_s, capsa_s = [], []
        for i in range(REPEATS):
            base_s.append(_time(write_baseline))
            for path in raw:
                path.unlink()
            capsa_s.append(_time(lambda i=i: store.save(f"bench/pq-save-{i}", "table", table)))
            store.delete(f"bench/pq-save-{i}")
        rows.append(
            _row(
                "parquet write 10M x 3 float64 (sha256+fsync)",
                "3x col.tofile(f) + fsync",
                base_s,
                capsa_s,
                0.45,
            )
        )

        # 2. full read ---------------------------------------------------------
        store.save(KEY_LOAD, "table", table)
        write_baseline()
        if not store.load(KEY_LOAD).read("table").equals(table):
            raise AssertionError("parquet round trip differs")

        def read_baseline() -> None:
            for path in raw:
                np.fromfile(path, dtype=np.float64)

        read_baseline()
        base_s, capsa_s = [], []
        for _ in range(REPEATS):
            base_s.append(_time(read_baseline))
            capsa_s.append(_time(lambda: store.load(KEY_LOAD).read("table")))
        rows.append(
            _row(
                "parquet read 10M x 3 float64 (full table)",
                "3x np.fromfile",
                base_s,
                capsa_s,
                0.25,
            )
        )

        # 3. selective read ----------------------------------------------------
        sorted_table = table.set_column(0, "position", pa.array(np.arange(ROWS, dtype=np.float64)))
        store.save(KEY_SORTED, "table", sorted_table)
        lo, hi = ROWS // 2, ROWS // 2 + ROWS // 100
        flt = [("position", ">=", float(lo)), ("position", "<", float(hi))]
        part = store.load(KEY_SORTED).read("table", filters=flt)
        if part.num_rows != hi - lo:
            raise AssertionError(f"filtered read returned {part.num_rows} rows")
        base_s, capsa_s = [], []
        for _ in range(REPEATS):
            base_s.append(_time(read_baseline))
            capsa_s.append(_time(lambda: store.load(KEY_SORTED).read("table", filters=flt)))
        rows.append(
            _row(
                "parquet filtered read, 1% of rows",
                "3x np.fromfile (all rows)",
                base_s,
                capsa_s,
                2.0,
            )
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
        for path in raw:
            path.unlink(missing_ok=True)
    return rows
