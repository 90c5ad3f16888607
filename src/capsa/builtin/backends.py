"""Built-in backends: a local folder, ``memory://``, and the ``faulty`` wrapper.

A local folder is a plain path or a ``file://`` URL; ``faulty+<scheme>://...``
injects storage failures in front of another backend (for tests).
"""

from __future__ import annotations

from collections.abc import Callable

from capsa.backends.base import Backend
from capsa.backends.faulty import FaultyBackend
from capsa.backends.local import LocalBackend
from capsa.backends.memory import MemoryBackend
from capsa.markers import hookimpl


@hookimpl
def capsa_register_backends(register: Callable[[type[Backend]], None]) -> None:
    """Register the core backends and the ``faulty`` wrapper."""
    register(LocalBackend)
    register(MemoryBackend)
    register(FaultyBackend)
