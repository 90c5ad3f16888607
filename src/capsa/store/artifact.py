"""Loaded artifacts: a manifest plus lazily read members."""

from __future__ import annotations

import builtins
import io
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from capsa.errors import IntegrityError, MemberNotFoundError, ObjectNotFoundError
from capsa.store.hashing import hash_stream, sha256_bytes
from capsa.store.keys import MARKER
from capsa.store.manifest import Manifest, MemberRecord
from capsa.store.reports import Problem

SUMS_SUFFIX = ".sha256sums"
"""Suffix of the sidecar listing a directory member's objects and hashes."""

if TYPE_CHECKING:
    from capsa.backends.base import Backend
    from capsa.formats.base import Format
    from capsa.kinds.base import ArtifactKind
    from capsa.plugins.registry import Registry


@dataclass(frozen=True)
class ArtifactRef:
    """What ``Store.save`` returns: where the committed artifact is.

    :ivar key: the key as given to ``save``.
    :ivar full_key: the key inside the backend (with the mode namespace).
    :ivar url: URL of the artifact prefix.
    :ivar manifest: the committed manifest.
    """

    key: str
    full_key: str
    url: str
    manifest: Manifest
    local_dir: Path | None = None

    @property
    def kind(self) -> str:
        """The artifact kind."""
        return self.manifest.kind


class _Stored:
    """What both kinds of stored member share: where it is and what the manifest says."""

    def __init__(
        self,
        backend: Backend,
        object_key: str,
        record: MemberRecord,
        artifact_key: str,
        *,
        guard: Callable[[], None] | None = None,
    ):
        self._backend = backend
        self._object_key = object_key
        self._record = record
        self._artifact_key = artifact_key
        self._guard = guard

    @property
    def name(self) -> str:
        """The member's file (or folder) name."""
        return self._record.file

    @property
    def artifact_key(self) -> str:
        """The key of the artifact the member belongs to (for messages)."""
        return self._artifact_key

    @property
    def size(self) -> int:
        """Size recorded in the manifest (the total, for a directory member)."""
        return self._record.size

    @property
    def info(self) -> Mapping[str, Any]:
        """What the format recorded at write time."""
        return self._record.info


class StoredMember(_Stored):
    """A :class:`~capsa.formats.base.MemberSource` over one member in a backend.

    ``read_bytes`` always checks size and sha256 against the manifest (the
    bytes are in memory anyway); ``open`` checks the size, and the full hash is
    checked by ``verify``. A member already downloaded and checked (``load``
    with ``verify=True`` on a remote backend) is served from those bytes.
    """

    def __init__(
        self,
        backend: Backend,
        object_key: str,
        record: MemberRecord,
        artifact_key: str,
        *,
        guard: Callable[[], None] | None = None,
        verified: bytes | None = None,
    ):
        super().__init__(backend, object_key, record, artifact_key, guard=guard)
        self._verified = verified

    def _missing(self) -> IntegrityError:
        return IntegrityError(
            f"artifact {self._artifact_key!r}: member {self._record.file!r} is missing from storage"
        )

    def open(self) -> BinaryIO:
        """Open the member (seekable); its size must match the manifest.

        For artifacts that can be overwritten (development and test modes) the
        marker is checked *after* opening: if the artifact was replaced since
        it was loaded, this raises instead of mixing two versions.
        """
        if self._verified is not None:
            return io.BytesIO(self._verified)
        try:
            fh = self._backend.open_reader(self._object_key)
        except ObjectNotFoundError:
            if self._guard is not None:
                self._guard()
            raise self._missing() from None
        if self._guard is not None:
            try:
                self._guard()
            except BaseException:
                fh.close()
                raise
        try:
            actual = fh.seek(0, 2)
            fh.seek(0)
        except OSError:
            return fh
        if actual != self._record.size:
            fh.close()
            raise IntegrityError(
                f"artifact {self._artifact_key!r}: member {self._record.file!r} has "
                f"{actual} bytes, the manifest says {self._record.size} "
                "(truncated, or overwritten since the artifact was opened)"
            )
        return fh

    def read_bytes(self) -> bytes:
        """Read the whole member and check it against the manifest."""
        if self._verified is not None:
            return self._verified
        try:
            data, digest = self._backend.get_hashed(self._object_key)
        except ObjectNotFoundError:
            raise self._missing() from None
        if len(data) != self._record.size or digest != self._record.sha256:
            raise IntegrityError(
                f"artifact {self._artifact_key!r}: member {self._record.file!r} does not match "
                "its manifest (size or sha256)"
            )
        return data

    def local_path(self) -> Path | None:
        """The member's local path when the backend has one."""
        return self._backend.local_path(self._object_key)

    def check(self) -> Problem | None:
        """Re-hash the member; return the problem found, if any."""
        key, file = self._artifact_key, self._record.file
        try:
            with self._backend.open_reader(self._object_key) as fh:
                size, digest = hash_stream(fh, size_hint=self._record.size)
        except ObjectNotFoundError:
            return Problem(key=key, member=file, problem="missing", detail="member is missing")
        if size != self._record.size:
            return Problem(
                key=key,
                member=file,
                problem="size",
                detail=f"{size} bytes stored, manifest says {self._record.size}",
            )
        if digest != self._record.sha256:
            return Problem(
                key=key,
                member=file,
                problem="sha256",
                detail=(
                    f"sha256 {digest[:16]}... differs from manifest {self._record.sha256[:16]}..."
                ),
            )
        return None


