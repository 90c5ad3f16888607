"""Pins: how a save in flight tells ``gc`` which objects it is about to reference.

A save that stores a member by reference first writes a *pin*, a small
object at ``.capsa/pins/<txid>/<digest>``, and only then checks for, or
writes, the object itself. ``gc`` never deletes an object that a pin younger
than the grace period names, even when no committed manifest references it
yet (the object may be old: an unreferenced object left by a deleted
artifact that the save is reusing).

Pins outlive the save's commit and are removed by ``gc`` once they are older
than the grace period: until then, they cover the time between the moment a
``gc`` listed the store's markers and the moment it reads the pins (see
:mod:`capsa.objects.gc` for the whole protocol).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from capsa.objects.store import check_digest
from capsa.store.keys import INTERNAL_PREFIX

if TYPE_CHECKING:
    from capsa.backends.base import Backend

PINS_PREFIX = f"{INTERNAL_PREFIX}/pins"
"""Where pins live in a backend root: ``.capsa/pins/<txid>/<digest>``."""


def pin_key(txid: str, digest: str) -> str:
    """The key of the pin of ``digest`` held by the save ``txid``."""
    check_digest(digest)
    return f"{PINS_PREFIX}/{txid}/{digest}"


def parse_pin_key(key: str) -> tuple[str, str] | None:
    """``(txid, digest)`` of a pin key, or None when ``key`` is not one."""
    if not key.startswith(PINS_PREFIX + "/"):
        return None
    parts = key[len(PINS_PREFIX) + 1 :].split("/")
    if len(parts) != 2 or not parts[0]:
        return None
    try:
        return parts[0], check_digest(parts[1])
    except ValueError:
        return None


class Pins:
    """The pins of one save (one transaction id), refreshed when they get old."""

    def __init__(self, backend: Backend, txid: str):
        self.backend = backend
        self.txid = txid
        self._written: dict[str, float] = {}  # digest -> time.monotonic() of its last put

    @property
    def prefix(self) -> str:
        """The prefix holding this save's pins."""
        return f"{PINS_PREFIX}/{self.txid}"

    @property
    def digests(self) -> list[str]:
        """The digests pinned so far."""
        return sorted(self._written)

    def pin(self, digest: str) -> None:
        """Pin ``digest`` (idempotent); call before looking for or writing the object."""
        if digest in self._written:
            return
        self.backend.put(pin_key(self.txid, digest), b"")
        self._written[digest] = time.monotonic()

    def refresh(self, older_than: float) -> int:
        """Put again the pins written more than ``older_than`` seconds ago; return how many."""
        now = time.monotonic()
        stale = [d for d, at in self._written.items() if now - at > older_than]
        for digest in stale:
            self.backend.put(pin_key(self.txid, digest), b"")
            self._written[digest] = time.monotonic()
        return len(stale)


def live_pins(backend: Backend, cutoff: float) -> set[str]:
    """Digests named by pins modified after ``cutoff`` (a ``time.time()`` value)."""
    pinned: set[str] = set()
    for info in backend.list(PINS_PREFIX + "/"):
        parsed = parse_pin_key(info.key)
        if parsed is not None and info.mtime > cutoff:
            pinned.add(parsed[1])
    return pinned


__all__ = ["PINS_PREFIX", "Pins", "live_pins", "parse_pin_key", "pin_key"]
