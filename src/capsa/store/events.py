"""Events passed to the ``capsa_artifact_committed`` hook."""

from __future__ import annotations

from dataclasses import dataclass

from capsa.store.manifest import Manifest


@dataclass(frozen=True)
class CommitEvent:
    """An artifact was committed (its ``_SUCCESS`` marker is durable).

    :ivar store_url: URL of the store root.
    :ivar key: the key as the caller gave it.
    :ivar full_key: the key inside the backend, with the mode namespace.
    :ivar url: URL of the artifact prefix.
    :ivar mode: the store mode.
    :ivar manifest: the committed manifest.
    """

    store_url: str
    key: str
    full_key: str
    url: str
    mode: str
    manifest: Manifest
