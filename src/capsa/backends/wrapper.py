"""Backends that wrap another backend, and the ``<wrapper>+<url>`` scheme form.

A :class:`WrapperBackend` forwards every operation to the backend it wraps
(its :attr:`~WrapperBackend.inner`) and changes what it likes on the way:
:class:`capsa.backends.faulty.FaultyBackend` injects failures,
:class:`capsa.backends.retrying.RetryingBackend` retries them.

A wrapper registers like any backend, through ``capsa_register_backends``;
its ``schemes`` are its *wrapper names*. :func:`capsa.open_store` reads the
URL ``faulty+memory://name`` as the wrapper ``faulty`` around the backend of
``memory://name``; chains (``a+b+s3://bucket``) nest left to right. The
registry keeps wrappers apart from plain backends, so ``faulty://x`` alone is
refused and ``capsa plugins`` lists them as *backend wrappers*. Options the
wrapper names in :attr:`~WrapperBackend.option_names` are taken out before
the inner backend is opened, so that backends that refuse unknown options
(capsa-cloud) never see them.

The derived operations (``exists``, ``open_writer``, ``open_reader``,
``delete_prefix``) follow one rule: when the inner backend implements one
natively (a local file writer, a folder removed at once), the wrapper hands
the call to it; when the inner one only builds it from the core operations
(the :class:`~capsa.backends.base.Backend` defaults), the wrapper builds it
from *its own* core operations, so that everything it adds (faults, retries)
applies to every byte. ``rename_prefix``, ``sync_prefix`` and ``local_path``
are always handed to the inner backend, and ``supports_rename`` and
``io_concurrency`` are copied from it, so the local commit protocol works
unchanged through a wrapper.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, TypeVar

from capsa.backends.base import Backend, ObjectInfo, ObjectWriter, PutData
from capsa.errors import UnknownBackendError

if TYPE_CHECKING:
    from pathlib import Path

B = TypeVar("B", bound=Backend)

DERIVED_OPS = ("exists", "open_writer", "open_reader", "delete_prefix")
"""Operations the base class builds from the core ones; a wrapper follows its inner backend."""


def is_native(backend: Backend, op: str) -> bool:
    """True when ``backend`` implements the derived operation ``op`` itself.

    False when it uses the :class:`~capsa.backends.base.Backend` default,
    which is built from ``put``/``get``/``get_range``/``head``/``list``/``delete``.
    """
    if isinstance(backend, WrapperBackend):
        return backend.native(op)
    return getattr(type(backend), op) is not getattr(Backend, op)


def find_backend(backend: Backend, cls: type[B]) -> B | None:
    """Return the first backend of type ``cls`` in a chain of wrappers (or ``None``).

    ``find_backend(store.backend, FaultyBackend)`` finds the fault injector
    under the retry layer.
    """
    current: Backend | None = backend
    while current is not None:
        if isinstance(current, cls):
            return current
        current = current.inner if isinstance(current, WrapperBackend) else None
    return None


class WrapperBackend(Backend):
    """A backend around another one; every operation is forwarded by default.

    Subclasses override the operations they change and implement
    :meth:`wrap`. Registered wrappers are reached through URLs of the form
    ``<name>+<inner URL>``; see the module documentation.
    """

    option_names: ClassVar[frozenset[str]] = frozenset()
    """Store options this wrapper reads; they are not passed to the inner backend."""

    retries_internally: bool = False
    """True when transient failures are retried below this point (copied from the inner backend)."""

    can_fail_transiently: bool = False
    """True when operations may raise ``TransientError`` (copied from the inner backend)."""

    def __init__(self, inner: Backend, *, name: str = ""):
        """Wrap ``inner``; with ``name``, the URL reads ``<name>+<inner URL>``."""
        self.inner = inner
        """The wrapped backend."""
        self._url_prefix = f"{name}+" if name else ""
        self.url = self._url_prefix + inner.url
        self.supports_rename = inner.supports_rename
        self.io_concurrency = inner.io_concurrency
        self.retries_internally = bool(getattr(inner, "retries_internally", False))
        self.can_fail_transiently = bool(getattr(inner, "can_fail_transiently", False))

    @classmethod
    def from_url(cls, url: str, options: Mapping[str, Any]) -> Backend:
        """Refuse: a wrapper needs the backend it wraps (``<name>+<scheme>://...``)."""
        name = cls.schemes[0] if cls.schemes else cls.__name__
        raise UnknownBackendError(
            f"{name!r} wraps another backend, it cannot open {url!r} by itself: "
            f"write the URL as {name}+<scheme>://..., e.g. {name}+memory://scratch"
        )

    @classmethod
    @abstractmethod
    def wrap(cls, inner: Backend, options: Mapping[str, Any]) -> WrapperBackend:
        """Return the wrapper around ``inner``, configured from the store ``options``.

        Validate the options named in :attr:`option_names` here and raise
        :class:`~capsa.errors.ConfigError` naming the option at fault.
        """

    def native(self, op: str) -> bool:
        """Whether the derived operation ``op`` is handed to the inner backend.

        Default: when the inner backend implements it natively. Override to
        force one through this wrapper's own core operations.
        """
        return is_native(self.inner, op)

    # -- core operations: forwarded --------------------------------------------

    def put(self, key: str, data: PutData, *, create_only: bool = False) -> None:
        """Forward to the inner backend."""
        self.inner.put(key, data, create_only=create_only)

    def get(self, key: str) -> bytes:
        """Forward to the inner backend."""
        return self.inner.get(key)

    def get_range(self, key: str, start: int, end: int) -> bytes:
        """Forward to the inner backend."""
        return self.inner.get_range(key, start, end)

    def head(self, key: str) -> ObjectInfo:
        """Forward to the inner backend."""
        return self.inner.head(key)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Forward to the inner backend."""
        return self.inner.list(prefix)

    def delete(self, key: str) -> None:
        """Forward to the inner backend."""
        self.inner.delete(key)

    # -- derived operations: native below, or built here ---------------------------

    def exists(self, key: str) -> bool:
        """The inner backend's own check, or ``head`` through this wrapper."""
        if self.native("exists"):
            return self.inner.exists(key)
        return super().exists(key)

    def open_writer(self, key: str, *, create_only: bool = False) -> ObjectWriter:
        """The inner backend's own writer, or a buffered one that puts through this wrapper."""
        if self.native("open_writer"):
            return self.inner.open_writer(key, create_only=create_only)
        return super().open_writer(key, create_only=create_only)

    def open_reader(self, key: str) -> BinaryIO:
        """The inner backend's own reader, or ranged gets through this wrapper."""
        if self.native("open_reader"):
            return self.inner.open_reader(key)
        return super().open_reader(key)

    def delete_prefix(self, prefix: str) -> int:
        """The inner backend's own removal, or list and delete through this wrapper."""
        if self.native("delete_prefix"):
            return self.inner.delete_prefix(prefix)
        return super().delete_prefix(prefix)

    # -- always the inner backend's ------------------------------------------------

    def local_path(self, key: str) -> Path | None:
        """Forward to the inner backend."""
        return self.inner.local_path(key)

    def rename_prefix(self, src: str, dst: str, *, exchange: bool = False) -> None:
        """Forward to the inner backend (not retried, no faults: local filesystems only)."""
        self.inner.rename_prefix(src, dst, exchange=exchange)

    def sync_prefix(self, prefix: str) -> None:
        """Forward to the inner backend."""
        self.inner.sync_prefix(prefix)

    def join(self, key: str) -> str:
        """The inner backend's URL for ``key``, under this wrapper's name."""
        return self._url_prefix + self.inner.join(key)
