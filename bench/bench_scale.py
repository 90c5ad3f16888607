"""Listing many committed artifacts on S3 (SeaweedFS on loopback): speed, memory, progress.

Setup: ``N`` committed artifacts (100k; ``CAPSA_BENCH_SCALE_N=10000`` for a
quick run) under ``big/`` and 1,000 under ``small/``, 1,000 per folder
(``big/p04/g2/a917``). One is saved by capsa (``save(..., by_reference=True)``
of a small JSON member); the others are written with concurrent raw obstore
puts of the same committed layout: the member is the same content-addressed
object (``.capsa/objects/``), and each artifact's ``_SUCCESS`` is that
manifest with its own key and txid, encoded by capsa's ``encode_manifest``.
So every artifact is one object under the prefix, the cheapest layout to set
up; members stored in place would add one listed key per member, which the
paginated listing reads at several thousand keys per second.

Rows:

- **vs raw list+get**: on the first 10k artifacts, ``store.iter_artifacts``
  (lists the prefix page by page and reads every marker, 16 at once) against
  the same work in raw obstore (async paginated list feeding 16 concurrent
  GETs of the markers): the ceiling for a listing that shows kinds, sizes
  and dates. ratio = baseline s / capsa s.
- **vs raw list**: the whole ``N`` listing in a fresh process, against a raw
  obstore paginated list of the same prefix (keys only, no marker read).
  capsa reads one marker per artifact, so this ratio is bounded by what a
  GET costs against a listed key; reported for scale.
- **first artifact**: seconds until the first artifact came out of the
  ``N`` listing, over the seconds a raw listing takes per 1,000-key page: a
  listing that streams yields its first artifact after one page and one
  marker GET, whatever ``N`` (lower is better).
- **RSS growth**: peak RSS growth of a fresh process while it iterates over
  ``N`` artifacts (``baseline_s``: the same for 1,000), in MiB.
- **progress**: reports the listing's progress callback received over the
  reports expected (one per 128 artifacts); the last report must count all
  ``N``.

Run with ``python bench/run.py scale``. The setup's PUTs and the marker
GETs set the time: 5.9 min at 100k with the two cores shared with other
work (SeaweedFS took 561 PUTs/s, 180 s of setup), about 2 min expected on a
quiet machine (MEASUREMENTS.md: ~2,000 PUTs/s, ~3,000 GETs/s); 1.7 min at
``CAPSA_BENCH_SCALE_N=10000`` under the same load.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

N = int(os.environ.get("CAPSA_BENCH_SCALE_N", "100000"))
SMALL = 1_000
SPEED_N = min(N, 10_000)
PER_FOLDER = 1_000
CONCURRENCY = 16
PUT_CONCURRENCY = 64


def key_of(group: str, i: int) -> str:
    """The key of artifact ``i`` of ``group`` (``big/p04/g2/a917``): 10k per ``p`` folder."""
    return f"{group}/p{i // 10_000:02d}/g{i // PER_FOLDER % 10}/a{i % PER_FOLDER:03d}"


def run(workdir: Path) -> list[dict[str, Any]]:
    """Start SeaweedFS in ``workdir``, build the artifacts, measure, stop it."""
    from capsa_cloud.servers import seaweedfs_server

    with seaweedfs_server(workdir / "seaweedfs") as server:
        return _measure(server)


def _populate(store: Any, raw: Any, group: str, count: int) -> float:
    """Write ``count`` committed artifacts under ``group/``; return the seconds taken."""
    import msgspec
    import obstore

    from capsa.store.manifest import decode_manifest, encode_manifest

    template = f"template/{group}"
    store.save(template, "json", {"loss": 0.25}, by_reference=True)
    manifest = decode_manifest(store.backend.get(f"{template}/_SUCCESS"), key=template)
    assert all(m.by_reference for m in manifest.members)

    async def put_all() -> None:
        sem = asyncio.Semaphore(PUT_CONCURRENCY)

        async def one(i: int) -> None:
            key = key_of(group, i)
            marker = encode_manifest(
                msgspec.structs.replace(manifest, key=key, txid=f"{i:016x}-bench")
            )
            async with sem:
                await obstore.put_async(raw, f"{key}/_SUCCESS", marker, mode="create")

        await asyncio.gather(*(one(i) for i in range(count)))

    t0 = time.perf_counter()
    asyncio.run(put_all())
    return time.perf_counter() - t0


def _raw_list(raw: Any, prefix: str) -> tuple[float, int]:
    import obstore

    t0 = time.perf_counter()
    count = 0
    for page in obstore.list(raw, prefix, chunk_size=1000):
        count += len(page)
    return time.perf_counter() - t0, count


def _raw_list_get(raw: Any, prefix: str) -> tuple[float, int]:
    """Raw obstore: an async paginated list feeding CONCURRENCY workers that GET each marker."""
    import obstore

    async def go() -> int:
        queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=4 * CONCURRENCY)
        done = [0]

        async def worker() -> None:
            while (key := await queue.get()) is not None:
                result = await obstore.get_async(raw, key)
                await result.bytes_async()
                done[0] += 1

        workers = [asyncio.create_task(worker()) for _ in range(CONCURRENCY)]
        async for page in obstore.list(raw, prefix, chunk_size=1000):
            for meta in page:
                if str(meta["path"]).endswith("/_SUCCESS"):
                    await queue.put(str(meta["path"]))
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
        return done[0]

    t0 = time.perf_counter()
    count = asyncio.run(go())
    return time.perf_counter() - t0, count


def _capsa_list(store: Any, prefix: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    count = sum(1 for _ in store.iter_artifacts(prefix))
    return time.perf_counter() - t0, count


_CHILD = """
import json, sys, time
import capsa

