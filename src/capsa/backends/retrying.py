"""Bounded, reported retries of transient storage failures: :class:`RetryingBackend`.

:func:`capsa.open_store` wraps a backend in a :class:`RetryingBackend` when
the backend says its operations can fail transiently
(``can_fail_transiently = True``, e.g. ``faulty+...``) and that nothing below
retries them already (``retries_internally = False``; capsa-cloud's obstore
backends retry inside obstore and set it True). Local folders and
``memory://`` can do neither and are never wrapped: their saves pay nothing.

The policy comes from the store options, under the names capsa-cloud uses
for obstore's own retries:

``max_retries`` (default 3)
    Attempts after the first; an operation is tried at most
    ``max_retries + 1`` times.
``init_backoff`` (seconds, default 0.05), ``backoff_base`` (default 2), ``max_backoff`` (default 2)
    Before retry ``n`` the layer sleeps a uniformly random time between 0
    and ``min(max_backoff, init_backoff * backoff_base ** (n - 1))`` ("full
    jitter"), so that writers that failed together do not retry together.

What is retried, and how:

* ``get``, ``head``, ``delete``, a replacing ``put``: retried as they are
  (they are idempotent).
* ``get_range``: retried; a body shorter than asked is checked against the
  object's size (one ``head``, only when the body is short) and, when bytes
  are missing, is a failed attempt. Partial bodies are never returned as
  data. A whole-object ``get`` has no size to check it against without an
  extra request: the backend must raise on a short body (HTTP clients check
  ``Content-Length``), and capsa checks every member's size and sha256
  against its manifest when it reads it.
* ``list``: retried only if it fails before its first object; a listing that
  breaks later raises (restarting would repeat objects the caller has seen).
* A **create-only** ``put`` that failed may have been applied by the server.
  When a later attempt finds the key taken, the object is read back and
  compared with the bytes sent: equal means the earlier attempt landed
  (success), different means someone else's object
  (:class:`~capsa.errors.ObjectExistsError`).
* Every ``put``, when its last attempt fails, reads the object back once: if
  it holds exactly the bytes sent, an attempt landed and the put succeeds.
* Streamed writers: a backend whose writers are the buffered default gets
  writers that put through this layer at commit (the buffer is the replay,
  nothing is held twice). A backend with its own streaming writer (a
  multipart upload, a local temporary file) keeps it, not retried: it must
  retry its parts itself. The same goes for a backend's own readers.
* ``rename_prefix`` and ``sync_prefix`` are not retried (local filesystems).

Reporting: :attr:`RetryingBackend.retry_stats` counts calls, failed
attempts, retries, give-ups and read-back recoveries per operation (also
:attr:`capsa.store.store.Store.retry_stats`); each retry is logged on the
``capsa.retry`` logger at WARNING with the operation, key, attempt ``n/max``
and the error. When the attempts run out, the last error is raised again as
a :class:`~capsa.errors.TransientError` (a
:class:`~capsa.errors.StorageTimeoutError` when it was a timeout) whose
message names the operation, the key and the number of attempts.
"""

from __future__ import annotations

import _thread
import datetime as _dt
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any, BinaryIO, NoReturn, TypeAlias, TypeVar

import msgspec

from capsa.backends.base import Backend, ObjectInfo, PutData
from capsa.backends.wrapper import WrapperBackend
from capsa.errors import (
    ConfigError,
    ObjectExistsError,
    ObjectNotFoundError,
    StorageTimeoutError,
    TransientError,
)

logger = logging.getLogger("capsa.retry")
"""Where retries and give-ups are logged (WARNING)."""

RETRY_OPTIONS = frozenset({"max_retries", "init_backoff", "max_backoff", "backoff_base"})
"""Store options read by :meth:`RetryPolicy.from_options`."""

T = TypeVar("T")


