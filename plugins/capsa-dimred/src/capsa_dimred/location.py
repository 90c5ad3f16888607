"""Where a ``path`` argument points: a store and a key inside it.

Every ``path`` argument of capsa-dimred accepts:

* a local path (``"out/fits/pca_2"``, a :class:`pathlib.Path`) or a
  ``file://`` URL;
* any capsa URL: ``memory://space/out/fits/pca_2``, ``s3://bucket/out/fits/pca_2``
  (with capsa-cloud), ``gs://``, ``az://`` ...;
* a :class:`StoreLocation`: a store you opened yourself (any mode, e.g. a
  development store where artifacts may be overwritten) and a key in it.

A path or URL names an *artifact directory* or a *file* by its last segment:
the store is rooted at the parent (``out/fits``) and the key is the last
segment (``pca_2``), so files land exactly where the path says, like the
seed's. An *output root* (``write_run_status``) is itself the store root.

Stores opened from a path or URL are in ``production`` mode (artifacts are
immutable). Backend options (endpoint, credentials ...) come from the capsa
configuration: the named store whose URL is the longest prefix of the URL
given lends its ``options`` (``[stores.lab] url = "s3://lab/dimred"`` serves
``s3://lab/dimred/out/fits/pca_2``), so one config line moves a pipeline to
an object store.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from capsa.errors import InvalidKeyError
from capsa.store.keys import validate_key

if TYPE_CHECKING:
    from capsa.backends.base import Backend
    from capsa.store.store import Store


@dataclass(frozen=True)
class StoreLocation:
    """A key inside a store you opened yourself.

    :ivar store: the capsa store (any mode).
    :ivar key: an artifact key (``"fits/pca_2"``), a file key
        (``"fit_runs.json"``) or, for an output root, a prefix (``""`` is the
        store root).
    """

    store: Store
    key: str = ""

    @property
    def url(self) -> str:
        """URL of the key (or of the store root for ``key == ""``)."""
        return self.store.url_for(self.key) if self.key else self.store.url

    def child(self, *parts: str) -> StoreLocation:
        """The location ``key/part/...`` in the same store."""
        clean = [p.strip("/") for p in parts if p.strip("/")]
        return StoreLocation(self.store, "/".join([self.key, *clean] if self.key else clean))

    def __str__(self) -> str:
        return self.url


DimredPath = Union[str, "os.PathLike[str]", StoreLocation]
"""What ``path`` arguments accept: a local path, a capsa URL or a :class:`StoreLocation`."""


@dataclass(frozen=True)
class Located:
    """A resolved ``path`` argument.

    :ivar store: the store holding it.
    :ivar key: key relative to the store (``""`` for a store root).
    :ivar shown: the path or URL as given, for messages.
    :ivar given: what was passed (returned as ``path`` by loaders).
    """

    store: Store
    key: str
    shown: str
    given: Any

    @property
    def backend(self) -> Backend:
        """The store's backend."""
        return self.store.backend

    @property
    def full_key(self) -> str:
        """The key inside the backend (with the store's mode namespace)."""
        ns = self.store.namespace
        if not self.key:
            return ns
        return f"{ns}/{self.key}" if ns else self.key

    def object_key(self, name: str) -> str:
        """Backend key of ``name`` inside this location."""
        return f"{self.full_key}/{name}" if self.full_key else name

    @property
    def url(self) -> str:
        """URL of the location."""
        return self.store.url_for(self.key) if self.key else self.store.url


def _is_url(text: str) -> bool:
    return "://" in text or text.startswith("file:")


def _text_of(path: object, what: str) -> str:
    if not isinstance(path, str | os.PathLike):
        raise InvalidKeyError(
            f"{what} must be a path, a capsa URL or a StoreLocation, got {type(path).__name__}"
        )
    text = os.fspath(path)
    if not isinstance(text, str) or not text.strip():
        raise InvalidKeyError(f"{what} {path!r} is empty")
    return text


