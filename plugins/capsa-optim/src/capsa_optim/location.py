"""Where a run (or an experiment) lives: a path or URL mapped to a store and a key.

``run_dir`` arguments accept:

* a local path (``"runs/run-7"``) or ``file://`` URL: the store root is the
  parent folder and the key is the last segment, so the run's files land in
  ``runs/run-7/`` exactly as the path says (``runs/run-7/trace.npz``);
* any capsa URL (``memory://space/runs/run-7``, ``s3://bucket/prefix/run-7``
  with capsa-cloud): the same rule, on that backend;
* a :class:`RunLocation` (a store you opened yourself, in any mode, and a
  key inside it), for development or test namespaces.

Stores opened from a path or URL are opened in ``production`` mode: a run
is written once, and saving over it raises
:class:`~capsa.errors.ArtifactExistsError` before any work is done. Use a
:class:`RunLocation` on a development store to overwrite while iterating.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from capsa.errors import InvalidKeyError

if TYPE_CHECKING:
    from capsa.store.store import Store


@dataclass(frozen=True)
class RunLocation:
    """A run (or experiment) inside an open store.

    :ivar store: the capsa store.
    :ivar key: the key inside it (``"runs/run-7"``); ``""`` only for an
        experiment rooted at the store root.
    """

    store: Store
    key: str

    @property
    def url(self) -> str:
        """URL of the artifact prefix (or of the store root for ``key == ""``)."""
        return self.store.url_for(self.key) if self.key else self.store.url

    def child(self, *parts: str) -> RunLocation:
        """The location ``key/part/...`` in the same store."""
        clean = [p.strip("/") for p in parts if p.strip("/")]
        key = "/".join([self.key, *clean] if self.key else clean)
        return RunLocation(self.store, key)

    def __str__(self) -> str:
        return self.url


RunDir = Union[str, "os.PathLike[str]", RunLocation]
"""What ``run_dir`` arguments accept: a path, a capsa URL, or a :class:`RunLocation`."""


def _split_url(text: str) -> tuple[str, str]:
    """Split ``scheme://root.../last`` (or a path) into (parent, last segment)."""
    if "://" in text:
        scheme, rest = text.split("://", 1)
        rest = rest.rstrip("/")
        if "/" not in rest.lstrip("/"):
            raise InvalidKeyError(
                f"run location {text!r} has no parent to act as the store root; "
                f"use {scheme}://<root>/<run>"
            )
        parent, last = rest.rsplit("/", 1)
        return f"{scheme}://{parent}", last
    stripped = text.rstrip("/\\") or text
    if os.path.basename(stripped) in ("", ".", ".."):
        raise InvalidKeyError(f"run_dir {text!r} does not end in a usable folder name")
    parent, last = os.path.split(os.path.abspath(os.path.expanduser(stripped)))
    return parent, last


def open_store_at(url: str) -> Store:
    """Open the store rooted at a path or URL, in production mode.

    Relative paths are made absolute first, so that a folder never resolves
    to a store *name* from the capsa configuration.
    """
    import capsa

    if "://" not in url and not url.startswith("file:"):
        url = os.path.abspath(os.path.expanduser(url))
    return capsa.open_store(url, mode="production")


def locate_run(run_dir: RunDir) -> RunLocation:
    """Resolve a ``run_dir`` argument to a :class:`RunLocation`.

    :raises InvalidKeyError: the path or URL has no usable last segment
        (``""``, ``.``, ``..``) or no parent to act as the store root.
    :raises UnknownBackendError: no installed backend serves the URL scheme.
    """
    if isinstance(run_dir, RunLocation):
        if not run_dir.key:
            raise InvalidKeyError("a run location needs a non-empty key")
        return run_dir
    if not isinstance(run_dir, str | os.PathLike):
        raise InvalidKeyError(
            f"run_dir must be a path, a capsa URL or a RunLocation, got {type(run_dir).__name__}"
        )
    text = os.fspath(run_dir)
    if not isinstance(text, str) or not text.strip():
        raise InvalidKeyError(f"run_dir {run_dir!r} is empty")
    parent, last = _split_url(text)
    if last in ("", ".", "..") or "\\" in last or "\x00" in last:
        raise InvalidKeyError(f"run_dir {text!r} does not end in a usable folder name")
    return RunLocation(open_store_at(parent), last)


def locate_root(root: RunDir) -> RunLocation:
    """Resolve an experiment directory: the store rooted *at* it, with key ``""``.

    A :class:`RunLocation` is taken as is (its key is the experiment prefix).
    """
    if isinstance(root, RunLocation):
        return root
    if not isinstance(root, str | os.PathLike):
        raise InvalidKeyError(
            f"an experiment directory must be a path, a capsa URL or a RunLocation, "
            f"got {type(root).__name__}"
        )
    text = os.fspath(root)
    if not isinstance(text, str) or not text.strip():
        raise InvalidKeyError(f"experiment directory {root!r} is empty")
    return RunLocation(open_store_at(text), "")