class StoredDirectory(_Stored):
    """A :class:`~capsa.formats.base.DirectorySource` over one directory member.

    Objects are read lazily (ranged gets on object stores). :meth:`check`
    re-hashes every object against the ``.sha256sums`` sidecar, whose own hash
    the manifest records.
    """

    def __init__(
        self,
        backend: Backend,
        prefix: str,
        record: MemberRecord,
        artifact_key: str,
        *,
        guard: Callable[[], None] | None = None,
    ):
        super().__init__(backend, prefix, record, artifact_key, guard=guard)
        self._prefix = prefix
        self._guarded = False

    def _check_guard_once(self) -> None:
        """Check once per source that the artifact was not overwritten since it was loaded."""
        if self._guard is not None and not self._guarded:
            self._guard()
            self._guarded = True

    def _key(self, path: str) -> str:
        if not path or path.startswith("/") or ".." in path.split("/"):
            raise IntegrityError(
                f"artifact {self._artifact_key!r}: bad path {path!r} in member {self.name!r}"
            )
        self._check_guard_once()
        return f"{self._prefix}/{path}"

    def get(self, path: str) -> bytes:
        """Read one object whole (ObjectNotFoundError when absent)."""
        return self._backend.get(self._key(path))

    def get_many(self, paths: Iterable[str]) -> list[bytes]:
        """Read many objects whole, in order (``io_concurrency`` at a time)."""
        from capsa.backends.concurrency import map_bounded

        keys = [self._key(path) for path in paths]
        return map_bounded(self._backend.get, keys, self._backend.io_concurrency)

    def get_range(self, path: str, start: int, end: int) -> bytes:
        """Read bytes ``[start, end)`` of one object."""
        return self._backend.get_range(self._key(path), start, end)

    def exists(self, path: str) -> bool:
        """True when the object exists."""
        return self._backend.exists(self._key(path))

    def object_size(self, path: str) -> int:
        """Size in bytes of one object (ObjectNotFoundError when absent)."""
        return self._backend.head(self._key(path)).size

    def list(self, prefix: str = "") -> Iterator[tuple[str, int]]:
        """Yield ``(path, size)`` for objects under ``prefix``, in path order."""
        base = f"{self._prefix}/"
        for info in self._backend.list(base + prefix):
            yield info.key[len(base) :], info.size

    def local_path(self) -> Path | None:
        """The member's local folder, or None on remote backends."""
        return self._backend.local_path(self._prefix)

    def sums(self) -> dict[str, str]:
        """Path -> sha256 from the sidecar, checked against the manifest."""
        self._check_guard_once()
        try:
            raw = self._backend.get(f"{self._prefix}{SUMS_SUFFIX}")
        except ObjectNotFoundError:
            raise IntegrityError(
                f"artifact {self._artifact_key!r}: member {self.name!r} has lost its "
                f"{self.name}{SUMS_SUFFIX} listing"
            ) from None
        if sha256_bytes(raw) != self._record.sha256:
            raise IntegrityError(
                f"artifact {self._artifact_key!r}: member {self.name!r}: the listing "
                f"{self.name}{SUMS_SUFFIX} does not match the manifest"
            )
        out: dict[str, str] = {}
        for line in raw.decode("utf-8", "replace").splitlines():
            digest, _, path = line.partition("  ")
            out[path] = digest
        return out

    def check(self) -> builtins.list[Problem]:
        """Re-hash every object; return the problems (missing, extra, size, sha256)."""
        key, file = self._artifact_key, self._record.file
        try:
            expected = self.sums()
        except IntegrityError as exc:
            return [Problem(key=key, member=file, problem="sha256", detail=str(exc))]
        from capsa.backends.concurrency import map_bounded

        problems: list[Problem] = []
        seen: set[str] = set()
        total = 0
        to_hash: list[tuple[str, int]] = []
        for path, size in self.list():
            seen.add(path)
            total += size
            if path not in expected:
                problems.append(
                    Problem(
                        key=key,
                        member=f"{file}/{path}",
                        problem="extra",
                        detail="not in the listing",
                    )
                )
            else:
                to_hash.append((path, size))

        def digest_of(item: tuple[str, int]) -> str:
            with self._backend.open_reader(f"{self._prefix}/{item[0]}") as fh:
                return hash_stream(fh, size_hint=item[1])[1]

        digests = map_bounded(digest_of, to_hash, self._backend.io_concurrency)
        for (path, _), digest in zip(to_hash, digests, strict=True):
            if digest != expected[path]:
                problems.append(
                    Problem(
                        key=key, member=f"{file}/{path}", problem="sha256", detail="content changed"
                    )
                )
        for path in sorted(set(expected) - seen):
            problems.append(
                Problem(key=key, member=f"{file}/{path}", problem="missing", detail="missing")
            )
        if not problems and total != self._record.size:
            problems.append(
                Problem(
                    key=key,
                    member=file,
                    problem="size",
                    detail=f"{total} bytes stored, manifest says {self._record.size}",
                )
            )
        return problems


