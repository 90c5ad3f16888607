"""Crash safety: SIGKILL a writer at random points, many times; races between writers."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from core_helpers import subprocess_env

import capsa
from capsa.errors import ArtifactExistsError
from capsa.testing.crash import check_content, payload, writer_command

ROUNDS = int(os.environ.get("CAPSA_CRASH_ROUNDS", "30"))


def _run_and_kill(url: str, mode: str, start: int, rng: random.Random) -> list[str]:
    """Start a writer, SIGKILL it after a random delay; return its acknowledged lines."""
    proc = subprocess.Popen(
        writer_command(url, mode, start, 1000, "w"),
        stdout=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
    )
    # Time the kill from the child's "ready" (its store is open), not from its
    # start-up, which a loaded machine stretches to a second or more: kill
    # anywhere from before the first save to well into the loop.
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n", "the writer did not start"
    time.sleep(rng.uniform(0.0, 0.4))
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate()
    return [line for line in out.splitlines() if line.startswith("ok ")]


@pytest.mark.slow
def test_sigkill_during_production_saves_loses_and_corrupts_nothing(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    rng = random.Random(1234)
    acknowledged: set[str] = set()
    start = 0
    for _ in range(ROUNDS):
        lines = _run_and_kill(url, "production", start, rng)
        acknowledged |= {line.split()[1] for line in lines}
        start += 1000
    store = capsa.open_store(url)
    committed = [i.key for i in store.list()]
    corrupt = 0
    for key in committed:
        try:
            check_content(store, key)
        except Exception:
            corrupt += 1
    lost = sorted(acknowledged - set(committed))
    debris = store.gc(dry_run=False, older_than=0)
    print(
        f"\ncrash test: rounds={ROUNDS} committed={len(committed)} "
        f"acknowledged={len(acknowledged)} corrupt_committed={corrupt} lost={len(lost)} "
        f"debris_collected={len(debris.objects)}"
    )
    assert corrupt == 0
    assert lost == []
    assert len(committed) > ROUNDS // 2, "the writer hardly ever committed: kills too early"
    # After gc only committed artifacts remain: nothing in staging, nothing stray.
    assert store.gc(dry_run=True, older_than=0).objects == []
    staging = tmp_path / "store" / ".capsa" / "staging"
    assert not staging.exists() or not any(staging.iterdir())
    assert store.verify().ok
    assert sorted(i.key for i in store.list()) == sorted(committed)


@pytest.mark.slow
def test_sigkill_during_development_overwrites_keeps_old_or_new(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    rng = random.Random(99)
    last_ack = -1
    start = 0
    for _ in range(max(10, ROUNDS // 2)):
        lines = _run_and_kill(url, "development", start, rng)
        if lines:
            last_ack = int(lines[-1].split()[2])
        start += 1000
        store = capsa.open_store(url, mode="development", session="crash")
        if last_ack >= 0:
            version = check_content(store, "same-key")
            # Old or new: never older than what the writer last acknowledged.
            assert version >= last_ack
    assert last_ack >= 0
    store = capsa.open_store(url, mode="development", session="crash")
    store.gc(dry_run=False, older_than=0)
    assert store.verify().ok
    assert check_content(store, "same-key") >= last_ack


@pytest.mark.slow
def test_production_race_between_two_processes(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    capsa.open_store(url)  # nothing to create; both children open the same root
    start_at = time.time() + 1.5
    procs = [
        subprocess.Popen(
            writer_command(url, "production", 0, 40, ident, start_at=start_at, interval=0.05),
            stdout=subprocess.PIPE,
            text=True,
            env=subprocess_env(),
        )
        for ident in ("A", "B")
    ]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    wins = [
        {line.split()[1] for line in out.splitlines() if line.startswith("ok ")} for out in outs
    ]
    losses = [
        {line.split()[1] for line in out.splitlines() if line.startswith("lost ")} for out in outs
    ]
    keys = {f"k{i:05d}" for i in range(40)}
    assert wins[0].isdisjoint(wins[1]), "two writers both won the same key"
    assert wins[0] | wins[1] == keys
    assert losses[0] == wins[1] and losses[1] == wins[0]
    store = capsa.open_store(url)
    for key in keys:
        art = store.load(key, verify=True)
        winner = "A" if key in wins[0] else "B"
        assert art["meta.json"]["identity"] == winner
    print(f"\nrace: A won {len(wins[0])}, B won {len(wins[1])} of {len(keys)} keys")


def test_create_only_race_on_object_store_protocol() -> None:
    """Threads racing on memory:// exercise the marker protocol (create-only puts)."""
    url = "memory://race-test"
    store = capsa.open_store(url)
    results: dict[str, list[str]] = {"A": [], "B": [], "C": [], "D": []}
    barrier = threading.Barrier(len(results))

    def writer(ident: str) -> None:
        barrier.wait()
        for i in range(30):
            key = f"k{i}"
            try:
                store.save(key, "bundle", payload(key, 0, ident))
                results[ident].append(key)
            except ArtifactExistsError:
                pass

    threads = [threading.Thread(target=writer, args=(ident,)) for ident in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [k for keys in results.values() for k in keys]
    assert sorted(won) == sorted(f"k{i}" for i in range(30))  # exactly one winner each
    for ident, keys in results.items():
        for key in keys:
            assert store.load(key, verify=True)["meta.json"]["identity"] == ident
    assert store.gc(dry_run=True, older_than=0).objects == []


def test_the_crash_kit_refuses_bytes_no_writer_meant(tmp_path: Path) -> None:
    store = capsa.open_store(str(tmp_path / "store"))
    store.save("k00001", "bundle", payload("k00001", 0, "A"), meta={"version": 0})
    assert check_content(store, "k00001") == 0
    forged = payload("k00002", 0, "A")
    forged["blob.bin"] = bytes(forged["blob.bin"])[:-1] + b"!"
    store.save("k00002", "bundle", forged, meta={"version": 0})
    with pytest.raises(AssertionError, match=r"'k00002' holds bytes no writer meant"):
        check_content(store, "k00002")
