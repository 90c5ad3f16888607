"""The retry layer (capsa.backends.retrying): what is retried, how often, and how it is reported.

A scripted inner backend fails exactly where each test says, so every case
(a create-only put that landed before its timeout, a short ranged read, a
listing that breaks) is exercised on purpose, not by chance.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import capsa
from capsa.backends.base import Backend, ObjectInfo, PutData
from capsa.backends.local import LocalBackend
from capsa.backends.memory import MemoryBackend
from capsa.backends.retrying import RetryingBackend, RetryPolicy, RetryStats, with_retries
from capsa.backends.wrapper import WrapperBackend
from capsa.errors import (
    ConfigError,
    ObjectExistsError,
    ObjectNotFoundError,
    StorageTimeoutError,
    TransientError,
)
from capsa.plugins.manager import get_registry
from capsa.store.store import Store


class Scripted(WrapperBackend):
    """A memory backend that plays a script of failures, per operation.

    Actions: ``ok``; ``fail`` (a TransientError, nothing applied); ``lost``
    (applied, then reported as a timeout); ``short`` (ranged get: half the
    bytes, silently); ``break`` (list: one object, then a TransientError).
    """

    can_fail_transiently = True

    def __init__(self, **script: list[str]):
        super().__init__(MemoryBackend(f"scripted-{uuid.uuid4().hex[:8]}"))
        self.can_fail_transiently = True
        self.script = script
        self.calls: dict[str, int] = {}

    @classmethod
    def wrap(cls, inner: Backend, options: Mapping[str, Any]) -> Scripted:
        """Not registered: built directly by the tests."""
        raise NotImplementedError

    def _next(self, op: str) -> str:
        self.calls[op] = self.calls.get(op, 0) + 1
        todo = self.script.get(op, [])
        return todo.pop(0) if todo else "ok"

    def put(self, key: str, data: PutData, *, create_only: bool = False) -> None:
        action = self._next("put")
        if action == "fail":
            raise TransientError(f"scripted failure of put {key!r}")
        self.inner.put(key, data, create_only=create_only)
        if action == "lost":
            raise StorageTimeoutError(f"scripted timeout of put {key!r}")

    def get(self, key: str) -> bytes:
        if self._next("get") == "fail":
            raise TransientError(f"scripted failure of get {key!r}")
        return self.inner.get(key)

    def get_range(self, key: str, start: int, end: int) -> bytes:
        action = self._next("get_range")
        if action == "fail":
            raise TransientError(f"scripted failure of get_range {key!r}")
        data = self.inner.get_range(key, start, end)
        return data[: len(data) // 2] if action == "short" else data

    def head(self, key: str) -> ObjectInfo:
        if self._next("head") == "fail":
            raise TransientError(f"scripted failure of head {key!r}")
        return self.inner.head(key)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        action = self._next("list")
        for n, info in enumerate(self.inner.list(prefix)):
            if action == "fail" or (action == "break" and n == 1):
                raise TransientError(f"scripted failure of list {prefix!r}")
            yield info
        if action == "fail":
            raise TransientError(f"scripted failure of list {prefix!r}")


def retrying(inner: Backend, max_retries: int = 3) -> tuple[RetryingBackend, list[float]]:
    """A retry layer that records its sleeps instead of sleeping."""
    sleeps: list[float] = []
    policy = RetryPolicy(max_retries=max_retries, init_backoff=0.01, max_backoff=0.03)
    layer = RetryingBackend(inner, policy, sleep=sleeps.append, rng=random.Random(7))
    return layer, sleeps


# -- plain retries -------------------------------------------------------------


def test_idempotent_ops_are_retried_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    inner = Scripted(get=["fail", "fail"], head=["fail"])
    layer, sleeps = retrying(inner)
    inner.inner.put("k", b"value")
    with caplog.at_level(logging.WARNING, logger="capsa.retry"):
        assert layer.get("k") == b"value"
        assert layer.head("k").size == 5
    stats = layer.retry_stats
    assert stats.calls == {"get": 1, "head": 1}
    assert stats.failures == stats.retries == {"get": 2, "head": 1}
    assert stats.gave_up == {} and stats.most_attempts == 3
    assert len(sleeps) == 3 and all(0 <= s <= 0.03 for s in sleeps)
    messages = [r.getMessage() for r in caplog.records if r.name == "capsa.retry"]
    assert len(messages) == 3
    assert "get of 'k'" in messages[0] and "attempt 1/4" in messages[0]
    assert "attempt 2/4" in messages[1] and "scripted failure of get 'k'" in messages[1]
    assert all(r.levelno == logging.WARNING for r in caplog.records)


def test_giving_up_names_op_key_and_attempts(caplog: pytest.LogCaptureFixture) -> None:
    inner = Scripted(get=["fail"] * 10)
    layer, sleeps = retrying(inner, max_retries=2)
    inner.inner.put("deep/key", b"v")
    with (
        caplog.at_level(logging.WARNING, logger="capsa.retry"),
        pytest.raises(
            TransientError, match=r"get of 'deep/key' in .* failed after 3 attempts"
        ) as info,
    ):
        layer.get("deep/key")
    assert isinstance(info.value.__cause__, TransientError)
    assert inner.calls["get"] == 3  # bounded: never more than max_retries + 1
    assert len(sleeps) == 2
    stats = layer.retry_stats
    assert stats.gave_up == {"get": 1} and stats.failures == {"get": 3}
    assert "giving up" in caplog.records[-1].getMessage()


def test_a_timeout_stays_a_timeout_when_given_up() -> None:
    from capsa.backends.faulty import FaultConfig, FaultyBackend

    faulty = FaultyBackend(
        MemoryBackend(f"t-{uuid.uuid4().hex[:8]}"),
        FaultConfig(fault_rate=1.0, faults=("timeout",), seed=1),
    )
    layer, _ = retrying(faulty, max_retries=1)
    with pytest.raises(StorageTimeoutError, match=r"head of 'x' .* after 2 attempts") as info:
        layer.head("x")
    assert isinstance(info.value, TimeoutError)


def test_missing_keys_are_not_retried() -> None:
    inner = Scripted()
    layer, sleeps = retrying(inner)
    with pytest.raises(ObjectNotFoundError):
        layer.get("nope")
    assert not layer.exists("nope")
    assert inner.calls == {"get": 1, "head": 1} and sleeps == []


# -- puts that may have landed --------------------------------------------------


def test_create_only_put_that_landed_before_its_timeout_succeeds() -> None:
    inner = Scripted(put=["lost"])
    layer, _ = retrying(inner)
    layer.put("m/_SUCCESS", b"manifest", create_only=True)  # no ObjectExistsError
    assert inner.inner.get("m/_SUCCESS") == b"manifest"
    stats = layer.retry_stats
    assert stats.recovered == {"put": 1} and stats.retries == {"put": 1}
    assert inner.calls["get"] == 1  # one read-back settled it


def test_create_only_put_finding_someone_elses_object_fails() -> None:
    inner = Scripted(put=["fail"])
    layer, _ = retrying(inner)

    original_put = inner.put

    def put_then_race(key: str, data: PutData, *, create_only: bool = False) -> None:
        try:
            original_put(key, data, create_only=create_only)
        finally:
            if not inner.inner.exists(key):  # a racing writer gets in between our attempts
                inner.inner.put(key, b"theirs")

    inner.put = put_then_race  # type: ignore[method-assign]
    with pytest.raises(ObjectExistsError):
        layer.put("race", b"ours", create_only=True)
    assert inner.inner.get("race") == b"theirs"
    assert layer.retry_stats.recovered == {}


def test_create_only_put_on_a_taken_key_is_not_read_back() -> None:
    inner = Scripted()
    inner.inner.put("taken", b"ours")
    layer, _ = retrying(inner)
    with pytest.raises(ObjectExistsError):
        layer.put("taken", b"ours", create_only=True)  # same bytes, but no attempt failed
    assert "get" not in inner.calls


def test_last_attempt_failing_after_an_earlier_one_landed_succeeds() -> None:
    inner = Scripted(put=["lost", "fail", "fail", "fail"])
    layer, _ = retrying(inner)
    layer.put("k", [b"chunk-1,", b"chunk-2"])  # an iterable of chunks is replayable too
    assert inner.inner.get("k") == b"chunk-1,chunk-2"
    stats = layer.retry_stats
    assert stats.recovered == {"put": 1} and stats.gave_up == {}
    assert stats.failures == {"put": 4} and stats.retries == {"put": 3}


def test_put_that_never_landed_gives_up() -> None:
    inner = Scripted(put=["fail"] * 4)
    layer, _ = retrying(inner)
    with pytest.raises(TransientError, match=r"put of 'k' .* after 4 attempts"):
        layer.put("k", b"v", create_only=True)
    assert not inner.inner.exists("k")
    assert layer.retry_stats.gave_up == {"put": 1}


# -- partial bodies and listings --------------------------------------------------


def test_short_ranged_read_is_retried_never_returned() -> None:
    inner = Scripted(get_range=["short", "short"])
    layer, _ = retrying(inner)
    inner.inner.put("r", b"0123456789")
    assert layer.get_range("r", 2, 8) == b"234567"
    assert inner.calls["get_range"] == 3 and inner.calls["head"] == 2
    assert layer.retry_stats.failures == {"get_range": 2}


def test_ranged_read_past_the_end_is_not_a_fault() -> None:
    inner = Scripted()
    layer, _ = retrying(inner)
    inner.inner.put("r", b"0123456789")
    assert layer.get_range("r", 8, 100) == b"89"
    assert layer.get_range("r", 0, 4) == b"0123"
    assert inner.calls.get("head") == 1  # asked only when the body came back short
    assert layer.retry_stats.failures == {}


def test_reader_streams_through_retried_ranges() -> None:
    inner = Scripted(get_range=["short", "fail", "short"])
    layer, _ = retrying(inner)
    data = bytes(range(256)) * 64
    inner.inner.put("big", data)
    with layer.open_reader("big") as fh:
        assert fh.read() == data
    assert layer.retry_stats.failures == {"get_range": 3}


def test_list_is_retried_before_its_first_object_only() -> None:
    inner = Scripted(list=["fail", "ok", "break"])
    layer, _ = retrying(inner)
    for key in ("p/a", "p/b", "p/c"):
        inner.inner.put(key, b"x")
    assert [i.key for i in layer.list("p/")] == ["p/a", "p/b", "p/c"]  # first failure retried
    seen = []
    with pytest.raises(TransientError, match=r"list of 'p/' .* after yielding 1 objects"):
        for info in layer.list("p/"):
            seen.append(info.key)
    assert seen == ["p/a"]  # never repeated
    stats = layer.retry_stats
    assert stats.retries == {"list": 1} and stats.gave_up == {"list": 1}


# -- policy and options -------------------------------------------------------------


def test_backoff_is_bounded_jittered_and_growing() -> None:
    policy = RetryPolicy(max_retries=8, init_backoff=0.1, backoff_base=2, max_backoff=0.5)
    rng = random.Random(3)
    for retry, cap in ((1, 0.1), (2, 0.2), (3, 0.4), (4, 0.5), (8, 0.5)):
        delays = [policy.delay(retry, rng) for _ in range(200)]
        assert all(0 <= d <= cap for d in delays)
        assert max(delays) > cap * 0.8  # spread over the whole range (full jitter)
        assert len(set(delays)) > 150
    assert RetryPolicy(max_retries=2000, init_backoff=1).delay(2000, rng) <= 2.0


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"max_retries": -1}, r"option 'max_retries' must be a whole number >= 0, got -1"),
        ({"max_retries": 1.5}, r"'max_retries'"),
        ({"max_retries": True}, r"'max_retries'"),
        ({"init_backoff": "fast"}, r"option 'init_backoff' must be a number >= 0"),
        ({"max_backoff": -2}, r"'max_backoff'"),
        ({"backoff_base": 0.5}, r"option 'backoff_base' must be a number >= 1"),
        ({"init_backoff": float("nan")}, r"'init_backoff'"),
    ],
)
def test_bad_retry_options_name_the_option(options: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        RetryPolicy.from_options(options)
    with pytest.raises(ConfigError, match=match):  # through open_store too, even unwrapped
        capsa.open_store(f"memory://opts-{uuid.uuid4().hex[:6]}", options=options)


def test_which_backends_are_wrapped(tmp_path: Path) -> None:
    memory = MemoryBackend(f"w-{uuid.uuid4().hex[:8]}")
    assert with_retries(memory, {}) is memory  # cannot fail transiently: no overhead
    assert with_retries(memory, {"max_retries": 5}) is memory
    local = capsa.open_store(str(tmp_path / "s"))
    assert type(local.backend) is LocalBackend
    assert local.retry_stats == RetryStats()

    flaky = Scripted()
    wrapped = with_retries(flaky, {"max_retries": 5, "init_backoff": 0})
    assert isinstance(wrapped, RetryingBackend) and wrapped.policy.max_retries == 5
    assert wrapped.url == flaky.url
    assert with_retries(wrapped, {}) is wrapped  # never twice

    flaky.retries_internally = True  # e.g. capsa-cloud on obstore
    assert with_retries(flaky, {}) is flaky


def test_wrapping_keeps_the_local_rename_protocol(tmp_path: Path) -> None:
    local = LocalBackend(tmp_path / "root")
    layer, _ = retrying(local)
    assert layer.supports_rename == local.supports_rename
    assert layer.io_concurrency == local.io_concurrency
    assert layer.local_path("a/b") == local.local_path("a/b")
    assert layer.join("a") == local.join("a")
    store = Store(layer, registry=get_registry())
    with store.transaction("t", "bundle") as tx:
        tx.write("a.txt", "a")
        tx.write("plots", {"p.svg": b"<svg/>"}, format="folder")
    assert store.load("t", verify=True)["a.txt"] == "a"
    assert (tmp_path / "root" / "t" / "a.txt").read_text() == "a"
    if local.supports_rename:  # committed by renaming the staging folder
        assert store.retry_stats.calls.get("put", 0) >= 1
    store.save("t2", "json", {"v": 1})
    assert store.verify().ok
    assert store.retry_stats.failures == {}
