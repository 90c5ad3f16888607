"""Bounded concurrent I/O: many small requests at once, never more than a backend wants.

Object stores answer one small request in milliseconds of latency; a thousand
members written one after another spend almost all their time waiting.
:func:`map_bounded` runs a blocking function over many items on a small pool
of threads (obstore releases the GIL while it waits), at most
``Backend.io_concurrency`` at a time. On a local folder that value is 1 and
everything stays on the calling thread, in order, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

_PREFIX = "capsa-io"

T = TypeVar("T")
R = TypeVar("R")


def map_bounded(fn: Callable[[T], R], items: Iterable[T], limit: int) -> list[R]:
    """Return ``[fn(item) for item in items]``, running at most ``limit`` calls at once.

    Results keep the order of ``items``. When a call raises, calls not yet
    started are cancelled, calls in flight are waited for (so nothing is
    still writing when the caller cleans up), and the first exception is
    raised. ``limit <= 1`` (or a single item) runs sequentially on the
    calling thread, and so does a call made from inside another
    ``map_bounded`` (the outer pool already bounds the concurrency).
    """
    todo = list(items)
    nested = threading.current_thread().name.startswith(_PREFIX)
    if limit <= 1 or len(todo) <= 1 or nested:  # nested: the outer pool is the bound
        return [fn(item) for item in todo]
    slots = threading.BoundedSemaphore(limit)
    failed = threading.Event()
    futures: list[Future[R]] = []

    def call(item: T) -> R:
        try:
            if failed.is_set():
                raise _Cancelled
            return fn(item)
        except BaseException:
            failed.set()
            raise
        finally:
            slots.release()

    workers = min(limit, len(todo))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=_PREFIX) as pool:
        for item in todo:
            slots.acquire()
            if failed.is_set():
                slots.release()
                break
            futures.append(pool.submit(call, item))
    # The pool's exit waited for every call in flight.
    for future in futures:
        exc = future.exception()
        if exc is not None and not isinstance(exc, _Cancelled):
            raise exc
    return [future.result() for future in futures]


class _Cancelled(Exception):
    """A call skipped because an earlier one failed (never escapes map_bounded)."""
