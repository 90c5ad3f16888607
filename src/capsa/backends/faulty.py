"""The ``faulty+<scheme>://`` wrapper: injects storage failures at a set rate (tests).

``faulty+memory://name`` is the ``memory://name`` backend with failures
injected in front of it; ``faulty+file:///tmp/x`` and ``faulty+s3://bucket``
work the same way. Options (store options, next to the inner backend's):

``fault_rate`` (0 to 1, default 0.1)
    Chance that an operation fails.
``faults`` (list or comma-separated string, default all four)
    Which failures to inject, among:

    * ``put``: a write (put, delete, a streamed writer's commit) fails before
      reaching the store; nothing is changed.
    * ``get``: a read (get, ranged get, head, list) fails; nothing is returned.
    * ``timeout``: any operation times out
      (:class:`~capsa.errors.StorageTimeoutError`). A write that timed out was
      *applied* half the time: the caller cannot know, the nasty case for
      create-only puts.
    * ``partial``: a body cut short. A ``get`` receives part of the object,
      then fails; a ranged get *silently returns fewer bytes* than it should
      (the retry layer must notice); a listing yields some objects, then
      fails; a replacing ``put`` leaves a truncated object, then fails. A
      create-only put is a conditional request, applied whole or not at all,
      so a partial one stores nothing.
``fault_ops`` (list or comma-separated string, default all six)
    Which operations may fail, among ``put``, ``delete``, ``get``,
    ``get_range``, ``head`` and ``list`` (e.g. ``["put"]`` to fault commits only).
``seed`` (integer, default none)
    Seeds the choices, so a run is reproducible (single-threaded).
``fail_after`` (integer >= 0, default 0)
    Operations that run before the first fault may be injected.

Every failure raised is a :class:`~capsa.errors.TransientError`.
:attr:`FaultyBackend.fault_stats` counts what was injected. Streamed writers
and readers are built on the wrapper's own ``put`` and ranged gets, so faults
reach them too; renames and syncs (local filesystems) are never faulted.
"""

from __future__ import annotations

import _thread
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, NoReturn

import msgspec

from capsa.backends.base import Backend, ObjectInfo, PutData
from capsa.backends.wrapper import WrapperBackend
from capsa.errors import ConfigError, StorageTimeoutError, TransientError

FAULT_KINDS = ("put", "get", "timeout", "partial")
"""Every failure the wrapper can inject, in documentation order."""

FAULT_OPS = ("put", "delete", "get", "get_range", "head", "list")
"""Every operation a failure can be injected into."""

_READ_FAULTS = frozenset({"get", "timeout", "partial"})
_HEAD_FAULTS = frozenset({"get", "timeout"})  # no body to cut short
_WRITE_FAULTS = frozenset({"put", "timeout", "partial"})
_DELETE_FAULTS = frozenset({"put", "timeout"})


class FaultConfig(msgspec.Struct, frozen=True, kw_only=True):
    """What to inject, decoded from the store options by :meth:`from_options`.

    :ivar fault_rate: chance, from 0 to 1, that an operation fails.
    :ivar faults: the kinds of failure to inject (see :data:`FAULT_KINDS`).
    :ivar ops: the operations that may fail (see :data:`FAULT_OPS`).
    :ivar seed: seed of the choices (``None``: different every run).
    :ivar fail_after: operations allowed to run before the first fault.
    """

    fault_rate: float = 0.1
    faults: tuple[str, ...] = FAULT_KINDS
    ops: tuple[str, ...] = FAULT_OPS
    seed: int | None = None
    fail_after: int = 0

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> FaultConfig:
        """Validate the fault options; a bad one raises :class:`ConfigError` naming it."""
        rate = options.get("fault_rate", 0.1)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ConfigError(f"option 'fault_rate' must be a number from 0 to 1, got {rate!r}")
        faults = _names(options, "faults", FAULT_KINDS, "fault")
        ops = _names(options, "fault_ops", FAULT_OPS, "operation")
        seed = options.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ConfigError(f"option 'seed' must be an integer, got {seed!r}")
        fail_after = options.get("fail_after", 0)
        if isinstance(fail_after, bool) or not isinstance(fail_after, int) or fail_after < 0:
            raise ConfigError(
                f"option 'fail_after' must be a whole number >= 0, got {fail_after!r}"
            )
        return cls(fault_rate=float(rate), faults=faults, ops=ops, seed=seed, fail_after=fail_after)


