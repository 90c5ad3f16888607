"""The core's catalog listener: every commit is recorded in its store's catalog.

Registered through the ``capsa`` entry-point group like every built-in
plugin. It imports nothing heavy at discovery: the catalog code (and
sqlite3) is imported on the first commit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from capsa.markers import hookimpl

if TYPE_CHECKING:
    from capsa.store.events import CommitEvent


@hookimpl
def capsa_artifact_committed(event: CommitEvent) -> None:
    """Record the commit in the catalog (a failure warns; the save has succeeded)."""
    from capsa.catalog.listener import record_commit

    record_commit(event)