def _number(options: Mapping[str, Any], name: str, default: float, *, least: float) -> float:
    value = options.get(name, default)
    if isinstance(value, _dt.timedelta):
        value = value.total_seconds()
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < least
    ):
        raise ConfigError(f"option {name!r} must be a number >= {least:g}, got {value!r}")
    return float(value)


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How often and how patiently to retry; see the module documentation.

    :ivar max_retries: attempts after the first.
    :ivar init_backoff: seconds, the cap of the first backoff.
    :ivar backoff_base: factor by which the cap grows per retry.
    :ivar max_backoff: seconds, the largest cap.
    """

    max_retries: int = 3
    init_backoff: float = 0.05
    backoff_base: float = 2.0
    max_backoff: float = 2.0

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> RetryPolicy:
        """Read the retry options; a bad one raises :class:`ConfigError` naming it."""
        retries = options.get("max_retries", 3)
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigError(f"option 'max_retries' must be a whole number >= 0, got {retries!r}")
        return cls(
            max_retries=retries,
            init_backoff=_number(options, "init_backoff", 0.05, least=0),
            backoff_base=_number(options, "backoff_base", 2.0, least=1),
            max_backoff=_number(options, "max_backoff", 2.0, least=0),
        )

    @property
    def attempts(self) -> int:
        """The most attempts one operation gets."""
        return self.max_retries + 1

    def delay(self, retry: int, rng: random.Random) -> float:
        """Seconds to sleep before retry number ``retry`` (1 for the first): full jitter."""
        cap = min(self.max_backoff, self.init_backoff * self.backoff_base ** min(retry - 1, 64))
        return rng.uniform(0.0, cap)


class RetryStats(msgspec.Struct, frozen=True, kw_only=True):
    """What the retry layer did: a snapshot, per operation (``put``, ``get``, ``list`` ...).

    :ivar max_retries: the policy's bound (0 for a store without the layer).
    :ivar calls: operations started.
    :ivar failures: attempts that failed with a transient error.
    :ivar retries: attempts made after a failed one.
    :ivar gave_up: operations that raised after their last attempt failed.
    :ivar recovered: puts found applied by reading the object back after a
        failed attempt (the key taken by our own bytes, or the last attempt failed
        but an earlier one had landed).
    :ivar most_attempts: the most attempts any one operation took (at most
        ``max_retries + 1``).
    """

    max_retries: int = 0
    calls: dict[str, int] = msgspec.field(default_factory=dict)
    failures: dict[str, int] = msgspec.field(default_factory=dict)
    retries: dict[str, int] = msgspec.field(default_factory=dict)
    gave_up: dict[str, int] = msgspec.field(default_factory=dict)
    recovered: dict[str, int] = msgspec.field(default_factory=dict)
    most_attempts: int = 0

    @property
    def total_failures(self) -> int:
        """Failed attempts in all."""
        return sum(self.failures.values())

    @property
    def total_retries(self) -> int:
        """Retries in all."""
        return sum(self.retries.values())

    @property
    def total_gave_up(self) -> int:
        """Operations given up in all."""
        return sum(self.gave_up.values())


def with_retries(backend: Backend, options: Mapping[str, Any]) -> Backend:
    """Return ``backend`` wrapped in a :class:`RetryingBackend` when it needs one.

    It does when it can fail transiently and does not retry internally. The
    retry options are validated whenever capsa would read them (a backend
    that retries internally reads its own).
    """
    if getattr(backend, "retries_internally", False):
        return backend
    transient = bool(getattr(backend, "can_fail_transiently", False))
    if not transient and not RETRY_OPTIONS & options.keys():
        return backend
    policy = RetryPolicy.from_options(options)
    return RetryingBackend(backend, policy) if transient else backend


_Payload: TypeAlias = bytes | bytearray | memoryview | list[bytes]
"""A put's data, held so that it can be sent again."""


def _same(stored: bytes, sent: _Payload) -> bool:
    if isinstance(sent, list):
        return len(stored) == sum(len(c) for c in sent) and stored == b"".join(sent)
    return stored == sent


