"""Core benchmarks: commit latency of a small artifact, import + discovery time.

Ratios:
- commit: capsa seconds per commit / naive seed-000 seconds per commit
  (``np.savez`` + ``json.dump`` + touch ``_SUCCESS``, fsync on both sides);
  lower is better, target <= 1.3.
- import: seconds for ``import capsa`` + full plugin discovery (every
  installed plugin) / seconds for bare ``import pluggy, msgspec``, each in a
  fresh interpreter with bytecode cached; lower is better, target <= 1.5.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

COMMITS = 200
IMPORT_RUNS = 15


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _naive_commit(folder: Path, embedding: Any, ids: Any, payload: dict[str, Any]) -> None:
    import numpy as np

    folder.mkdir(parents=True)
    np.savez(folder / "fit.npz", embedding=embedding, ids=ids)
    _fsync_file(folder / "fit.npz")
    with open(folder / "fit.json", "w") as fh:
        json.dump(payload, fh)
        fh.flush()
        os.fsync(fh.fileno())
    (folder / "_SUCCESS").touch()
    _fsync_file(folder / "_SUCCESS")


def bench_commit(workdir: Path) -> dict[str, Any]:
    import numpy as np

    import capsa

    rng = np.random.default_rng(0)
    embedding = rng.standard_normal((500, 2)).astype(np.float32)
    ids = np.arange(500)
    payload = {"reducer": "pca", "n_components": 2, "metrics": {"trustworthiness": 0.93}}
    store = capsa.open_store(str(workdir / "store"))
    data = {"fit.npz": {"embedding": embedding, "ids": ids}, "fit.json": payload}
    store.save("warmup", "bundle", data)  # discovery, git provenance: once per process
    naive_times, capsa_times = [], []
    for i in range(COMMITS):
        t0 = time.perf_counter()
        _naive_commit(workdir / "naive" / f"run{i}", embedding, ids, payload)
        naive_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        store.save(f"run{i}", "bundle", data)
        capsa_times.append(time.perf_counter() - t0)
    base, ours = statistics.median(naive_times), statistics.median(capsa_times)
    return {
        "name": "commit latency, small fit artifact",
        "baseline": "np.savez+json.dump+_SUCCESS+fsync",
        "baseline_s": base,
        "capsa_s": ours,
        "ratio": ours / base,
        "target": 1.3,
        "higher_is_better": False,
    }


_TIMER = """
import time
t = time.perf_counter()
{stmt}
print(time.perf_counter() - t)
"""


def _time_import(stmt: str) -> float:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run(
        [sys.executable, "-c", _TIMER.format(stmt=stmt)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return float(out.stdout.strip())


def bench_import(workdir: Path) -> dict[str, Any]:
    base_stmt = "import pluggy, msgspec"
    capsa_stmt = (
        "import capsa\n"
        "from capsa.plugins.manager import get_registry, list_plugins\n"
        "get_registry(); list_plugins()"
    )
    for _ in range(2):  # warm the bytecode caches
        _time_import(base_stmt)
        _time_import(capsa_stmt)
    base = statistics.median(_time_import(base_stmt) for _ in range(IMPORT_RUNS))
    ours = statistics.median(_time_import(capsa_stmt) for _ in range(IMPORT_RUNS))
    return {
        "name": "import capsa + discover all plugins",
        "baseline": "import pluggy, msgspec",
        "baseline_s": base,
        "capsa_s": ours,
        "ratio": ours / base,
        "target": 1.5,
        "higher_is_better": False,
    }


def run(workdir: Path) -> list[dict[str, Any]]:
    """Run the core benchmarks."""
    return [bench_commit(workdir), bench_import(workdir)]
