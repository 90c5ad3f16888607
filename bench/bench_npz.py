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

Run directly: ``python bench/bench_npz.py [workdir]``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

REPEATS = 3
SIZE = 256 << 20  # bytes
KEY_LOAD = "bench/npz-load"


def _time(fn: Callable[[], Any]) -> float:
    """Seconds taken by one call of ``fn``."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _materialise(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, Mapping):
        return {k: value[k] for k in value}
    raise TypeError(f"unexpected value {type(value)!r}")


def _row(
    name: str, baseline: str, base: list[float], capsa: list[float], target: float
) -> dict[str, Any]:
    b, c = min(base), min(capsa)
    return {
        "name": name,
        "baseline": baseline,
        "baseline_s": round(b, 4),
        "capsa_s": round(c, 4),
        "ratio": round(b / c, 3),
        "target": target,
        "higher_is_better": True,
    }


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


def main(argv: list[str]) -> int:
    """Print the rows as a table."""
    if len(argv) > 1:
        rows = run(Path(argv[1]))
    else:
        with tempfile.TemporaryDirectory(prefix="capsa-bench-npz-") as tmp:
            rows = run(Path(tmp))
    for r in rows:
        ok = "ok" if r["ratio"] >= r["target"] else "BELOW TARGET"
        print(
            f"{r['name']:<48} baseline {r['baseline_s']:.3f}s  capsa {r['capsa_s']:.3f}s  "
            f"ratio {r['ratio']:.2f} (target {r['target']})  {ok}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