class _Attempts:
    """The attempts of one operation: counts them, logs, sleeps, gives up."""

    __slots__ = ("backend", "key", "n", "op")

    def __init__(self, backend: RetryingBackend, op: str, key: str):
        self.backend = backend
        self.op = op
        self.key = key
        self.n = 1
        backend._count("calls", op)

    def exhausted(self) -> bool:
        """True when the attempt in progress is the last one allowed."""
        return self.n >= self.backend.policy.attempts

    def failed(self, exc: TransientError, *, retryable: bool = True, note: str = "") -> None:
        """Record a failed attempt: back off and return, or raise the give-up error."""
        if not retryable or self.exhausted():
            self.give_up(exc, note=note)
        backend = self.backend
        backend._count("failures", self.op)
        backend._count("retries", self.op)
        delay = backend.policy.delay(self.n, backend._rng)
        logger.warning(
            "%s of %r in %s failed (attempt %d/%d): %s: %s; retrying in %.3f s",
            self.op,
            self.key,
            backend.url,
            self.n,
            backend.policy.attempts,
            type(exc).__name__,
            exc,
            delay,
            extra={"capsa_op": self.op, "capsa_key": self.key, "capsa_attempt": self.n},
        )
        if delay > 0:
            backend._sleep(delay)
        self.n += 1

    def give_up(
        self, exc: TransientError, *, note: str = "", count_failure: bool = True
    ) -> NoReturn:
        """Record the last failed attempt and raise the error that reports it."""
        backend = self.backend
        if count_failure:
            backend._count("failures", self.op)
        backend._count("gave_up", self.op)
        backend._attempts_taken(self.n)
        plural = "s" if self.n != 1 else ""
        message = (
            f"{self.op} of {self.key!r} in {backend.url} failed after {self.n} attempt{plural} "
            f"(max_retries={backend.policy.max_retries}){note}: {type(exc).__name__}: {exc}"
        )
        logger.warning("giving up: %s", message, extra={"capsa_op": self.op, "capsa_key": self.key})
        cls = StorageTimeoutError if isinstance(exc, StorageTimeoutError) else TransientError
        raise cls(message) from exc

    def done(self, *, recovered: bool = False, last_failed: bool = False) -> None:
        """Record success (``recovered``: established by reading the object back)."""
        if last_failed:
            self.backend._count("failures", self.op)
        if recovered:
            self.backend._count("recovered", self.op)
        self.backend._attempts_taken(self.n)


