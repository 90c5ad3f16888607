"""The ``folder`` format: a directory member holding plain files by relative path."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

from capsa.errors import MemberNotFoundError, ObjectNotFoundError, ValidationError
from capsa.formats.base import DirectorySink, DirectorySource, Format, MemberSource
from capsa.formats.json import _known_options


class FolderFormat(Format):
    """A folder of plain files (figures, exported reports, a model directory).

    Writes a mapping of relative path to ``bytes`` (or ``str``, stored as
    UTF-8); reads back a lazy :class:`FolderFiles` mapping that reads each file
    on access. Every file is hashed and listed in the member's
    ``.sha256sums`` sidecar.
    """

    name: ClassVar[str] = "folder"
    writes: ClassVar[tuple[str, ...]] = ("builtins.dict",)
    description: ClassVar[str] = "a directory of plain files, read lazily per file"
    lazy: ClassVar[bool] = True
    directory: ClassVar[bool] = True

    def validate(self, value: object, **options: Any) -> None:
        """Require a non-empty dict of relative path -> bytes or str."""
        from capsa.errors import InvalidKeyError
        from capsa.store.keys import validate_member_file

        _known_options(self.name, options, set())
        super().validate(value)
        assert isinstance(value, dict)
        if not value:
            raise ValidationError("a folder member needs at least one file")
        for path, data in value.items():
            try:
                validate_member_file(path, key="folder")
            except InvalidKeyError as exc:
                raise ValidationError(f"bad file path {path!r}: {exc}") from None
            if not isinstance(data, bytes | bytearray | memoryview | str):
                raise ValidationError(
                    f"file {path!r} must be bytes or str, got {type(data).__name__}"
                )

    def write(self, value: Any, sink: Any, **options: Any) -> Mapping[str, Any] | None:
        """Write every file through the directory sink."""
        directory: DirectorySink = sink
        directory.put_many(
            (path, data.encode("utf-8") if isinstance(data, str) else data)
            for path, data in value.items()
        )
        return {"files": len(value)}

    def read(self, source: MemberSource, **options: Any) -> dict[str, bytes]:
        """Read every file into a dict of path -> bytes."""
        directory: DirectorySource = source  # type: ignore[assignment]
        paths = [path for path, _ in directory.list()]
        return dict(zip(paths, directory.get_many(paths), strict=True))

    def read_lazy(self, source: MemberSource, **options: Any) -> FolderFiles:
        """Return a mapping that reads each file on access."""
        return FolderFiles(source)  # type: ignore[arg-type]


class FolderFiles(Mapping[str, bytes]):
    """The files of a folder member; each is read (and not cached) on access."""

    def __init__(self, source: DirectorySource):
        self._source = source
        self._paths = [path for path, _ in source.list()]

    def __getitem__(self, path: str) -> bytes:
        if path not in self._paths:
            raise MemberNotFoundError(f"folder member {self._source.name!r} has no file {path!r}")
        try:
            return self._source.get(path)
        except ObjectNotFoundError:
            raise MemberNotFoundError(
                f"folder member {self._source.name!r}: file {path!r} is missing from storage"
            ) from None

    def fetch(self, paths: Iterable[str] | None = None) -> dict[str, bytes]:
        """Read many files at once (all by default), concurrently on object stores."""
        wanted = list(self._paths if paths is None else paths)
        for path in wanted:
            if path not in self._paths:
                raise MemberNotFoundError(
                    f"folder member {self._source.name!r} has no file {path!r}"
                )
        try:
            return dict(zip(wanted, self._source.get_many(wanted), strict=True))
        except ObjectNotFoundError as exc:
            raise MemberNotFoundError(
                f"folder member {self._source.name!r}: a file is missing from storage ({exc})"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def __repr__(self) -> str:
        return f"<FolderFiles {self._source.name!r}: {len(self._paths)} file(s)>"
