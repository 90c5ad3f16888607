"""The ``faulty+<scheme>://`` wrapper: how the URL resolves, its options, and each fault."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import capsa
from capsa.backends.faulty import FaultConfig, FaultyBackend
from capsa.backends.local import LocalBackend
from capsa.backends.memory import MemoryBackend
from capsa.backends.retrying import RetryingBackend
from capsa.backends.wrapper import find_backend
from capsa.errors import (
    ConfigError,
    ObjectExistsError,
    StorageTimeoutError,
    TransientError,
    UnknownBackendError,
)
from capsa.plugins.manager import get_registry, list_plugins


@pytest.fixture
def space() -> Iterator[str]:
    """A fresh memory space name, emptied afterwards."""
    name = f"faults-{uuid.uuid4().hex[:8]}"
    yield name
    MemoryBackend(name)._objects.clear()


def faulty(space: str, *faults: str, rate: float = 1.0, seed: int = 1) -> FaultyBackend:
    """A fault injector on a memory space, without the retry layer."""
    config = FaultConfig(fault_rate=rate, faults=faults, seed=seed)
    return FaultyBackend(MemoryBackend(space), config)


# -- the scheme ------------------------------------------------------------------


def test_faulty_scheme_wraps_the_inner_backend_and_adds_retries(space: str) -> None:
    store = capsa.open_store(f"faulty+memory://{space}", options={"fault_rate": 0})
    assert isinstance(store.backend, RetryingBackend)
    injector = find_backend(store.backend, FaultyBackend)
    assert injector is not None and isinstance(injector.inner, MemoryBackend)
    assert injector.inner.name == space
    assert store.url == f"faulty+memory://{space}"
    store.save("a", "json", {"v": 1})
    assert capsa.open_store(f"memory://{space}").load("a", verify=True)["data"] == {"v": 1}
    assert store.load("a").url == f"faulty+memory://{space}/a"


def test_faulty_file_keeps_the_local_protocol(tmp_path: Path) -> None:
    url = (tmp_path / "root").as_uri()
    store = capsa.open_store(f"faulty+{url}", options={"fault_rate": 0})
    local = find_backend(store.backend, LocalBackend)
    assert local is not None
    assert store.backend.supports_rename == local.supports_rename
    store.save("a", "bundle", {"x.txt": "x"})
    assert (tmp_path / "root" / "a" / "x.txt").read_text() == "x"
    assert store.load("a").local_dir == tmp_path / "root" / "a"


def test_wrapper_options_do_not_reach_the_inner_backend(space: str) -> None:
    seen: dict[str, object] = {}

    class Spy(MemoryBackend):
        schemes = ("spy",)

        @classmethod
        def from_url(cls, url: str, options: object) -> MemoryBackend:
            seen.update(options)  # type: ignore[call-overload]
            return super().from_url(url, {})

    registry = get_registry()
    registry.add_backend(Spy, "test-spy")
    try:
        from capsa.api import open_backend

        backend = open_backend(
            f"faulty+spy://{space}", {"fault_rate": 0.5, "seed": 3, "region": "x"}, registry
        )
    finally:
        del registry.backends.entries["spy"]
    assert seen == {"region": "x"}
    injector = find_backend(backend, FaultyBackend)
    assert injector is not None and injector.config.fault_rate == 0.5


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("faulty+nonsense://x", r"cannot open 'faulty\+nonsense://x': no backend named 'nonsense'"),
        ("nonsense+memory://x", r"no backend wrapper named 'nonsense' .*installed: faulty"),
        ("memory+memory://x", r"no backend wrapper named 'memory'"),
        ("faulty://x", r"'faulty' wraps another backend.*faulty\+<scheme>://"),
    ],
)
def test_unknown_schemes_are_clear(url: str, match: str) -> None:
    with pytest.raises(UnknownBackendError, match=match):
        capsa.open_store(url)


def test_the_wrapper_is_registered_apart_from_backends() -> None:
    registry = get_registry()
    assert registry.backend_wrapper("faulty") is FaultyBackend
    assert "faulty" not in registry.backends.names()
    core = {p.name: p for p in list_plugins()}["core-backends"]
    assert core.provides["backend_wrappers"] == ["faulty"]
    assert core.provides["backends"] == ["<path>", "file", "memory"]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"fault_rate": 1.5}, r"option 'fault_rate' must be a number from 0 to 1, got 1.5"),
        ({"fault_rate": -0.1}, r"'fault_rate'"),
        ({"fault_rate": "high"}, r"'fault_rate'"),
        ({"faults": ["put", "explode"]}, r"option 'faults': unknown fault 'explode'"),
        ({"faults": "get,nope"}, r"unknown fault 'nope'"),
        ({"faults": 3}, r"option 'faults' must be a list"),
        ({"fault_ops": ["put", "rename"]}, r"option 'fault_ops': unknown operation 'rename'"),
        ({"seed": "abc"}, r"option 'seed' must be an integer"),
        ({"fail_after": -1}, r"option 'fail_after' must be a whole number >= 0"),
        ({"max_retries": -1}, r"option 'max_retries' must be a whole number >= 0"),
    ],
)
def test_bad_fault_options_name_the_option(
    space: str, options: dict[str, object], match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        capsa.open_store(f"faulty+memory://{space}", options=options)


def test_fault_list_may_be_a_comma_string() -> None:
    config = FaultConfig.from_options({"faults": "timeout, put,timeout"})
    assert config.faults == ("put", "timeout")
    assert FaultConfig.from_options({}) == FaultConfig()


# -- each fault --------------------------------------------------------------------


def test_put_fault_stores_nothing(space: str) -> None:
    backend = faulty(space, "put")
    with pytest.raises(TransientError, match=r"injected put fault: put of 'k'"):
        backend.put("k", b"v")
    backend.inner.put("k", b"old")
    with pytest.raises(TransientError):
        backend.delete("k")
    assert backend.inner.get("k") == b"old"
    assert backend.get("k") == b"old"  # reads are untouched
    assert [i.key for i in backend.list()] == ["k"]
    stats = backend.fault_stats
    assert stats.injected == {"put": 2} and stats.by_op == {"put": 1, "delete": 1}
    assert stats.applied == 0 and stats.ops["get"] == 1


def test_get_fault_fails_every_read(space: str) -> None:
    backend = faulty(space, "get")
    backend.put("k", b"value")  # writes are untouched
    for read in (
        lambda: backend.get("k"),
        lambda: backend.get_range("k", 0, 2),
        lambda: backend.head("k"),
        lambda: list(backend.list()),
        lambda: backend.exists("k"),
        lambda: backend.open_reader("k"),
    ):
        with pytest.raises(TransientError, match=r"injected get fault"):
            read()
    assert backend.fault_stats.injected == {"get": 6}


def test_timeouts_are_applied_about_half_the_time(space: str) -> None:
    backend = faulty(space, "timeout", seed=11)
    for i in range(60):
        with pytest.raises(StorageTimeoutError) as info:
            backend.put(f"k{i}", b"v")
        assert isinstance(info.value, TimeoutError)
    stored = len(list(backend.inner.list()))
    assert 15 <= stored <= 45  # the caller cannot tell which
    assert backend.fault_stats.applied == stored
    with pytest.raises(StorageTimeoutError):
        backend.get("k0")


def test_partial_faults(space: str) -> None:
    backend = faulty(space, "partial", seed=5)
    backend.inner.put("obj", b"0123456789" * 10)
    with pytest.raises(TransientError, match=r"body was cut after \d+ of 100 bytes"):
        backend.get("obj")
    short = backend.get_range("obj", 10, 60)  # silently short: the retry layer must notice
    assert len(short) < 50 and short == (b"0123456789" * 10)[10 : 10 + len(short)]
    with pytest.raises(TransientError, match=r"a truncated object was stored"):
        backend.put("obj", b"x" * 100)
    truncated = backend.inner.get("obj")
    assert len(truncated) < 100 and truncated == b"x" * len(truncated)
    with pytest.raises(TransientError, match=r"was cut after"):
        backend.put("new", b"y" * 100, create_only=True)
    assert not backend.inner.exists("new")  # a conditional put is all or nothing
    for i in range(20):
        backend.inner.put(f"many/{i:02d}", b".")
    seen = []
    with pytest.raises(TransientError, match=r"list of 'many/' .* broke off after"):
        for info in backend.list("many/"):
            seen.append(info.key)
    assert 1 <= len(seen) < 20
    assert backend.fault_stats.injected == {"partial": 5}
    assert backend.fault_stats.applied == 1


def test_create_only_put_that_times_out_on_a_taken_key_is_not_applied(space: str) -> None:
    backend = faulty(space, "timeout", seed=2)
    backend.inner.put("k", b"theirs")
    for _ in range(10):
        with pytest.raises(StorageTimeoutError):
            backend.put("k", b"ours", create_only=True)
    assert backend.inner.get("k") == b"theirs"
    assert backend.fault_stats.applied == 0
    with pytest.raises(ObjectExistsError):
        FaultyBackend(backend.inner, FaultConfig(fault_rate=0)).put("k", b"x", create_only=True)


def test_seed_reproduces_the_faults_and_fail_after_delays_them(space: str) -> None:
    def run(seed: int, fail_after: int = 0) -> list[str]:
        config = FaultConfig(fault_rate=0.4, seed=seed, fail_after=fail_after)
        backend = FaultyBackend(MemoryBackend(space), config)
        outcome = []
        for i in range(40):
            try:
                backend.put(f"s/{i}", b"v")
                outcome.append("ok")
            except TransientError as exc:
                outcome.append(type(exc).__name__)
        return outcome

    first = run(seed=9)
    assert run(seed=9) == first
    assert run(seed=10) != first
    assert 5 <= first.count("ok") <= 35
    delayed = run(seed=9, fail_after=15)
    assert delayed[:15] == ["ok"] * 15 and delayed.count("ok") < 40


def test_fault_ops_limit_where_faults_land(space: str) -> None:
    config = FaultConfig.from_options({"fault_rate": 1, "faults": "put,get", "fault_ops": "put"})
    backend = FaultyBackend(MemoryBackend(space), config)
    backend.inner.put("k", b"v")
    assert backend.get("k") == b"v" and [i.key for i in backend.list()] == ["k"]
    backend.delete("k")
    with pytest.raises(TransientError, match=r"injected put fault: put of 'k'"):
        backend.put("k", b"v")
    assert backend.fault_stats.by_op == {"put": 1}


def test_rate_zero_injects_nothing(space: str) -> None:
    backend = faulty(space, *FaultConfig().faults, rate=0.0)
    for i in range(50):
        backend.put(f"k{i}", b"v", create_only=True)
        assert backend.get(f"k{i}") == b"v"
    assert backend.fault_stats.total == 0
    assert backend.fault_stats.ops == {"put": 50, "get": 50}
