"""Helpers for the content-addressed object tests: ageing objects behind capsa's back."""

from __future__ import annotations

import os
import time

from capsa.backends.memory import MemoryBackend
from capsa.store.store import Store


def age(store: Store, key: str, seconds: float) -> None:
    """Make the object at ``key`` look ``seconds`` old (to test grace periods without sleeping)."""
    backend = store.backend
    then = time.time() - seconds
    path = backend.local_path(key)
    if path is not None:
        os.utime(path, (then, then))
        return
    assert isinstance(backend, MemoryBackend)
    blob, _ = backend._objects[key]
    backend._objects[key] = (blob, then)


def age_prefix(store: Store, prefix: str, seconds: float) -> None:
    """Age every object under ``prefix``."""
    for info in list(store.backend.list(prefix)):
        age(store, info.key, seconds)
