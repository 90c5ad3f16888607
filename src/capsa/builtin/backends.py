"""Built-in backends: a local folder (plain path or ``file://``) and ``memory://``."""

from __future__ import annotations

from collections.abc import Callable

from capsa.backends.base import Backend
from capsa.backends.local import LocalBackend
from capsa.backends.memory import MemoryBackend
from capsa.markers import hookimpl


@hookimpl
def capsa_register_backends(register: Callable[[type[Backend]], None]) -> None:
    """Register the core backends."""
    register(LocalBackend)
    register(MemoryBackend)