def _names(
    options: Mapping[str, Any], option: str, known: tuple[str, ...], what: str
) -> tuple[str, ...]:
    """Read a list (or comma-separated string) of names out of ``known``, in ``known``'s order."""
    raw = options.get(option, known)
    if isinstance(raw, str):
        raw = [part.strip() for part in raw.split(",") if part.strip()]
    if not isinstance(raw, list | tuple) or not all(isinstance(n, str) for n in raw):
        raise ConfigError(
            f"option {option!r} must be a list of {what} names ({', '.join(known)}), got {raw!r}"
        )
    unknown = [n for n in raw if n not in known]
    if unknown:
        raise ConfigError(
            f"option {option!r}: unknown {what} {unknown[0]!r}; expected some of {', '.join(known)}"
        )
    return tuple(n for n in known if n in raw)  # deduplicated, in a fixed order


class FaultStats(msgspec.Struct, frozen=True, kw_only=True):
    """What a :class:`FaultyBackend` did: a snapshot, see :attr:`FaultyBackend.fault_stats`.

    :ivar ops: operations received, by operation (``put``, ``get``, ``get_range``,
        ``head``, ``list``, ``delete``).
    :ivar injected: faults injected, by kind (``put``, ``get``, ``timeout``, ``partial``).
    :ivar by_op: faults injected, by operation.
    :ivar applied: writes that changed the store although they reported a
        failure (a timed-out write that was applied, a truncated put).
    """

    ops: dict[str, int] = msgspec.field(default_factory=dict)
    injected: dict[str, int] = msgspec.field(default_factory=dict)
    by_op: dict[str, int] = msgspec.field(default_factory=dict)
    applied: int = 0

    @property
    def total(self) -> int:
        """Faults injected in all."""
        return sum(self.injected.values())


