"""Events passed to the ``capsa_artifact_committed`` hook."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from capsa.store.manifest import Manifest

if TYPE_CHECKING:
    from capsa.backends.base import Backend


@dataclass(frozen=True)
class CommitEvent:
    """An artifact was committed (its ``_SUCCESS`` marker is durable).

    :ivar store_url: URL of the store root.
    :ivar key: the key as the caller gave it.
    :ivar full_key: the key inside the backend, with the mode namespace.
    :ivar url: URL of the artifact prefix.
    :ivar mode: the store mode.
    :ivar manifest: the committed manifest.
    :ivar backend: the backend the store committed through (its options,
        credentials and wrappers), for listeners that write beside the
        artifact (the catalog); None when the event was built elsewhere.
    """

    store_url: str
    key: str
    full_key: str
    url: str
    mode: str
    manifest: Manifest
    backend: Backend | None = field(default=None, compare=False, repr=False)
