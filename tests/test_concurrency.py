"""Bounded concurrent I/O: order, bounds, errors, nesting; and its use by the store."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import capsa
from capsa.backends.concurrency import map_bounded
from capsa.backends.memory import MemoryBackend


class _Gauge:
    """Counts calls in flight and remembers the most seen at once."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self.lock = threading.Lock()

    def __enter__(self) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.now -= 1


def test_results_keep_the_order_of_items() -> None:
    def slow_square(i: int) -> int:
        time.sleep(0.001 * (i % 3))
        return i * i

    assert map_bounded(slow_square, range(50), 8) == [i * i for i in range(50)]


def test_never_more_calls_in_flight_than_the_limit() -> None:
    gauge = _Gauge()

    def call(_: int) -> None:
        with gauge:
            time.sleep(0.005)

    map_bounded(call, range(40), 4)
    assert 1 < gauge.most <= 4


def test_limit_one_runs_on_the_calling_thread_in_order() -> None:
    seen: list[tuple[int, str]] = []
    map_bounded(lambda i: seen.append((i, threading.current_thread().name)), range(5), 1)
    assert seen == [(i, threading.current_thread().name) for i in range(5)]


def test_first_error_is_raised_after_calls_in_flight_finish() -> None:
    finished: list[int] = []
    started: list[int] = []
    lock = threading.Lock()

    def call(i: int) -> int:
        with lock:
            started.append(i)
        if i == 3:
            raise ValueError("item 3 is bad")
        time.sleep(0.01)
        with lock:
            finished.append(i)
        return i

    with pytest.raises(ValueError, match=r"item 3 is bad"):
        map_bounded(call, range(100), 4)
    # Everything that started (except the failure) had finished when it raised,
    # and the failure stopped the rest from starting.
    assert sorted(finished) == sorted(i for i in started if i != 3)
    assert len(started) < 100


def test_nested_calls_run_sequentially_inside_the_outer_pool() -> None:
    gauge = _Gauge()

    def inner(_: int) -> None:
        with gauge:
            time.sleep(0.002)

    def outer(_: int) -> None:
        map_bounded(inner, range(10), 4)

    map_bounded(outer, range(3), 3)
    assert gauge.most <= 3


class _SlowMemory(MemoryBackend):
    """A memory backend with network-like latency and a gauge on puts and gets."""

    gauge: _Gauge

    def put(self, key: str, data: Any, *, create_only: bool = False) -> None:
        with self.gauge:
            time.sleep(0.002)
            super().put(key, data, create_only=create_only)

    def get(self, key: str) -> bytes:
        with self.gauge:
            time.sleep(0.002)
            return super().get(key)

    def open_reader(self, key: str) -> Any:
        with self.gauge:
            time.sleep(0.002)
            return super().open_reader(key)


@pytest.fixture
def slow_store() -> Iterator[tuple[capsa.Store, _Gauge]]:
    store = capsa.open_store("memory://concurrency-test", mode="test", test_name="io")
    gauge = _Gauge()
    backend = _SlowMemory.__new__(_SlowMemory)
    backend.__dict__.update(store.backend.__dict__)
    backend.gauge = gauge
    backend.io_concurrency = 6
    store.backend = backend
    yield store, gauge
    store.destroy()


def test_bundle_members_go_up_concurrently(slow_store: tuple[capsa.Store, _Gauge]) -> None:
    store, gauge = slow_store
    files = {f"part-{i:03d}.txt": f"member {i}" for i in range(60)}
    store.save("many", "bundle", files)
    assert 1 < gauge.most <= 6
    loaded = store.load("many", verify=True)
    assert {name: loaded[name] for name in files} == files
    gauge.most = 0
    assert store.verify("many").ok
    assert 1 < gauge.most <= 6


def test_folder_files_go_up_and_come_back_concurrently(
    slow_store: tuple[capsa.Store, _Gauge],
) -> None:
    store, gauge = slow_store
    files = {f"d/{i:03d}.bin": bytes([i]) * 100 for i in range(80)}
    with store.transaction("tree", "bundle") as tx:
        tx.write("files", files, format="folder")
    assert 1 < gauge.most <= 6
    gauge.most = 0
    lazy = store.load("tree")["files"]
    assert gauge.most <= 1  # listing only: nothing read yet
    assert lazy.fetch() == files
    assert 1 < gauge.most <= 6
    assert lazy.fetch(["d/001.bin"]) == {"d/001.bin": files["d/001.bin"]}
    with pytest.raises(capsa.errors.MemberNotFoundError, match=r"no file 'nope'"):
        lazy.fetch(["nope"])


def test_a_failing_member_aborts_the_whole_save(slow_store: tuple[capsa.Store, _Gauge]) -> None:
    store, _ = slow_store

    class Unwritable:
        pass

    files: dict[str, Any] = {f"ok-{i}.txt": "fine" for i in range(20)}
    files["bad.txt"] = Unwritable()
    with pytest.raises(capsa.errors.ValidationError, match=r"bad\.txt"):
        store.save("broken", "bundle", files)
    assert not store.exists("broken")
    assert [k for k in store.backend.list("") if "broken" in k.key] == []


def test_listing_reads_markers_concurrently_and_in_order(
    slow_store: tuple[capsa.Store, _Gauge],
) -> None:
    store, gauge = slow_store
    keys = [f"runs/{i:03d}" for i in range(70)]
    for key in keys:
        store.save(key, "json", {"key": key})
    store.backend.delete(f"{store.namespace}/runs/005/_SUCCESS")  # now uncommitted: not listed
    gauge.most = 0
    listed = store.list("runs/")
    assert [info.key for info in listed] == [k for k in keys if k != "runs/005"]
    assert 1 < gauge.most <= 6
    assert [info.key for info in store.iter_artifacts("runs/", kind="text")] == []
