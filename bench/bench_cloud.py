"""capsa-cloud against SeaweedFS on loopback: large members and many small members.

- **64 MiB member, put and get**: ``store.save`` of one 64 MiB blob member
  (claim, streamed multipart member, marker) and ``load`` of it, against raw
  obstore ``put``/``get`` of the same bytes. Target at least 0.9.
- **1,000 small members**: saving a bundle of 1,000 small files with the
  default ``concurrency`` (16 at a time) against the same save with
  ``concurrency = 1`` (one after another). Target at least 5. Raw obstore puts,
  concurrent and sequential, are printed for scale.

SeaweedFS (not moto) serves these: moto caps at about 330 requests/s.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from common import throughput_row, timed

ROUNDS = 3
BIG = 64 << 20
SMALL_COUNT = 1000


def run(workdir: Path) -> list[dict[str, Any]]:
    """Start SeaweedFS in ``workdir``, measure, stop it; return the result rows."""
    from capsa_cloud.servers import seaweedfs_server

    with seaweedfs_server(workdir / "seaweedfs") as server:
        return _measure(server)


def _measure(server: Any) -> list[dict[str, Any]]:
    import obstore
    from capsa_cloud.backend import S3Backend

    import capsa

    options = {**server.options, "progress": False}
    raw = S3Backend.from_url(server.url("raw"), options)._connect()
    payload = bytes(range(256)) * (BIG // 256)
    rows: list[dict[str, Any]] = []

    # -- one large member ----------------------------------------------------
    base_put: list[float] = []
    base_get: list[float] = []
    capsa_put: list[float] = []
    capsa_get: list[float] = []
    for _ in range(ROUNDS):
        key = f"big-{uuid.uuid4().hex}"
        base_put.append(timed(lambda key=key: obstore.put(raw, key, payload)))
        base_get.append(timed(lambda key=key: bytes(obstore.get(raw, key).bytes())))
        store = capsa.open_store(server.url(), options=options)
        capsa_put.append(timed(lambda store=store: store.save("model", "blob", payload)))
        capsa_get.append(timed(lambda store=store: store.load("model", verify=True)["blob"]))
    rows.append(
        throughput_row("cloud: 64 MiB member put", "raw obstore put", base_put, capsa_put, 0.9)
    )
    rows.append(
        throughput_row(
            "cloud: 64 MiB member get (verified)", "raw obstore get", base_get, capsa_get, 0.9
        )
    )

    # -- many small members -----------------------------------------------------
    files = {f"part-{i:04d}.json": f'{{"i": {i}}}' for i in range(SMALL_COUNT)}
    sequential: list[float] = []
    concurrent: list[float] = []
    for _ in range(ROUNDS):
        seq_store = capsa.open_store(server.url(), options={**options, "concurrency": 1})
        sequential.append(timed(lambda s=seq_store: s.save("many", "bundle", files)))
        con_store = capsa.open_store(server.url(), options=options)
        concurrent.append(timed(lambda s=con_store: s.save("many", "bundle", files)))
    rows.append(
        throughput_row(
            f"cloud: {SMALL_COUNT} small members, concurrent",
            "same save, one at a time",
            sequential,
            concurrent,
            5.0,
        )
    )
    seq_load: list[float] = []
    con_load: list[float] = []
    for _ in range(ROUNDS):
        seq_store = capsa.open_store(server.url(), options={**options, "concurrency": 1})
        seq_store.save("many", "bundle", files)
        seq_load.append(timed(lambda s=seq_store: s.verify("many")))
        con_store = capsa.open_store(server.url(), options=options)
        con_store.save("many", "bundle", files)
        con_load.append(timed(lambda s=con_store: s.verify("many")))
    rows.append(
        throughput_row(
            f"cloud: verify {SMALL_COUNT} small members, concurrent",
            "same verify, one at a time",
            seq_load,
            con_load,
            5.0,
        )
    )

    # -- raw obstore, the same shape: what the server and the machine allow ---------
    raw_seq: list[float] = []
    raw_con: list[float] = []
    for _ in range(ROUNDS):
        prefix = f"raw-small-{uuid.uuid4().hex}"

        def sequential_puts(prefix: str = prefix) -> None:
            for i in range(SMALL_COUNT):
                obstore.put(raw, f"{prefix}/s/{i}", b"x" * 20)

        async def burst(prefix: str = prefix) -> None:
            sem = asyncio.Semaphore(16)

            async def one(i: int) -> None:
                async with sem:
                    await obstore.put_async(raw, f"{prefix}/c/{i}", b"x" * 20)

            await asyncio.gather(*(one(i) for i in range(SMALL_COUNT)))

        raw_seq.append(timed(sequential_puts))
        raw_con.append(timed(lambda burst=burst: asyncio.run(burst())))
    rows.append(
        throughput_row(
            f"reference: raw obstore, {SMALL_COUNT} small puts, 16 concurrent",
            "raw obstore, one at a time",
            raw_seq,
            raw_con,
            5.0,
        )
    )
    return rows
