"""update_runs under concurrent writers: 8 processes x 200 upserts lose nothing.

Processes write a local inventory (the issue's case), threads write
``memory://`` (a per-process backend) and processes write S3 on the moto
loopback server (fewer upserts: moto serves about 330 requests/s).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from pathlib import Path

import pytest
from capsa_dimred import FIT_RUN_KEY_FIELDS, load_fit_runs, update_runs
from capsa_dimred.chain import VersionChain
from capsa_dimred.location import locate
from dimred_helpers import join, read_object, run_record, upsert_worker, write_s3_config

from capsa.backends.memory import MemoryBackend


def _expected(workers: int, count: int) -> list[tuple[str, int]]:
    return sorted((f"w{w:02d}", i) for w in range(workers) for i in range(count))


def _check(path: str, workers: int, count: int) -> None:
    import json

    runs = load_fit_runs(path)
    assert [(r["condition"], r["n_components"]) for r in runs] == _expected(workers, count)
    assert runs == [run_record(int(r["condition"][1:]), r["n_components"]) for r in runs]
    # The file converged on the newest version, and the chain counted every upsert.
    assert json.loads(read_object(path)) == runs
    loc = locate(path)
    assert VersionChain(loc.backend, loc.full_key, path).newest(0) == workers * count - 1


def _run_processes(path: str, workers: int, count: int, mirror: bool) -> None:
    ctx = multiprocessing.get_context("spawn")  # no fork after threads (moto's server)
    barrier = ctx.Barrier(workers)
    procs = [
        ctx.Process(target=upsert_worker, args=(path, w, count, barrier, mirror, os.getcwd()))
        for w in range(workers)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=600)
    assert [proc.exitcode for proc in procs] == [0] * workers


@pytest.mark.slow
def test_eight_processes_two_hundred_upserts_each_local(tmp_path: Path) -> None:
    path = str(tmp_path / "out" / "fit_runs.json")
    _run_processes(path, workers=8, count=200, mirror=False)
    _check(path, 8, 200)


def test_processes_with_mirrors_local(tmp_path: Path) -> None:
    path = str(tmp_path / "out" / "fit_runs.json")
    _run_processes(path, workers=4, count=25, mirror=True)
    _check(path, 4, 25)
    store = locate(path).store
    assert len(store.list("fit_runs.records/", kind="dimred.run")) == 100
    assert store.verify().ok


def test_eight_threads_two_hundred_upserts_each_memory() -> None:
    path = "memory://dimred-threads/out/fit_runs.json"
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(200):
                update_runs(path, run_record(worker, i), FIT_RUN_KEY_FIELDS, mirror=i % 20 == 0)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        _check(path, 8, 200)
        assert len(locate(path).store.list("fit_runs.records/")) == 8 * 10
    finally:
        MemoryBackend.clear_all()


def test_processes_on_s3(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    server = request.getfixturevalue("s3_server")
    write_s3_config(tmp_path, server)
    path = f"{server.url()}/out/fit_runs.json"
    _run_processes(path, workers=4, count=10, mirror=True)
    _check(path, 4, 10)
    assert len(locate(path).store.list("fit_runs.records/", kind="dimred.run")) == 40


def test_concurrent_upserts_of_the_same_keys_keep_one_record_each(root: str) -> None:
    path = join(root, "fit_runs.json")
    barrier = threading.Barrier(4)

    def work(worker: int) -> None:
        barrier.wait()
        for i in range(6):
            update_runs(path, run_record(0, i % 3, writer=worker), FIT_RUN_KEY_FIELDS)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    runs = load_fit_runs(path)
    assert [r["n_components"] for r in runs] == [0, 1, 2]
    store = locate(path).store
    infos = store.list("fit_runs.records/", kind="dimred.run")
    assert len(infos) == 24
    # For each run, the newest mirrored revision is the record the inventory holds.
    newest: dict[str, str] = {}
    for info in infos:
        rid = info.key.split("/")[1]
        newest[rid] = max(newest.get(rid, ""), info.key)
    mirrored = sorted(
        (store.load(key)["record"] for key in newest.values()), key=lambda r: r["n_components"]
    )
    assert mirrored == runs
