"""Benchmarks of capsa-optim's streamed traces, each side measured in its own subprocess.

A trace of 100k steps x 1k parameters (float64: 800 MB of theta) is streamed
step by step:

1. **RSS growth** of ``TraceWriter`` (default options: npz at first, Zarr
   once the buffered trace passes 8 MiB): the peak resident set size after
   the run is committed minus the peak before the first step, in MiB.
   ``baseline_s`` and ``capsa_s`` hold the two peaks (MiB), ``ratio`` the
   growth; target <= 64 MiB (lower is better).
2. **Throughput** of ``TraceWriter.append`` per step + commit (sha256 of
   every chunk, fsync) against raw row appends to a preallocated
   ``numpy.memmap`` (+ loss) and a final ``flush``: ``ratio`` =
   baseline_s / capsa_s (higher is better).
3. **Lazy column read**: bytes read by ``load_trace(run).theta[:, k]``
   over bytes read by the whole ``theta`` (lower is better): Zarr chunks of
   128 columns make one column cost about 1/8 of the trace.

Each measurement runs in a fresh interpreter, so one side's allocations and
page cache mappings do not count against the other's RSS.

Run with ``python bench/run.py optim``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

STEPS = 100_000
DIM = 1_000

_COMMON = """
import json, os, sys, time
import numpy as np
STEPS, DIM = {steps}, {dim}
base = np.linspace(-1.0, 1.0, DIM)
def peak_mib():
    # VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's peak.
    with open("/proc/self/status") as f:
        return int(next(l for l in f if l.startswith("VmHWM:")).split()[1]) / 1024.0
"""

_BASELINE = (
    _COMMON
    + """
path = {path!r}
t0 = time.perf_counter()
theta = np.memmap(path, dtype=np.float64, mode="w+", shape=(STEPS, DIM))
loss = np.empty(STEPS)
for t in range(STEPS):
    theta[t] = base + t * 1e-6
    loss[t] = 1.0 / (t + 1)
theta.flush()
np.save(path + ".loss.npy", loss)
elapsed = time.perf_counter() - t0
del theta
print(json.dumps({{"seconds": elapsed}}))
"""
)

_CAPSA = (
    _COMMON
    + """
from capsa_optim import TraceWriter, load_trace, locate_run
location = locate_run({run!r})
meta = {{"theta": {{"dim": DIM}}, "optimizer": {{"name": "bench", "num_steps": STEPS}}}}
row = base.copy()
before = peak_mib()
t0 = time.perf_counter()
with TraceWriter(location, meta=meta) as writer:
    for t in range(STEPS):
        np.add(base, t * 1e-6, out=row)
        writer.append(loss=1.0 / (t + 1), theta=row)
    storage = writer.trace_storage
elapsed = time.perf_counter() - t0
after = peak_mib()

counted = {{"bytes": 0}}
backend = location.store.backend
get, get_range, open_reader = backend.get, backend.get_range, backend.open_reader
def counted_get(key):
    data = get(key); counted["bytes"] += len(data); return data
def counted_range(key, start, end):
    data = get_range(key, start, end); counted["bytes"] += len(data); return data
backend.get, backend.get_range = counted_get, counted_range
trace = load_trace(location)
counted["bytes"] = 0
column = np.asarray(trace.theta[:, 123])
column_bytes = counted["bytes"]
assert abs(column[-1] - (base[123] + (STEPS - 1) * 1e-6)) < 1e-12
counted["bytes"] = 0
np.asarray(trace.theta[...])
full_bytes = counted["bytes"]
print(json.dumps({{"seconds": elapsed, "before": before, "after": after, "storage": storage,
                  "column_bytes": column_bytes, "full_bytes": full_bytes}}))
"""
)


def _run(code: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark subprocess failed:\n{out.stderr}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run(workdir: Path) -> list[dict[str, Any]]:
    """Run the capsa-optim benchmarks in ``workdir``; return the result rows."""
    import capsa_optim  # noqa: F401 - ImportError skips this module when the plugin is absent
    import capsa_zarr  # noqa: F401 - the long-trace path needs it

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    fmt = {"steps": STEPS, "dim": DIM}
    baseline = _run(_BASELINE.format(path=str(workdir / "theta.memmap"), **fmt))
    (workdir / "theta.memmap").unlink()
    capsa = _run(_CAPSA.format(run=str(workdir / "runs" / "bench"), **fmt))
    if capsa["storage"] != "zarr":
        raise AssertionError(f"a 100k x 1k trace should stream to zarr, got {capsa['storage']}")
    growth = capsa["after"] - capsa["before"]
    label = f"optim TraceWriter {STEPS // 1000}k x {DIM // 1000}k"
    return [
        {
            "name": f"{label}: RSS growth MiB",
            "baseline": "peak RSS MiB before / after",
            "baseline_s": round(capsa["before"], 1),
            "capsa_s": round(capsa["after"], 1),
            "ratio": round(growth, 1),
            "target": 64.0,
            "higher_is_better": False,
        },
        {
            "name": f"{label}: append + commit",
            "baseline": "np.memmap row appends + flush",
            "baseline_s": round(baseline["seconds"], 3),
            "capsa_s": round(capsa["seconds"], 3),
            "ratio": round(baseline["seconds"] / capsa["seconds"], 3),
            "target": 0.25,
            "higher_is_better": True,
        },
        {
            "name": "optim load_trace theta[:, k]: bytes ratio",
            "baseline": "bytes of the whole theta",
            "baseline_s": capsa["full_bytes"],
            "capsa_s": capsa["column_bytes"],
            "ratio": round(capsa["column_bytes"] / max(1, capsa["full_bytes"]), 4),
            "target": 0.15,
            "higher_is_better": False,
        },
    ]
