"""Benchmarks of the npz format through the store, against plain numpy.

``run(workdir)`` returns one row per comparison; each side is timed in the
same run, interleaved, best of ``REPEATS``. ``ratio`` is
throughput(capsa) / throughput(baseline) = baseline_s / capsa_s (the same
bytes move on both sides).

1. save a 256 MiB float32 array with ``store.save(..., "arrays", arr)``
   (sha256 in the sink, fsync by the store) vs ``arr.tofile(f)`` + fsync;
2. load it back unverified (``store.load(k)["arrays"]``, fully materialised)
   vs ``np.load`` of the same array as ``.npy``;
3. the same load with ``verify=True`` (every byte re-hashed first).

Run with ``python bench/run.py npz``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from common import throughput_row as _row
from common import timed as _time

REPEATS = 3
SIZE = 256 << 20  # bytes
KEY_LOAD = "bench/npz-load"


def _materialise(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, Mapping):
        return {k: value[k] for k in value}
    raise TypeError(f"unexpected value {type(value)!r}")


def run(workdir: Path) -> list[dict[str, Any]]:
    """Run the npz benchmarks in ``workdir`` (created; our files are removed after)."""
    import numpy as np

    import capsa

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    root = workdir / "npz-store"
    raw = workdir / "npz-baseline.bin"
    npy = workdir / "npz-baseline.npy"
    arr = np.random.default_rng(0).random(SIZE // 4, dtype=np.float32)
    rows: list[dict[str, Any]] = []
    try:
        store = capsa.open_store(str(root), mode="development")

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
            capsa_s.append(_time(lambda i=i: store.save(f"bench/npz-save-{i}", "arrays", arr)))
            store.delete(f"bench/npz-save-{i}")
        rows.append(
            _row(
                "npz save 256 MiB float32 (sha256 + fsync)",
                "arr.tofile(f) + fsync",
                base_s,
                capsa_s,
                0.8,
            )
        )

        # 2./3. load -----------------------------------------------------------
        store.save(KEY_LOAD, "arrays", arr)
        np.save(npy, arr)
        check = _materialise(store.load(KEY_LOAD)["arrays"])
        if not np.array_equal(check, arr):
            raise AssertionError("npz round trip differs")
        np.load(npy)  # warm both files into the page cache
        for verify, label, target in ((False, "unverified", 0.8), (True, "verified", 0.6)):
            base_s, capsa_s = [], []
            for _ in range(REPEATS):
                base_s.append(_time(lambda: np.load(npy)))
                capsa_s.append(
                    _time(lambda v=verify: _materialise(store.load(KEY_LOAD, verify=v)["arrays"]))
                )
            rows.append(
                _row(
                    f"npz load 256 MiB float32 ({label})",
                    "np.load(.npy)",
                    base_s,
                    capsa_s,
                    target,
                )
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
        for path in (raw, npy):
            path.unlink(missing_ok=True)
    return rows
