"""Contention guards: let writers of one inventory take turns instead of colliding.

Correctness never depends on them (the version chain's create-only puts do
that); they only spare writers the wasted work of losing a race:

- writers in one process (threads) queue on a process-wide lock per inventory;
- writers in several processes on one machine queue on ``flock`` of a lock
  file inside the chain folder, when the backend has local paths.

Both are waited for at most until the caller's deadline; past it, the writer
goes on without them and relies on the chain alone. On object stores there
is no cross-process guard: writers retry with jittered exponential backoff.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator

from capsa.backends.base import Backend

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _thread_lock(name: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(name, threading.Lock())


_FDS: dict[tuple[int, str], int] = {}
"""Lock files kept open per process (an open costs more than the lock itself)."""


def _lock_fd(path: str) -> int:
    key = (os.getpid(), path)
    fd = _FDS.get(key)
    if fd is None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        _FDS[key] = fd
    return fd


@contextlib.contextmanager
def _flock(path: str, deadline: float) -> Iterator[bool]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield False
        return
    fd = _lock_fd(path)
    held = False
    try:
        delay = 0.0005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = True
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    break
                time.sleep(delay)
                delay = min(delay * 2, 0.02)
        yield held
    finally:
        if held:
            fcntl.flock(fd, fcntl.LOCK_UN)


@contextlib.contextmanager
def contention_guard(backend: Backend, prefix: str, deadline: float) -> Iterator[None]:
    """Take the in-process and (local backends) cross-process turn for ``prefix``."""
    lock = _thread_lock(f"{backend.url}|{prefix}")
    got = lock.acquire(timeout=max(0.0, deadline - time.monotonic()))
    try:
        local = backend.local_path(f"{prefix}/lock")
        if local is None:
            yield
        else:
            with _flock(str(local), deadline):
                yield
    finally:
        if got:
            lock.release()
