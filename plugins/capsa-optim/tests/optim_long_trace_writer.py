"""Child process of test_optim_long_trace.py: stream, hold or read a long trace under a memory cap.

Usage::

    python optim_long_trace_writer.py MODE SPEC_JSON

``MODE`` is ``write`` (stream the trace through ``TraceWriter``), ``hold``
(the control: keep the same rows in memory) or ``read`` (column slices of the
committed run, checked against the generator). ``SPEC_JSON`` holds ``url``,
``options``, ``key``, ``steps``, ``dim``, ``budget`` (bytes),
``warmup_steps`` and, for ``read``, ``columns``.

The cap is relative (see the test's docstring): after the imports, after
opening the store and after a small warm-up through the same code path, the
child reads its address-space size (``VmSize``) and sets ``RLIMIT_AS`` to it
plus ``budget``. Everything the mode maps afterwards must fit in ``budget``.
The last line of stdout is a JSON report.
"""

from __future__ import annotations

import threading

# Before any thread starts: 1 MiB thread stacks instead of glibc's 8 MiB (see the test).
threading.stack_size(1 << 20)

import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

MOD = 1_000_003
"""θ[t, j] = ((t * 7919 + j * 104729) % MOD) / MOD: exact, cheap, different in every cell."""


def theta_row(t: int, cols: Any) -> Any:
    """θ at step ``t`` for the columns ``cols`` (an int64 array)."""
    return ((t * 7919 + cols * 104729) % MOD) / MOD


def theta_column(steps: int, k: int) -> Any:
    """θ[:, k] over ``steps`` steps."""
    return ((np.arange(steps, dtype=np.int64) * 7919 + k * 104729) % MOD) / MOD


def status_kib(field: str) -> int:
    """A ``/proc/self/status`` field (``VmSize``, ``VmHWM`` ...) in KiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def cap(budget: int) -> dict[str, int]:
    """Cap the address space at what is mapped now plus ``budget``; return both."""
    mapped = status_kib("VmSize") * 1024
    limit = mapped + budget
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return {"mapped_at_cap": mapped, "limit": limit}


def open_location(spec: dict[str, Any], key: str) -> Any:
    """The run location ``key`` in the store of ``spec``."""
    from capsa_optim import RunLocation

    import capsa

    store = capsa.open_store(spec["url"], options=spec.get("options") or None)
    return RunLocation(store, key)


def stream(location: Any, steps: int, dim: int) -> str:
    """Append ``steps`` rows through a TraceWriter (default options); return its storage."""
    from capsa_optim import TraceWriter

    cols = np.arange(dim, dtype=np.int64)
    meta = {"theta": {"dim": dim}, "optimizer": {"name": "long-trace", "num_steps": steps}}
    with TraceWriter(location, meta=meta) as writer:
        for t in range(steps):
            writer.append(loss=1.0 / (t + 1), theta=theta_row(t, cols))
        storage: str = writer.trace_storage
    return storage


def warm_up(spec: dict[str, Any], mode: str) -> None:
    """A short trace through the same path: imports, zarr's event loop, writer threads.

    ``warmup_steps`` is chosen past the 8 MiB threshold and a few chunk bands,
    so the warm-up goes through zarr too.
    """
    location = open_location(spec, f"{spec['key']}-{mode}-warmup")
    stream(location, spec["warmup_steps"], spec["dim"])


def mode_write(spec: dict[str, Any]) -> dict[str, Any]:
    """Stream the whole trace under the cap."""
    warm_up(spec, "write")
    location = open_location(spec, spec["key"])
    report = cap(spec["budget"])
    rss_before = status_kib("VmHWM")
    t0 = time.perf_counter()
    storage = stream(location, spec["steps"], spec["dim"])
    return {
        **report,
        "storage": storage,
        "seconds": time.perf_counter() - t0,
        "rss_peak_before_kib": rss_before,
        "rss_peak_after_kib": status_kib("VmHWM"),
        "vm_peak_kib": status_kib("VmPeak"),
    }


def mode_hold(spec: dict[str, Any]) -> dict[str, Any]:
    """The control: the same setup and cap, then keep every row as a buffering writer would."""
    warm_up(spec, "hold")
    report = cap(spec["budget"])
    cols = np.arange(spec["dim"], dtype=np.int64)
    rows: list[Any] = []
    try:
        for t in range(spec["steps"]):
            rows.append(theta_row(t, cols))
    except MemoryError:
        held = len(rows) * spec["dim"] * 8
        rows.clear()
        return {**report, "memory_error": True, "held_bytes": held}
    return {**report, "memory_error": False, "held_bytes": len(rows) * spec["dim"] * 8}


def mode_read(spec: dict[str, Any]) -> dict[str, Any]:
    """Column slices (and a few rows) under the cap, checked; bytes fetched per column."""
    from capsa_optim import load_summary, load_trace

    location = open_location(spec, spec["key"])
    backend = location.store.backend
    counted = {"bytes": 0}
    get, get_range = backend.get, backend.get_range

    def counted_get(key: str) -> bytes:
        data = get(key)
        counted["bytes"] += len(data)
        return data

    def counted_range(key: str, start: int, end: int) -> bytes:
        data = get_range(key, start, end)
        counted["bytes"] += len(data)
        return data

    backend.get, backend.get_range = counted_get, counted_range
    steps, dim = spec["steps"], spec["dim"]
    summary = load_summary(location)
    trace = load_trace(location)
    np.asarray(trace.theta[:3, 0])  # warm-up: zarr's event loop and reader threads
    report = cap(spec["budget"])
    column_bytes: dict[int, int] = {}
    for k in spec["columns"]:
        counted["bytes"] = 0
        column = np.asarray(trace.theta[:, k])
        column_bytes[k] = counted["bytes"]
        if column.shape != (steps,) or not np.array_equal(column, theta_column(steps, k)):
            raise AssertionError(f"theta[:, {k}] differs from the generator")
        del column
    middle = steps // 2
    rows = np.asarray(trace.theta[middle : middle + 3, :])
    cols = np.arange(dim, dtype=np.int64)
    for i in range(3):
        if not np.array_equal(rows[i], theta_row(middle + i, cols)):
            raise AssertionError(f"theta[{middle + i}, :] differs from the generator")
    loss = np.asarray(trace.loss[-5:])
    if not np.array_equal(loss, 1.0 / (np.arange(steps - 5, steps) + 1)):
        raise AssertionError("loss[-5:] differs from the generator")
    return {
        **report,
        "column_bytes": column_bytes,
        "theta_shape": list(trace.theta.shape),
        "num_steps_completed": summary.num_steps_completed,
        "trace_storage": summary.trace_storage,
        "rss_peak_kib": status_kib("VmHWM"),
    }


MODES = {"write": mode_write, "hold": mode_hold, "read": mode_read}


def main(argv: list[str]) -> int:
    """Run one mode; print its JSON report."""
    mode, spec = argv[1], json.loads(argv[2])
    print(json.dumps(MODES[mode](spec)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