class RetryingBackend(WrapperBackend):
    """Retries transient failures of the backend it wraps; see the module documentation.

    :param inner: the backend to wrap.
    :param policy: bounds and backoff (default: :class:`RetryPolicy`).
    :param sleep: how to wait between attempts (tests pass a recorder).
    :param rng: source of the jitter.
    """

    def __init__(
        self,
        inner: Backend,
        policy: RetryPolicy | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ):
        super().__init__(inner)  # same URL: the layer is invisible in names
        self.policy = policy or RetryPolicy()
        """The retry bounds and backoff."""
        self.retries_internally = True
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lock = _thread.allocate_lock()
        self._stats: dict[str, Counter[str]] = {
            name: Counter() for name in ("calls", "failures", "retries", "gave_up", "recovered")
        }
        self._most_attempts = 0

    @classmethod
    def wrap(cls, inner: Backend, options: Mapping[str, Any]) -> RetryingBackend:
        """Wrap ``inner`` with the policy read from ``options``."""
        return cls(inner, RetryPolicy.from_options(options))

    # -- reporting -----------------------------------------------------------------

    def _count(self, counter: str, op: str) -> None:
        with self._lock:
            self._stats[counter][op] += 1

    def _attempts_taken(self, n: int) -> None:
        with self._lock:
            self._most_attempts = max(self._most_attempts, n)

    @property
    def retry_stats(self) -> RetryStats:
        """A snapshot of the counts so far."""
        with self._lock:
            s = self._stats
            return RetryStats(
                max_retries=self.policy.max_retries,
                calls=dict(s["calls"]),
                failures=dict(s["failures"]),
                retries=dict(s["retries"]),
                gave_up=dict(s["gave_up"]),
                recovered=dict(s["recovered"]),
                most_attempts=self._most_attempts,
            )

    # -- the loop ------------------------------------------------------------------

    def _call(self, op: str, key: str, fn: Callable[[], T]) -> T:
        """Run an idempotent operation with retries."""
        attempts = _Attempts(self, op, key)
        while True:
            try:
                result = fn()
            except TransientError as exc:
                attempts.failed(exc)
                continue
            attempts.done()
            return result

    # -- operations ----------------------------------------------------------------

    def get(self, key: str) -> bytes:
        """Get, retried."""
        return self._call("get", key, lambda: self.inner.get(key))

    def head(self, key: str) -> ObjectInfo:
        """Head, retried."""
        return self._call("head", key, lambda: self.inner.head(key))

    def delete(self, key: str) -> None:
        """Delete, retried (deleting a missing key is not an error)."""
        self._call("delete", key, lambda: self.inner.delete(key))

    def get_range(self, key: str, start: int, end: int) -> bytes:
        """Ranged get, retried; a body missing bytes the object has is a failed attempt."""
        want = max(0, end - start)
        attempts = _Attempts(self, "get_range", key)
        while True:
            try:
                data = self.inner.get_range(key, start, end)
            except TransientError as exc:
                attempts.failed(exc)
                continue
            if len(data) < want:  # the object's end, or bytes lost on the way?
                expected = max(0, min(end, self.head(key).size) - start)
                if len(data) < expected:
                    attempts.failed(
                        TransientError(
                            f"short read of {key!r} [{start}, {end}): "
                            f"{len(data)} of {expected} bytes"
                        )
                    )
                    continue
            attempts.done()
            return data

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """List, retried only while no object has been yielded."""
        attempts = _Attempts(self, "list", prefix)
        while True:
            sent = 0
            try:
                for info in self.inner.list(prefix):
                    yield info
                    sent += 1
            except TransientError as exc:
                attempts.failed(
                    exc,
                    retryable=sent == 0,
                    note=f" after yielding {sent} objects (a listing is retried only "
                    "before its first object)"
                    if sent
                    else "",
                )
                continue
            attempts.done()
            return

    def put(self, key: str, data: PutData, *, create_only: bool = False) -> None:
        """Put, retried; a put that may have landed is settled by reading it back."""
        payload: _Payload
        if isinstance(data, bytes | bytearray | memoryview):
            payload = data
        else:
            payload = [bytes(chunk) for chunk in data]  # replayable
        attempts = _Attempts(self, "put", key)
        failed_before = False
        while True:
            try:
                self.inner.put(key, payload, create_only=create_only)
            except TransientError as exc:
                if attempts.exhausted():
                    # Out of attempts, but one of them may have landed.
                    try:
                        landed = self._landed(key, payload)
                    except TransientError:
                        attempts.give_up(exc, note=" (reading it back failed too: outcome unknown)")
                    if landed:
                        attempts.done(recovered=True, last_failed=True)
                        return
                failed_before = True
                attempts.failed(exc)
                continue
            except ObjectExistsError:
                if not (create_only and failed_before):
                    attempts.done()
                    raise
                # A failed attempt may have been applied: is the object ours?
                try:
                    landed = self._landed(key, payload)
                except TransientError as exc:
                    attempts.give_up(
                        exc,
                        note=" (the key was taken after a failed attempt and reading it back "
                        "failed: outcome unknown)",
                        count_failure=False,
                    )
                attempts.done(recovered=landed)
                if landed:
                    return
                raise
            attempts.done()
            return

    def _landed(self, key: str, payload: _Payload) -> bool:
        """True when ``key`` holds exactly ``payload`` (read back through the retry loop)."""
        try:
            stored = self.get(key)
        except ObjectNotFoundError:
            return False
        return _same(stored, payload)

    # -- derived operations whose native form below is retried as a whole ----------

    def exists(self, key: str) -> bool:
        """Exists, retried (through ``head`` unless the inner backend checks natively)."""
        if self.native("exists"):
            return self._call("exists", key, lambda: self.inner.exists(key))
        try:
            self.head(key)
        except ObjectNotFoundError:
            return False
        return True

    def open_reader(self, key: str) -> BinaryIO:
        """Ranged gets through this layer, or the inner backend's own reader (opened, retried)."""
        if self.native("open_reader"):
            return self._call("open_reader", key, lambda: self.inner.open_reader(key))
        return super().open_reader(key)

    def delete_prefix(self, prefix: str) -> int:
        """List and delete through this layer, or the inner backend's own removal, retried."""
        if self.native("delete_prefix"):
            return self._call("delete_prefix", prefix, lambda: self.inner.delete_prefix(prefix))
        return super().delete_prefix(prefix)
