"""Helpers shared by the core tests (kept out of conftest so imports are unambiguous)."""

from __future__ import annotations

import os

from capsa.store.store import Store


def all_object_keys(store: Store) -> list[str]:
    """Every object in the backend (to prove nothing was written)."""
    return [info.key for info in store.backend.list("")]


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for child Python processes: no CAPSA_* leakage."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPSA_")}
    env.update(extra)
    return env
