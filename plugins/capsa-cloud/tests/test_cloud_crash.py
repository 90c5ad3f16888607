"""Crash safety on S3: SIGKILL writers at random points, and production-key races.

The S3 versions of the core crash tests (tests/test_crash.py), on SeaweedFS:
a real storage server, fast enough for many rounds, and atomic for racing
conditional PUTs (moto 5.1 is not for multi-megabyte ones, see
docs/backends.md). Writers are separate processes (``capsa.testing.crash``,
the kit the core's crash tests use) that reach the loopback server with its
options.
Each test prints one line of figures (``pytest -s``); docs/reliability.md
lists them.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from capsa_cloud.servers import LoopbackS3

import capsa
from capsa.testing.crash import MEMBERS, payload, writer_command
from capsa.testing.crash import check_content as _check

HERE = Path(__file__).resolve().parent
ROUNDS = int(os.environ.get("CAPSA_CRASH_ROUNDS", "30"))
PART_SIZE = 5 << 20
"""The ``chunk_size`` the writers' stores use: one blob in eight goes multipart."""


def _options(server: LoopbackS3) -> dict[str, Any]:
    # A 5 MiB part size: one blob in eight goes up as a multipart upload.
    return {**server.options, "chunk_size": PART_SIZE, "progress": False}


def _writer(
    url: str,
    options: dict[str, Any],
    mode: str,
    start: int,
    count: int,
    ident: str,
    **sync: float,
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        writer_command(
            url, mode, start, count, ident, options=options, large_size=PART_SIZE, **sync
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=HERE,  # no capsa.toml of the caller's
    )


def _run_and_kill(
    url: str, options: dict[str, Any], mode: str, start: int, rng: random.Random
) -> list[str]:
    """Start a writer, SIGKILL it a random time into its saves; return its ``ok`` lines."""
    proc = _writer(url, options, mode, start, 1000, "w")
    assert proc.stdout is not None
    ready = proc.stdout.readline()
    if ready != "ready\n":
        proc.kill()
        raise AssertionError(f"the writer did not start: {proc.communicate()[1]}")
    time.sleep(rng.uniform(0.0, 0.8))
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=60)
    # Killed by us, not ended by an error of its own.
    assert proc.returncode == -signal.SIGKILL, err
    return [line for line in out.splitlines() if line.startswith("ok ")]


def _keys(out: str, word: str) -> set[str]:
    """The keys of a writer's ``ok``/``lost`` lines."""
    return {line.split()[1] for line in out.splitlines() if line.startswith(f"{word} ")}


def _check_content(store: capsa.Store, key: str) -> int:
    """The committed artifact must be exactly one intended version; return it."""
    return _check(store, key, large_size=PART_SIZE)


def _incomplete_uploads(server: LoopbackS3, url: str) -> int:
    """Multipart uploads a killed writer could not abort (invisible to listing)."""
    import boto3

    prefix = url.removeprefix(f"s3://{server.bucket}/") + "/"
    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=server.options["access_key_id"],
        aws_secret_access_key=server.options["secret_access_key"],
        region_name=server.options["region"],
    )
    found = client.list_multipart_uploads(Bucket=server.bucket, Prefix=prefix)
    return len(found.get("Uploads", []))


@pytest.mark.slow
def test_cloud_sigkill_during_production_saves_loses_and_corrupts_nothing(
    seaweedfs: LoopbackS3,
) -> None:
    url, options = seaweedfs.url(), _options(seaweedfs)
    rng = random.Random(4321)
    acknowledged: set[str] = set()
    for r in range(ROUNDS):
        lines = _run_and_kill(url, options, "production", r * 1000, rng)
        acknowledged |= {line.split()[1] for line in lines}
    store = capsa.open_store(url, options=options)
    committed = sorted(i.key for i in store.list())
    corrupt = 0
    for key in committed:
        try:
            _check_content(store, key)
        except Exception:
            corrupt += 1
    lost = sorted(acknowledged - set(committed))
    debris = store.gc(dry_run=False, older_than=0)
    multipart = sum(
        len(payload(k, 0, "w", large_size=PART_SIZE)["blob.bin"]) > PART_SIZE for k in committed
    )
    print(
        f"\ncrash test (s3/seaweedfs): rounds={ROUNDS} committed={len(committed)} "
        f"acknowledged={len(acknowledged)} corrupt_committed={corrupt} lost={len(lost)} "
        f"debris_collected={len(debris.objects)} multipart_committed={multipart} "
        f"incomplete_uploads_left={_incomplete_uploads(seaweedfs, url)}"
    )
    assert corrupt == 0
    assert lost == []
    assert len(committed) > ROUNDS // 2, "the writer hardly ever committed: kills too early"
    assert debris.objects or ROUNDS < 5, "no kill landed inside a save"
    # After gc only the committed artifacts remain, every one intact.
    assert store.gc(dry_run=True, older_than=0).objects == []
    assert store.verify().ok
    assert sorted(i.key for i in store.list()) == committed
    assert sorted(i.key for i in store.backend.list("")) == sorted(
        f"{key}/{member}" for key in committed for member in MEMBERS
    )


