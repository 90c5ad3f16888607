"""Run capsa's benchmarks and print ratios against baselines measured in the same run.

    .venv/bin/python bench/run.py            # all benchmarks
    .venv/bin/python bench/run.py commit     # only modules whose name contains "commit"

Every ``bench_*.py`` module next to this file exposes ``run(workdir) -> list[dict]``;
each row names a baseline and reports both timings, the ratio and the target.
Results also go to ``bench/out/results.json`` (git-ignored).
"""

from __future__ import annotations

import importlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _status(row: dict[str, Any]) -> str:
    ratio, target = float(row["ratio"]), float(row["target"])
    ok = ratio >= target if row.get("higher_is_better", True) else ratio <= target
    return "met" if ok else "MISSED"


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(HERE))
    wanted = argv[1:]
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if wanted:
        modules = [m for m in modules if any(w in m for w in wanted)]
    rows: list[dict[str, Any]] = []
    for name in modules:
        module = importlib.import_module(name)
        scratch = HERE / "out"  # git-ignored, on the same disk as the repository
        scratch.mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f"{name}-", dir=scratch) as tmp:
            t0 = time.perf_counter()
            try:
                produced = module.run(Path(tmp))
            except ImportError as exc:  # a plugin the benchmark needs is not installed
                print(f"{name}: skipped ({exc})")
                continue
            print(f"{name}: {time.perf_counter() - t0:.1f}s")
        rows.extend(produced)
    header = (
        f"{'benchmark':44} {'baseline':34} {'base s':>9} {'capsa s':>9} "
        f"{'ratio':>6} {'target':>8}  status"
    )
    print()
    print(header)
    print("-" * len(header))
    for row in rows:
        cmp = ">=" if row.get("higher_is_better", True) else "<="
        print(
            f"{row['name']!s:44} {row['baseline']!s:34} {float(row['baseline_s']):9.4f} "
            f"{float(row['capsa_s']):9.4f} {float(row['ratio']):6.2f} "
            f"{cmp}{float(row['target']):6.2f}  {_status(row)}"
        )
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
