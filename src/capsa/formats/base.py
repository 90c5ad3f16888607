"""The format interface: how one member's value becomes bytes and back.

A format never sees the storage backend directly. ``write`` gets a
sequential, non-seekable binary *sink* (the store hashes what goes through
it and streams it to the backend), and ``read`` gets a
:class:`MemberSource` that can open the stored bytes as a seekable file, read
them whole, or give a local path when the backend has one.
"""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, Protocol

if TYPE_CHECKING:
    from pathlib import Path


def qualified_type_names(value: object) -> list[str]:
    """Return ``module.qualname`` for every class in the MRO of ``type(value)``.

    Used to match a value against :attr:`Format.writes` without importing the
    module that defines the type (numpy stays unimported until a numpy value
    actually shows up).
    """
    return [f"{cls.__module__}.{cls.__qualname__}" for cls in type(value).__mro__]


class MemberSource(Protocol):
    """Read access to one stored member, handed to :meth:`Format.read`."""

    @property
    def name(self) -> str:
        """Member name inside the artifact (``"fit.npz"``)."""
        ...

    @property
    def size(self) -> int:
        """Size in bytes as recorded in the manifest."""
        ...

    @property
    def info(self) -> Mapping[str, Any]:
        """The mapping the format's ``write`` returned, stored in the manifest."""
        ...

    def open(self) -> BinaryIO:
        """Open the member as a seekable, buffered binary file (ranged reads on object stores)."""
        ...

    def read_bytes(self) -> bytes:
        """Read the whole member."""
        ...

    def local_path(self) -> Path | None:
        """Return a local filesystem path to the member, or None on remote backends."""
        ...


class DirectorySink(Protocol):
    """Write side of a directory member (see :class:`capsa.store.transaction.DirectoryWriter`)."""

    def put(self, path: str, data: bytes | bytearray | memoryview) -> None:
        """Write (or rewrite) the object at ``path`` inside the member."""
        ...

    def put_many(self, items: Iterable[tuple[str, bytes | bytearray | memoryview]]) -> None:
        """Write many ``(path, data)`` objects (concurrently where the backend allows)."""
        ...

    def get(self, path: str) -> bytes:
        """Read back an object already written."""
        ...

    def exists(self, path: str) -> bool:
        """True when ``path`` was written."""
        ...

    def delete(self, path: str) -> None:
        """Remove an object written earlier."""
        ...


class DirectorySource(Protocol):
    """Read side of a directory member (see :class:`capsa.store.artifact.StoredDirectory`)."""

    @property
    def name(self) -> str:
        """The member's folder name (``"trace.zarr"``)."""
        ...

    @property
    def info(self) -> Mapping[str, Any]:
        """What the format recorded at write time."""
        ...

    def get(self, path: str) -> bytes:
        """Read one object whole."""
        ...

    def get_many(self, paths: Iterable[str]) -> list[bytes]:
        """Read many objects whole, in the order given (concurrently where the backend allows)."""
        ...

    def get_range(self, path: str, start: int, end: int) -> bytes:
        """Read bytes ``[start, end)`` of one object."""
        ...

    def exists(self, path: str) -> bool:
        """True when the object exists."""
        ...

    def object_size(self, path: str) -> int:
        """Size in bytes of one object."""
        ...

    def sums(self) -> dict[str, str]:
        """Path -> sha256 of every object, from the member's checked listing."""
        ...

    def list(self, prefix: str = "") -> Iterator[tuple[str, int]]:
        """Yield ``(path, size)`` of the objects under ``prefix``."""
        ...

    def local_path(self) -> Path | None:
        """The member's local folder, or None on remote backends."""
        ...


class BytesSource:
    """A :class:`MemberSource` over bytes in memory (tests, small payloads)."""

    def __init__(self, data: bytes, *, name: str = "member", info: Mapping[str, Any] | None = None):
        self._data = bytes(data)
        self._name = name
        self._info = dict(info or {})

    @property
    def name(self) -> str:
        """Member name."""
        return self._name

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self._data)

    @property
    def info(self) -> Mapping[str, Any]:
        """Format info recorded at write time."""
        return self._info

    def open(self) -> BinaryIO:
        """Open as a seekable in-memory file."""
        return io.BytesIO(self._data)

    def read_bytes(self) -> bytes:
        """Return the bytes."""
        return self._data

    def local_path(self) -> Path | None:
        """In-memory sources have no local path."""
        return None


class Format(ABC):
    """A named file format for artifact members.

    Subclass it, set the class attributes, implement :meth:`write` and
    :meth:`read`, and register an instance from a
    ``capsa_register_formats`` hook. Heavy libraries are imported inside the
    methods, never at module level.
    """

    name: ClassVar[str]
    """Unique format name (``"json"``, ``"npz"``)."""

    extensions: ClassVar[tuple[str, ...]] = ()
    """File extensions this format owns, with the dot (``(".npz",)``)."""

    writes: ClassVar[tuple[str, ...]] = ()
    """Fully qualified type names the format can write (``"builtins.dict"``).

    ``"builtins.object"`` accepts anything (pickle). Matching walks the MRO of
    the value's type, so subclasses are accepted too.
    """

    description: ClassVar[str] = ""
    """One line shown by ``capsa plugins``."""

    lazy: ClassVar[bool] = False
    """True when :meth:`read_lazy` reads parts on demand rather than everything."""

    requires_trust: ClassVar[bool] = False
    """True when reading can execute code (pickle): loads need ``trusted=True``."""

    directory: ClassVar[bool] = False
    """True when a member is a tree of objects (Zarr): ``write`` then gets a
    :class:`DirectorySink` instead of a file sink, and ``read``/``read_lazy`` a
    :class:`DirectorySource`."""

    def accepts(self, value: object) -> bool:
        """Return True when this format can write ``value`` (type check only, cheap)."""
        if "builtins.object" in self.writes:
            return True
        names = qualified_type_names(value)
        return any(n in self.writes for n in names)

    def validate(self, value: object, **options: Any) -> None:
        """Raise :class:`~capsa.errors.ValidationError` when ``value`` cannot be written.

        Called for every member before anything is written. The default checks
        the type against :attr:`writes`; formats override it to check content
        (object dtypes, NaN in JSON ...). The message should say what is wrong;
        the store adds the artifact key and member name.
        """
        from capsa.errors import ValidationError

        if not self.accepts(value):
            raise ValidationError(
                f"format {self.name!r} cannot write a value of type "
                f"{type(value).__module__}.{type(value).__qualname__}; "
                f"it writes {', '.join(self.writes) or 'nothing'}"
            )

    @abstractmethod
    def write(self, value: Any, sink: BinaryIO, **options: Any) -> Mapping[str, Any] | None:
        """Write ``value`` to ``sink``.

        :param value: the member value, already validated.
        :param sink: a sequential binary file: ``write`` and ``tell`` work,
            ``seek`` does not (it streams to object stores and is hashed on the
            way).
        :param options: format options from the kind's member spec or the
            caller (``compressed=True`` ...). JSON-safe; recorded in the manifest.
        :return: an optional JSON-safe mapping recorded in the manifest as the
            member's ``info`` and handed back to :meth:`read` as
            ``source.info`` (e.g. "this npz holds a single array").
        """

    @abstractmethod
    def read(self, source: MemberSource, **options: Any) -> Any:
        """Read the whole member back into a Python value."""

    def read_lazy(self, source: MemberSource, **options: Any) -> Any:
        """Return a lazy view that reads parts on demand; defaults to :meth:`read`."""
        return self.read(source, **options)