def hwm_mib():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0

spec = json.loads(sys.argv[1])
store = capsa.open_store(spec["url"], options=spec["options"])
assert len(store.list("template/")) >= 1    # warm-up: client, thread pool, decoders
reports = []
before = hwm_mib()
t0 = time.perf_counter()
first = None
count = 0
for info in store.iter_artifacts(spec["prefix"], progress=reports.append):
    if first is None:
        first = time.perf_counter() - t0
    count += 1
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "first": first, "count": count, "before": before,
                  "after": hwm_mib(), "reports": len(reports),
                  "last": list(reports[-1]) if reports else None}))
"""


def _child(url: str, options: dict[str, Any], prefix: str) -> dict[str, Any]:
    spec = json.dumps({"url": url, "options": options, "prefix": prefix})
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, spec], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"listing subprocess failed:\n{out.stderr}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _measure(server: Any) -> list[dict[str, Any]]:
    from capsa_cloud.backend import S3Backend

    import capsa

    url = server.url("scale")
    options = {**server.options, "progress": False, "concurrency": CONCURRENCY}
    store = capsa.open_store(url, options=options)
    raw = S3Backend.from_url(url, options)._connect()
    setup = _populate(store, raw, "small", SMALL) + _populate(store, raw, "big", N)
    print(f"  {N + SMALL} artifacts written in {setup:.1f}s ({(N + SMALL) / setup:.0f}/s)")
    label = f"{N // 1000}k"

    # Speed: the first SPEED_N artifacts (one folder of 10k), raw list+get, then capsa.
    sub = "big/p00/" if N >= 10_000 else "big/"
    base, count = _raw_list_get(raw, sub)
    assert count == SPEED_N, (count, SPEED_N)
    ours, count = _capsa_list(store, sub)
    assert count == SPEED_N, (count, SPEED_N)
    print(f"  {SPEED_N} artifacts: raw list+get {base:.2f}s, capsa {ours:.2f}s")

    # The whole listing: raw keys only, then capsa in fresh processes (1k and N).
    raw_seconds, raw_count = _raw_list(raw, "big/")
    assert raw_count == N, raw_count
    small = _child(url, options, "small/")
    big = _child(url, options, "big/")
    assert small["count"] == SMALL and big["count"] == N, (small["count"], big["count"])
    assert big["last"] == [N, N, True], big["last"]
    page = raw_seconds * 1000 / N  # seconds per listed page of 1,000 keys
    growth_small = small["after"] - small["before"]
    growth_big = big["after"] - big["before"]
    print(
        f"  {label}: raw list {raw_seconds:.2f}s, capsa {big['seconds']:.2f}s "
        f"(first artifact after {big['first']:.3f}s); RSS growth {growth_big:.1f} MiB "
        f"(1k: {growth_small:.1f} MiB); {big['reports']} progress reports"
    )
    return [
        {
            "name": f"list {SPEED_N // 1000}k artifacts (S3) vs raw list+get",
            "baseline": "raw obstore list + 16 concurrent GETs",
            "baseline_s": round(base, 3),
            "capsa_s": round(ours, 3),
            "ratio": round(base / ours, 3),
            "target": 0.7,
            "higher_is_better": True,
        },
        {
            "name": f"list {label} artifacts (S3) vs raw list",
            "baseline": "raw obstore paginated list (keys)",
            "baseline_s": round(raw_seconds, 3),
            "capsa_s": round(big["seconds"], 3),
            "ratio": round(raw_seconds / big["seconds"], 3),
            "target": 0.1,
            "higher_is_better": True,
        },
        {
            "name": f"list {label} (S3): first artifact",
            "baseline": "raw list of one 1,000-key page",
            "baseline_s": round(page, 4),
            "capsa_s": round(big["first"], 4),
            "ratio": round(big["first"] / page, 3),
            "target": 3.0,
            "higher_is_better": False,
        },
        {
            "name": f"list {label} (S3): RSS growth MiB",
            "baseline": "RSS growth MiB listing 1k",
            "baseline_s": round(growth_small, 1),
            "capsa_s": round(growth_big, 1),
            "ratio": round(growth_big, 1),
            "target": 64.0,
            "higher_is_better": False,
        },
        {
            "name": f"list {label} (S3): progress reports",
            "baseline": "one report per 128 artifacts",
            "baseline_s": N // 128 + 1,
            "capsa_s": big["reports"],
            "ratio": round(big["reports"] / (N // 128 + 1), 3),
            "target": 1.0,
            "higher_is_better": True,
        },
    ]
