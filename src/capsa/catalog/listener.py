"""Keeping the catalog up to date: record every commit, never fail a save.

:func:`record_commit` is called for every ``capsa_artifact_committed`` event
by the core's ``core-catalog`` plugin (``capsa.builtin.catalog``). It finds
the store's catalog (SQLite on a local root, records on an object store)
and, when the store has one, adds the commit's record. Any failure is a
:class:`~capsa.catalog.errors.CatalogWarning`: the artifact is committed
whatever happens here, and ``capsa reindex`` repairs the catalog.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from capsa.catalog.errors import CatalogWarning

if TYPE_CHECKING:
    from capsa.backends.base import Backend
    from capsa.store.events import CommitEvent


def _backend(event: CommitEvent) -> Backend | None:
    """The backend the commit went through; never a fresh one opened without its options.

    Opening the URL again without the store's options could pick up other
    credentials, or probe a cloud's metadata endpoint: a listener must not.
    """
    if event.backend is not None:
        return event.backend
    from capsa.store.store import live_backend

    return live_backend(event.store_url)


def record_commit(event: CommitEvent) -> bool:
    """Add the commit's record to its store's catalog; return True when recorded.

    Returns False when the store has no catalog (none was created there yet)
    or when recording failed (after a :class:`CatalogWarning`).
    """
    try:
        from capsa.catalog.open import catalog_for_backend
        from capsa.catalog.records import record_from_manifest
        from capsa.plugins.manager import get_registry

        backend = _backend(event)
        if backend is None:
            return False  # not our process's store: its own listener records it
        catalog = catalog_for_backend(backend)
        if not catalog.enabled(cached=True):
            return False  # no catalog in this store (yet): the first query builds it
        catalog.add(record_from_manifest(event.full_key, event.manifest, get_registry()))
        return True
    except Exception as exc:
        warnings.warn(
            f"capsa catalog: the commit of {event.key!r} in {event.store_url} was not "
            f"recorded ({type(exc).__name__}: {exc}); the artifact is committed, and "
            "`capsa reindex` brings the catalog up to date",
            CatalogWarning,
            stacklevel=2,
        )
        return False


__all__ = ["record_commit"]