class Artifact(Mapping[str, Any]):
    """A committed artifact: its manifest and lazily read members.

    Members stored by reference (``MemberRecord.object``) are read from their
    content-addressed object; everything else here works the same for them.
    ``artifact[name]`` reads the member on first access (through the format's
    lazy reader where it has one) and caches it. ``name`` is the logical
    member name or its file name. Iterating yields logical member names.
    """

    def __init__(
        self,
        *,
        key: str,
        full_key: str,
        url: str,
        manifest: Manifest,
        backend: Backend,
        registry: Registry,
        kind: ArtifactKind | None,
        trusted: bool = False,
    ):
        self.key = key
        """The key as given to ``load``."""
        self.full_key = full_key
        """The key inside the backend."""
        self.url = url
        """URL of the artifact prefix."""
        self.manifest = manifest
        """The decoded ``_SUCCESS`` manifest."""
        self._backend = backend
        self._registry = registry
        self._kind = kind
        self._trusted = trusted
        self._cache: dict[str, Any] = {}
        self._verified: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._aliases: dict[str, str] = {}
        if kind is not None and manifest.kind_version != kind.version:
            layout = kind.legacy_layout(manifest.kind_version)
            if layout is not None:
                self._aliases = dict(layout.renames)

    # -- mapping ---------------------------------------------------------------

    def _record(self, name: str) -> MemberRecord:
        record = self.manifest.member(name)
        if record is None and name in self._aliases:
            record = self.manifest.member(self._aliases[name])
        if record is None:
            names = ", ".join(repr(m.name) for m in self.manifest.members) or "none"
            raise MemberNotFoundError(
                f"artifact {self.key!r} has no member {name!r} (members: {names})"
            )
        return record

    def source(self, name: str) -> StoredMember | StoredDirectory:
        """Return the member's source (raw access for formats and tools).

        A :class:`StoredMember` for file members, a :class:`StoredDirectory`
        for directory members (Zarr stores).
        """
        record = self._record(name)
        guard = None if self.manifest.mode == "production" else self._check_unchanged
        prefix = f"{self.full_key}/{record.file}"
        if record.by_reference:
            # Stored by reference: the bytes are a shared content-addressed object.
            from capsa.objects.store import object_key

            prefix = object_key(str(record.object))
        if record.layout == "directory":
            return StoredDirectory(self._backend, prefix, record, self.key, guard=guard)
        return StoredMember(
            self._backend,
            prefix,
            record,
            self.key,
            guard=guard,
            verified=self._verified.get(record.file),
        )

    def _verify_now(self, *, preload_limit: int = 0) -> None:
        """Re-hash every member now; raise IntegrityError at the first problem.

        File members up to ``preload_limit`` bytes are downloaded once,
        checked and kept, so reading them afterwards costs no second download
        (on object stores, where a download is the expensive part).
        """
        from capsa.backends.concurrency import map_bounded

        budget = [preload_limit * 2]  # in total, at most twice the per-member limit
        lock = threading.Lock()

        def check(record: MemberRecord) -> None:
            keep = False
            if record.layout == "file" and record.size <= preload_limit:
                with lock:
                    keep = budget[0] >= record.size
                    if keep:
                        budget[0] -= record.size
            if keep:
                source = self.source(record.file)
                assert isinstance(source, StoredMember)
                data = source.read_bytes()  # checks size and sha256
                with self._lock:
                    self._verified[record.file] = data
                return
            problems = self.check(record.file)
            if problems:
                raise IntegrityError(
                    f"artifact {self.key!r}: member {problems[0].member!r} failed "
                    f"verification: {problems[0].detail}"
                )

        map_bounded(check, list(self.manifest.members), self._backend.io_concurrency)

    def check(self, name: str) -> list[Problem]:
        """Re-hash one member; return its problems (empty when intact)."""
        source = self.source(name)
        if isinstance(source, StoredDirectory):
            return source.check()
        problem = source.check()
        return [] if problem is None else [problem]

    def _check_unchanged(self) -> None:
        """Raise when the artifact was overwritten or deleted since it was loaded."""
        try:
            raw = self._backend.get(f"{self.full_key}/{MARKER}")
        except ObjectNotFoundError:
            raw = b""
        if f'"txid": "{self.manifest.txid}"'.encode() not in raw:
            raise IntegrityError(
                f"artifact {self.key!r} was overwritten or deleted since it was loaded; "
                "load it again"
            )

    def _format(self, record: MemberRecord) -> Format:
        """The member's format, refusing a marker whose layout contradicts it."""
        fmt = self._registry.format(record.format)
        if fmt.directory != (record.layout == "directory"):
            raise IntegrityError(
                f"artifact {self.key!r}, member {record.file!r}: the manifest says layout "
                f"{record.layout!r}, but format {fmt.name!r} writes "
                f"{'directories' if fmt.directory else 'single files'}; the marker is corrupt"
            )
        return fmt

    def __getitem__(self, name: str) -> Any:
        record = self._record(name)
        with self._lock:
            if record.file in self._cache:
                return self._cache[record.file]
        fmt = self._format(record)
        options: dict[str, Any] = {}
        if fmt.requires_trust:
            options["trusted"] = self._trusted
        # A directory member's source is a DirectorySource (the format says so).
        src: Any = self.source(name)
        value = fmt.read_lazy(src, **options) if fmt.lazy else fmt.read(src, **options)
        with self._lock:
            return self._cache.setdefault(record.file, value)

    def read(self, name: str, **options: Any) -> Any:
        """Read a member fully (not lazily), with format read options; not cached."""
        record = self._record(name)
        fmt = self._format(record)
        if fmt.requires_trust:
            options.setdefault("trusted", self._trusted)
        src: Any = self.source(name)
        return fmt.read(src, **options)

    def __iter__(self) -> Iterator[str]:
        return iter([m.name for m in self.manifest.members])

    def __len__(self) -> int:
        return len(self.manifest.members)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        return self.manifest.member(name) is not None or (
            name in self._aliases and self.manifest.member(self._aliases[name]) is not None
        )

    # -- convenience -----------------------------------------------------------

    @property
    def kind(self) -> str:
        """The artifact kind name."""
        return self.manifest.kind

    @property
    def meta(self) -> dict[str, Any]:
        """The caller's metadata saved with the artifact."""
        return self.manifest.meta

    def open(self, name: str) -> BinaryIO:
        """Open a file member's raw bytes as a seekable file."""
        source = self.source(name)
        if isinstance(source, StoredDirectory):
            raise MemberNotFoundError(
                f"artifact {self.key!r}: member {name!r} is a directory; use artifact[name]"
            )
        return source.open()

    def path(self, name: str) -> Path | None:
        """Local path of a member (file or folder), or None on remote backends."""
        return self.source(name).local_path()

    @property
    def local_dir(self) -> Path | None:
        """Local folder of the artifact, or None on remote backends."""
        return self._backend.local_path(self.full_key)

    def verify(self) -> list[Problem]:
        """Re-hash every member; return the problems (empty when intact)."""
        problems: list[Problem] = []
        for record in self.manifest.members:
            problems.extend(self.check(record.file))
        return problems

    def __repr__(self) -> str:
        names = ", ".join(m.file for m in self.manifest.members)
        return f"<Artifact {self.key!r} kind={self.kind!r} members=[{names}]>"