def _split(text: str, what: str) -> tuple[str, str]:
    """Split a path or URL into (parent, last segment)."""
    if _is_url(text):
        if text.startswith("file:") and "://" not in text:
            raise InvalidKeyError(f"{what} {text!r}: use file:///absolute/path")
        scheme, rest = text.split("://", 1)
        rest = rest.rstrip("/")
        if "/" not in rest.lstrip("/"):
            raise InvalidKeyError(
                f"{what} {text!r} has no parent to act as the store root; "
                f"use {scheme}://<root>/<name>"
            )
        parent, last = rest.rsplit("/", 1)
        return f"{scheme}://{parent}", last
    stripped = text.rstrip("/\\") or text
    parent, last = os.path.split(os.path.abspath(os.path.expanduser(stripped)))
    if os.path.basename(stripped) in ("", ".", ".."):
        raise InvalidKeyError(f"{what} {text!r} does not end in a usable name")
    return parent, last


def _absolute(text: str) -> str:
    if _is_url(text):
        return text.rstrip("/") if text.count("/") > 2 else text
    return os.path.abspath(os.path.expanduser(text))


def store_options(url: str) -> dict[str, Any]:
    """Backend options for ``url``: those of the configured store whose URL prefixes it.

    The longest matching ``[stores.<name>] url`` wins; no match gives ``{}``.
    """
    from capsa.config.loader import load_config

    stores = load_config().config.stores
    best: tuple[int, dict[str, Any]] = (-1, {})
    for entry in stores.values():
        base = entry.url.rstrip("/")
        if not _is_url(base):
            base = os.path.abspath(os.path.expanduser(base))
        if (url == base or url.startswith(base + "/")) and len(base) > best[0]:
            best = (len(base), dict(entry.options))
    return best[1]


_CACHE: dict[tuple[str, str], Store] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 64


def open_root(url: str) -> Store:
    """Open (or reuse) the production store rooted at ``url``.

    Stores are cached per URL and options in this process, so an object-store
    client (and its connections) is reused across calls.
    """
    import capsa
    from capsa.plugins.manager import get_registry

    # Local folders and memory spaces take no backend options: skip reading the config.
    local = not _is_url(url) or url.startswith(("file:", "memory:"))
    options = {} if local else store_options(url)
    cache_key = (url, json.dumps(options, sort_keys=True, default=str))
    registry = get_registry()
    with _CACHE_LOCK:
        cached = _CACHE.get(cache_key)
    if cached is not None and cached.registry is registry:
        return cached
    store = capsa.open_store(url, mode="production", options=options)
    with _CACHE_LOCK:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[cache_key] = store
    return store


def _check_name(name: str, text: str, what: str) -> str:
    try:
        return validate_key(name)
    except InvalidKeyError as exc:
        raise InvalidKeyError(f"{what} {text!r}: {exc}") from None


def locate(path: DimredPath, what: str = "path") -> Located:
    """Resolve an artifact directory or a file: the store at its parent, the name as key.

    :raises InvalidKeyError: an empty path, a URL without a parent, or a last
        segment capsa refuses as a key (``_SUCCESS``, ``.capsa`` ...).
    :raises UnknownBackendError: no installed backend serves the URL's scheme.
    """
    if isinstance(path, StoreLocation):
        if not path.key:
            raise InvalidKeyError(f"{what}: a StoreLocation needs a non-empty key")
        _check_name(path.key, path.url, what)
        return Located(path.store, path.key, path.url, path)
    text = _text_of(path, what)
    parent, last = _split(text, what)
    _check_name(last, text, what)
    given: Any = path if _is_url(text) else Path(os.path.abspath(os.path.expanduser(text)))
    return Located(open_root(parent), last, text, given)


def locate_root(path: DimredPath, what: str = "output_root") -> Located:
    """Resolve a folder that receives files directly (an output root): the store *at* it."""
    if isinstance(path, StoreLocation):
        if path.key:
            _check_name(path.key, path.url, what)
        return Located(path.store, path.key, path.url, path)
    text = _text_of(path, what)
    url = _absolute(text)
    given: Any = path if _is_url(text) else Path(url)
    return Located(open_root(url), "", text, given)


def child(loc: Located, name: str) -> Located:
    """The location ``name`` inside ``loc``."""
    key = f"{loc.key}/{name}" if loc.key else name
    given: Any = (
        loc.given / name if isinstance(loc.given, Path) else f"{loc.shown.rstrip('/')}/{name}"
    )
    return Located(loc.store, key, f"{loc.shown.rstrip('/')}/{name}", given)
