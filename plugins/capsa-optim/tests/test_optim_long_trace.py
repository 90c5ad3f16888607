"""An optimizer trace ten times larger than the writer's memory, on a local store and on S3.

A trace of 90,112 steps x 1,024 parameters (float64: 704 MiB of θ, plus the
loss) is streamed through ``TraceWriter`` (default options: it switches to a
chunked ``trace.zarr`` once past 8 MiB) by a child process whose memory is
capped at 64 MiB above what it had mapped when it started streaming. A second
capped child reads column slices back and checks them against the generator.

How the cap is defined, honestly:

- **Relative, not absolute.** Python, numpy, zarr and obstore reserve address
  space they never touch (thread stacks, malloc arenas, tokio's runtime), so
  an absolute limit would say little. The child first imports everything,
  opens the store and streams a short warm-up trace through the same code
  path (zarr's event loop, the chunk writer threads, the HTTP client), then
  reads its address-space size and sets ``RLIMIT_AS`` to that plus the
  64 MiB budget. Whatever it maps afterwards (heap, numpy buffers, new
  threads) must fit in 64 MiB.
- **RLIMIT_AS, made tight.** AS counts every mapping: the strictest choice,
  workable with two settings. Thread stacks are reservations: with glibc's
  8 MiB default, the threads capsa starts per chunk (a sha256 helper per
  put, a small writer pool per chunk row) plus glibc's cache of exited stacks
  (up to 40 MiB) would use up the budget without holding any data, so the
  child sets ``threading.stack_size(1 MiB)`` before any thread starts (ample
  for these threads). And ``MALLOC_ARENA_MAX=1``: a second malloc arena
  reserves 64 MiB of address space before the cap is set, and glibc falls
  back to it when the main heap cannot grow, which would silently double the
  budget (measured: the control below then held 128 MiB). ``RLIMIT_DATA``
  would not count those untouched reservations at all, so it would be looser.
- **The limit bites.** A control child with the same warm-up and cap that
  keeps the rows in memory, as a buffering writer would, fails with
  ``MemoryError`` after about 65 MiB; the trace is more than ten times what
  it managed to hold.

The readers count the bytes fetched from the backend: one column of θ costs
1/8 of θ (chunks are 128 columns wide), never the whole.

A wide trace (16,384 parameters, 192 MiB) goes through the same cap: the
writer holds one band of θ chunks (their rows, all columns) at a time, and
1,024 rows of this θ would be 128 MiB, so chunks get fewer rows and more
columns as θ widens (bands of at most 16 MiB, chunks still about 1 MiB).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="RLIMIT_AS and /proc/self/status are Linux's"
)

CHILD = Path(__file__).with_name("optim_long_trace_writer.py")
BUDGET = 64 << 20
"""Bytes the writing process may map beyond what it had when streaming started."""
DIM = 1024
STEPS = 11 * BUDGET // (DIM * 8)
"""90,112 steps: θ alone is 11 times the budget, and ten times what the control could hold."""
WIDE_DIM = 16_384
WIDE_STEPS = 3 * BUDGET // (WIDE_DIM * 8)
"""1,536 steps of 128 KiB (192 MiB): 1,024 of them, one band of 128-column chunks, are 128 MiB."""


@pytest.fixture(scope="module")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """SeaweedFS on loopback, shared by this module's S3 case."""
    servers = pytest.importorskip("capsa_cloud.servers")
    with servers.seaweedfs_server(tmp_path_factory.mktemp("weed-long-trace")) as server:
        yield server


@pytest.fixture(params=["file", "s3"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Where the run goes: a local folder, or a prefix on SeaweedFS."""
    if request.param == "file":
        return {"url": str(tmp_path / "store"), "options": None}
    server = request.getfixturevalue("seaweedfs")
    return {"url": server.url(), "options": {**server.options, "progress": False}}


def child(mode: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Run the child script in ``mode``; return its JSON report."""
    env = {**os.environ, "MALLOC_ARENA_MAX": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run(
        [sys.executable, str(CHILD), mode, json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, f"{mode} child failed:\n{out.stderr[-4000:]}"
    report: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return report


def stream_then_read(spec: dict[str, Any], columns: list[int], column_share: float) -> None:
    """Stream the trace in a capped child, check the commit, read columns in another."""
    import capsa

    steps, dim = spec["steps"], spec["dim"]
    theta_bytes = steps * dim * 8
    wrote = child("write", spec)
    assert wrote["storage"] == "zarr"
    assert wrote["limit"] - wrote["mapped_at_cap"] == BUDGET

    store = capsa.open_store(spec["url"], options=spec["options"])
    manifest = store.manifest(spec["key"])
    assert manifest.size >= theta_bytes + steps * 8
    assert "trace.zarr" in [m.file for m in manifest.members]

    got = child("read", {**spec, "columns": columns})
    assert got["theta_shape"] == [steps, dim]
    assert got["num_steps_completed"] == steps and got["trace_storage"] == "zarr"
    for k in columns:
        # A column is read from the chunks holding it: a small share of θ, never all of it.
        assert 0 < got["column_bytes"][str(k)] <= column_share * theta_bytes, (k, got)


def test_long_trace_streams_and_reads_back_under_a_tenth_of_its_size(
    target: dict[str, Any],
) -> None:
    spec = {
        **target,
        "key": "runs/long",
        "steps": STEPS,
        "dim": DIM,
        "budget": BUDGET,
        "warmup_steps": 2048,
    }
    # The control: under the same cap, keeping the rows in memory fails early.
    held = child("hold", spec)
    assert held["memory_error"], "the cap did not bite: the whole trace fit in memory"
    assert held["held_bytes"] > BUDGET // 2 and 10 * held["held_bytes"] < STEPS * DIM * 8, held
    # 128-column chunks: one column of a 1,024-wide θ costs 1/8 of it.
    stream_then_read(spec, [0, 517, DIM - 1], 1 / 7)


def test_a_wide_trace_streams_under_the_same_cap(tmp_path: Path) -> None:
    # 16k parameters: a band of 1,024 rows would be 128 MiB; the writer holds 16 MiB bands.
    spec = {
        "url": str(tmp_path / "store"),
        "options": None,
        "key": "runs/wide",
        "steps": WIDE_STEPS,
        "dim": WIDE_DIM,
        "budget": BUDGET,
        "warmup_steps": 256,
    }
    # 128 x 1,024 chunks: one column costs 1/16 of θ.
    stream_then_read(spec, [0, 9_999, WIDE_DIM - 1], 1 / 14)