@pytest.mark.slow
def test_cloud_sigkill_during_development_overwrites(seaweedfs: LoopbackS3) -> None:
    """Overwrites of one key: never a corrupt or stale version, whatever the kill hit.

    On an object store an overwrite retracts the old marker before it writes
    (docs/concepts.md, marker protocol): a kill inside that window leaves the
    key without an artifact, holding the crashed save's claim and members.
    """
    url, options = seaweedfs.url(), _options(seaweedfs)
    rng = random.Random(77)
    rounds = max(5, ROUNDS // 3)
    last_ack, kept, vanished, corrupt, stale = -1, 0, 0, 0, 0
    for r in range(rounds):
        lines = _run_and_kill(url, options, "development", r * 1000, rng)
        if lines:
            last_ack = int(lines[-1].split()[2])
        store = capsa.open_store(url, options=options, mode="development", session="crash")
        if store.exists("same-key"):
            try:
                version = _check_content(store, "same-key")
            except Exception:
                corrupt += 1
                continue
            stale += version < last_ack  # never older than the last acknowledged
            kept += 1
        elif kept or last_ack >= 0:
            # Killed between retracting the old marker and putting the new one:
            # the crashed save's claim is still there, and gc finds its members.
            claims = [i.key for i in store.backend.list("") if i.key.endswith("/_CLAIM")]
            assert len(claims) == 1, claims
            vanished += 1
    assert last_ack >= 0, "no save was ever acknowledged: kills too early"
    # gc takes the last crashed save's claim and members, and nothing else.
    store = capsa.open_store(url, options=options, mode="development", session="crash")
    debris = store.gc(dry_run=False, older_than=0)
    print(
        f"\ncrash test, development overwrites (s3/seaweedfs): rounds={rounds} "
        f"kept_new_or_newer={kept} vanished_in_overwrite_window={vanished} "
        f"corrupt_committed={corrupt} older_than_acknowledged={stale} "
        f"debris_collected={len(debris.objects)}"
    )
    assert corrupt == 0
    assert stale == 0
    assert store.gc(dry_run=True, older_than=0).objects == []
    assert store.verify().ok
    left = [i.key for i in store.list()]
    assert len(list(store.backend.list(""))) == len(MEMBERS) * len(left)
    if left:
        assert left == ["same-key"] and _check_content(store, "same-key") >= last_ack
    # The next save after all those crashes succeeds, complete and alone.
    final = _writer(url, options, "development", rounds * 1000, 1, "w")
    out, err = final.communicate(timeout=60)
    assert final.returncode == 0, err
    assert out.splitlines()[-1] == f"ok same-key {rounds * 1000}"
    assert _check_content(store, "same-key") == rounds * 1000
    assert [i.key for i in store.list()] == ["same-key"]
    assert len(list(store.backend.list(""))) == len(MEMBERS)


@pytest.mark.slow
def test_cloud_production_race_between_three_processes(seaweedfs: LoopbackS3) -> None:
    url, options = seaweedfs.url(), _options(seaweedfs)
    n_keys, idents = 40, ("A", "B", "C")
    start_at = time.time() + 2.0  # all three started and connected by then
    procs = [
        _writer(url, options, "production", 0, n_keys, ident, start_at=start_at, interval=0.12)
        for ident in idents
    ]
    results = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in results]
    wins = [_keys(out, "ok") for out, _ in results]
    losses = [_keys(out, "lost") for out, _ in results]
    keys = {f"k{i:05d}" for i in range(n_keys)}
    # Exactly one winner per key; every other writer got ArtifactExistsError for it.
    assert sum(len(w) for w in wins) == n_keys, "two writers both won a key"
    assert set().union(*wins) == keys
    for won, lost in zip(wins, losses, strict=True):
        assert lost == keys - won
    store = capsa.open_store(url, options=options)
    corrupt = 0
    for key in sorted(keys):
        winner = next(ident for ident, won in zip(idents, wins, strict=True) if key in won)
        try:  # the committed content is the winner's, byte for byte
            art = store.load(key, verify=True)
            assert art["meta.json"]["identity"] == winner
            assert art.read("blob.bin") == payload(key, 0, winner, large_size=PART_SIZE)["blob.bin"]
        except Exception:
            corrupt += 1
    debris = store.gc(dry_run=False, older_than=0)
    print(
        f"\nrace (s3/seaweedfs): {len(idents)} processes x {n_keys} keys: "
        + ", ".join(f"{i} won {len(w)}" for i, w in zip(idents, wins, strict=True))
        + f"; ArtifactExistsError={sum(len(lost) for lost in losses)} "
        f"corrupt_committed={corrupt} debris_collected={len(debris.objects)}"
    )
    assert corrupt == 0
    # Losers clean up after themselves: nothing but the winners' artifacts.
    assert debris.objects == []
    assert sorted(i.key for i in store.backend.list("")) == sorted(
        f"{key}/{member}" for key in keys for member in MEMBERS
    )
