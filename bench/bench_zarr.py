"""Benchmarks of the zarr format through the store, against plain numpy.

``run(workdir)`` returns one row per comparison; each side is timed in the
same run, interleaved, best of ``REPEATS``. For the first two rows ``ratio``
is throughput(capsa) / throughput(baseline) = baseline_s / capsa_s.

1. save a 256 MiB float32 array (16384 x 4096) with
   ``store.save(..., "zarr.array", arr)`` (default options: no compression,
   crc32c per chunk, sha256 of every chunk in the sink, fsync by the store)
   vs ``arr.tofile(f)`` + fsync;
2. load it back whole (``store.load(k).read("array")``, numpy) vs ``np.load``
   of the same array as ``.npy`` (target 0.45); and, for reference, the
   same through the lazy ``zarr.Array`` (``store.load(k)["array"][...]``:
   zarr's own codec pipeline, one ``get`` and two copies per chunk; target
   0.2);
3. a lazy slice of 1% of the rows (163 of 16384) through
   ``store.load(k)["array"][a:b]``, with every byte the backend returns
   counted (``get`` and ``get_range``). ``ratio`` here is bytes(slice) /
   bytes(full read), lower is better. A slice reads whole chunks, so it
   reads 1% plus up to one chunk more: with 1 MiB chunks (``chunks=[64,
   4096]``) a typical slice touches 3 chunks, 1.2% (target 0.02); with the
   default 4 MiB chunks, a slice that straddles a chunk boundary (the worst
   case) touches 2 chunks, 3.1% (target 0.035). ``baseline_s`` is the full
   lazy read, ``capsa_s`` the slice (both including ``store.load``).

Run with ``python bench/run.py zarr``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from common import throughput_row as _row
from common import timed as _time

REPEATS = 5
SHAPE = (16384, 4096)  # float32: 256 MiB
KEY_LOAD = "bench/zarr-load"
KEY_SMALL = "bench/zarr-load-1mib"


class _Counter:
    """Counts the bytes a backend returns from ``get`` and ``get_range``."""

    def __init__(self, backend: Any):
        self.bytes = 0
        self.calls = 0
        get, get_range = backend.get, backend.get_range

        def counted_get(key: str) -> bytes:
            data: bytes = get(key)
            self.bytes += len(data)
            self.calls += 1
            return data

        def counted_range(key: str, start: int, end: int) -> bytes:
            data: bytes = get_range(key, start, end)
            self.bytes += len(data)
            self.calls += 1
            return data

        backend.get, backend.get_range = counted_get, counted_range

    def reset(self) -> None:
        self.bytes = 0
        self.calls = 0


def run(workdir: Path) -> list[dict[str, Any]]:
    """Run the zarr benchmarks in ``workdir`` (created; our files are removed after)."""
    import numpy as np

    import capsa

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    root = workdir / "zarr-store"
    raw = workdir / "zarr-baseline.bin"
    npy = workdir / "zarr-baseline.npy"
    arr = np.random.default_rng(0).random(SHAPE, dtype=np.float32)
    rows: list[dict[str, Any]] = []
    try:
        store = capsa.open_store(str(root), mode="development")
        store.save("bench/warm", "zarr.array", arr[:1024])  # imports, plugin registry

        # 1. save ------------------------------------------------------------
        def save_baseline() -> None:
            with open(raw, "wb") as f:
                arr.tofile(f)
                f.flush()
                os.fsync(f.fileno())

        base_s, capsa_s = [], []
        for i in range(REPEATS):
            base_s.append(_time(save_baseline))
            raw.unlink()
            capsa_s.append(_time(lambda i=i: store.save(f"bench/zarr-save-{i}", "zarr.array", arr)))
            store.delete(f"bench/zarr-save-{i}")
        rows.append(
            _row(
                "zarr save 256 MiB float32 (sha256 + fsync)",
                "arr.tofile(f) + fsync",
                base_s,
                capsa_s,
                0.7,
            )
        )

        # 2. load ------------------------------------------------------------
        store.save(KEY_LOAD, "zarr.array", arr)
        np.save(npy, arr)
        if not np.array_equal(store.load(KEY_LOAD).read("array"), arr):
            raise AssertionError("zarr round trip differs")
        np.load(npy)  # warm both into the page cache
        base_s, capsa_s, lazy_s = [], [], []
        for _ in range(REPEATS):
            base_s.append(_time(lambda: np.load(npy)))
            capsa_s.append(_time(lambda: store.load(KEY_LOAD).read("array")))
            lazy_s.append(_time(lambda: store.load(KEY_LOAD)["array"][...]))
        rows.append(
            _row("zarr load 256 MiB float32 (read)", "np.load(.npy)", base_s, capsa_s, 0.45)
        )
        rows.append(
            _row(
                "zarr load 256 MiB float32 (lazy [...])",
                "np.load(.npy)",
                base_s,
                lazy_s,
                0.2,
            )
        )

        # 3. lazy 1% slice ------------------------------------------------------
        counter = _Counter(store.backend)
        n = SHAPE[0] // 100  # 163 rows of 16384: 1% of the array
        store.save(KEY_SMALL, "zarr.array", arr, options={"array": {"chunks": [64, SHAPE[1]]}})
        # default chunks are 256 rows (4 MiB): start 5 rows before a chunk boundary,
        # the worst case (two chunks); 1 MiB chunks (64 rows): a typical slice, 3 chunks
        for key, start, label, target in (
            (KEY_SMALL, 5000, "1 MiB chunks", 0.02),
            (KEY_LOAD, 256 * 20 - 5, "4 MiB, straddling", 0.035),
        ):
            full_s, slice_s = [], []
            full_bytes = slice_bytes = 0
            for _ in range(REPEATS):
                counter.reset()
                full_s.append(_time(lambda key=key: store.load(key)["array"][...]))
                full_bytes = counter.bytes
                counter.reset()
                part: Any = None

                def read_slice(key: str = key, start: int = start) -> None:
                    nonlocal part
                    part = store.load(key)["array"][start : start + n]

                slice_s.append(_time(read_slice))
                slice_bytes = counter.bytes
                if not np.array_equal(part, arr[start : start + n]):
                    raise AssertionError("lazy slice differs")
            rows.append(
                {
                    "name": f"zarr lazy 1% slice bytes ({label})",
                    "baseline": "lazy full read [...]",
                    "baseline_s": round(min(full_s), 4),
                    "capsa_s": round(min(slice_s), 4),
                    "ratio": round(slice_bytes / full_bytes, 4),
                    "target": target,
                    "higher_is_better": False,
                    "bytes_read": slice_bytes,
                    "bytes_full": full_bytes,
                }
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
        for path in (raw, npy):
            path.unlink(missing_ok=True)
    return rows