class FaultyBackend(WrapperBackend):
    """Injects failures in front of another backend; see the module documentation."""

    schemes: ClassVar[tuple[str, ...]] = ("faulty",)
    description: ClassVar[str] = "injects failures at a set rate: faulty+<scheme>://... (tests)"
    option_names: ClassVar[frozenset[str]] = frozenset(
        {"fault_rate", "faults", "fault_ops", "seed", "fail_after"}
    )

    def __init__(self, inner: Backend, config: FaultConfig | None = None):
        """Wrap ``inner``; ``config`` says what to inject (default: :class:`FaultConfig`)."""
        import random  # at open time, not at plugin discovery

        super().__init__(inner, name="faulty")
        self.config = config or FaultConfig()
        """What is injected."""
        self.can_fail_transiently = True
        self.retries_internally = False  # faults land above any retries of the inner backend
        self._rng = random.Random(self.config.seed)
        self._lock = _thread.allocate_lock()
        self._count = 0
        self._ops: Counter[str] = Counter()
        self._injected: Counter[str] = Counter()
        self._by_op: Counter[str] = Counter()
        self._applied = 0

    @classmethod
    def wrap(cls, inner: Backend, options: Mapping[str, Any]) -> FaultyBackend:
        """Wrap ``inner`` with the fault options found in ``options``."""
        return cls(inner, FaultConfig.from_options(options))

    def native(self, op: str) -> bool:
        """Writers, readers and ``exists`` go through this wrapper, so faults reach them."""
        if op in ("exists", "open_writer", "open_reader"):
            return False
        return super().native(op)

    @property
    def fault_stats(self) -> FaultStats:
        """A snapshot of what was injected so far."""
        with self._lock:
            return FaultStats(
                ops=dict(self._ops),
                injected=dict(self._injected),
                by_op=dict(self._by_op),
                applied=self._applied,
            )

    # -- choosing ----------------------------------------------------------------

    def _draw(self, op: str, possible: frozenset[str]) -> tuple[str | None, float]:
        """Count the operation; return the fault to inject (or None) and a spare draw."""
        with self._lock:
            self._ops[op] += 1
            self._count += 1
            if self._count <= self.config.fail_after or op not in self.config.ops:
                return None, 0.0
            if self._rng.random() >= self.config.fault_rate:
                return None, 0.0
            choices = [f for f in self.config.faults if f in possible]
            if not choices:
                return None, 0.0
            return self._rng.choice(choices), self._rng.random()

    def _record(self, kind: str, op: str, *, applied: bool = False) -> None:
        with self._lock:
            self._injected[kind] += 1
            self._by_op[op] += 1
            self._applied += applied

    def _fail(
        self, kind: str, op: str, key: str, detail: str, *, applied: bool = False
    ) -> NoReturn:
        self._record(kind, op, applied=applied)
        message = f"injected {kind} fault: {op} of {key!r} in {self.url} {detail}"
        if kind == "timeout":
            raise StorageTimeoutError(message)
        raise TransientError(message)

    # -- writes ------------------------------------------------------------------

    def put(self, key: str, data: PutData, *, create_only: bool = False) -> None:
        """Put, unless a fault is drawn (see the module documentation)."""
        fault, spare = self._draw("put", _WRITE_FAULTS)
        if fault is None:
            self.inner.put(key, data, create_only=create_only)
        elif fault == "put":
            self._fail(fault, "put", key, "failed (nothing stored)")
        elif fault == "timeout":
            applied = spare < 0.5
            if applied:
                try:
                    self.inner.put(key, data, create_only=create_only)
                except Exception:  # the answer (even "exists") is lost in the timeout
                    applied = False
            self._fail(fault, "put", key, "timed out", applied=applied)
        else:  # partial
            blob = (
                bytes(data) if isinstance(data, bytes | bytearray | memoryview) else b"".join(data)
            )
            cut = int(len(blob) * spare)
            if create_only or not blob:
                self._fail(fault, "put", key, f"was cut after {cut} of {len(blob)} bytes")
            self.inner.put(key, blob[:cut])
            self._fail(
                fault,
                "put",
                key,
                f"was cut after {cut} of {len(blob)} bytes (a truncated object was stored)",
                applied=True,
            )

    def delete(self, key: str) -> None:
        """Delete, unless a fault is drawn (a timed-out delete was applied half the time)."""
        fault, spare = self._draw("delete", _DELETE_FAULTS)
        if fault is None:
            self.inner.delete(key)
        elif fault == "timeout":
            applied = spare < 0.5
            if applied:
                self.inner.delete(key)
            self._fail(fault, "delete", key, "timed out", applied=applied)
        else:
            self._fail(fault, "delete", key, "failed (nothing deleted)")

    # -- reads -------------------------------------------------------------------

    def get(self, key: str) -> bytes:
        """Get, unless a fault is drawn; a partial body fails after part of the object."""
        fault, spare = self._draw("get", _READ_FAULTS)
        if fault is None:
            return self.inner.get(key)
        if fault == "partial":
            data = self.inner.get(key)  # a missing key fails as it should
            got = int(len(data) * spare)
            self._fail(fault, "get", key, f"body was cut after {got} of {len(data)} bytes")
        self._fail(fault, "get", key, "timed out" if fault == "timeout" else "failed")

    def get_range(self, key: str, start: int, end: int) -> bytes:
        """Ranged get, unless a fault is drawn; a partial one returns too few bytes, silently."""
        fault, spare = self._draw("get_range", _READ_FAULTS)
        if fault is None:
            return self.inner.get_range(key, start, end)
        if fault == "partial":
            data = self.inner.get_range(key, start, end)
            if not data:
                return data  # nothing to cut: no fault
            self._record(fault, "get_range")
            return data[: int(len(data) * spare)]
        self._fail(fault, "get_range", key, "timed out" if fault == "timeout" else "failed")

    def head(self, key: str) -> ObjectInfo:
        """Head, unless a fault is drawn."""
        fault, _ = self._draw("head", _HEAD_FAULTS)
        if fault is not None:
            self._fail(fault, "head", key, "timed out" if fault == "timeout" else "failed")
        return self.inner.head(key)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """List, unless a fault is drawn; a partial listing fails after some objects."""
        fault, spare = self._draw("list", _READ_FAULTS)
        if fault is None:
            return self.inner.list(prefix)
        return self._faulty_list(prefix, fault, spare)

    def _faulty_list(self, prefix: str, fault: str, spare: float) -> Iterator[ObjectInfo]:
        if fault == "partial":
            keep = 1 + int(spare * 8)  # a page or two came through
            sent = 0
            for info in self.inner.list(prefix):
                if sent == keep:
                    break
                yield info
                sent += 1
            self._fail(fault, "list", prefix, f"broke off after {sent} objects")
        self._fail(fault, "list", prefix, "timed out" if fault == "timeout" else "failed")
