"""Transactions: write an artifact member by member, then commit it atomically.

``Store.save`` is one transaction; :meth:`Store.transaction` exposes the same
machinery for artifacts that are produced over time (an optimizer trace that
grows step by step, a Zarr array appended batch by batch). Nothing a
transaction writes is visible as an artifact before :meth:`Transaction.commit`
returns; leaving the ``with`` block with an exception aborts it and removes
what it wrote.

Where members go while the transaction runs:

* **rename protocol** (``backend.supports_rename``, a local folder): a private
  staging prefix ``.capsa/staging/<txid>/``, renamed onto the key at commit.
* **marker protocol** (object stores, ``memory://``): the key's own prefix.
  The transaction first claims the key with a ``_CLAIM`` object (create-only
  in production, so a racing writer fails before writing anything), writes
  members in place, then puts ``_SUCCESS`` and removes the claim.

Members are either one object (a *file* member, written through a format into
a hashing sink) or a tree of objects (a *directory* member such as a Zarr
store, written through :class:`DirectoryWriter`). A directory member's
objects are listed with their sha256 in a sidecar ``<member>.sha256sums``
file (``sha256sum -c`` format); the manifest records the sha256 of that
sidecar, which anchors every object. A file member may instead be stored
*by reference* (``write(..., by_reference=True)``): its bytes become a
content-addressed object shared by every member with the same bytes
(:mod:`capsa.objects`), pinned against ``gc`` before it is looked up, and
checked to still exist just before the marker is written.
"""

from __future__ import annotations

import _thread
import contextlib
import datetime as _dt
import hashlib
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from capsa.backends.concurrency import map_bounded
from capsa.errors import (
    ArtifactExistsError,
    CapsaError,
    IntegrityError,
    InvalidKeyError,
    ObjectExistsError,
    ObjectNotFoundError,
    TransientError,
    ValidationError,
)
from capsa.store.artifact import SUMS_SUFFIX, ArtifactRef, StoredDirectory
from capsa.store.events import CommitEvent
from capsa.store.keys import CLAIM, INTERNAL_PREFIX, MARKER, validate_member_file
from capsa.store.manifest import (
    MANIFEST_SCHEMA,
    MANIFEST_VERSION,
    Manifest,
    MemberRecord,
    Producer,
    Provenance,
    decode_manifest,
    encode_manifest,
)
from capsa.store.sink import HashingSink

if TYPE_CHECKING:
    from capsa.backends.base import Backend
    from capsa.formats.base import Format
    from capsa.kinds.base import ArtifactKind
    from capsa.objects.pins import Pins
    from capsa.objects.store import ObjectRef
    from capsa.store.store import Store

STAGING = f"{INTERNAL_PREFIX}/staging"
TRASH = f"{INTERNAL_PREFIX}/trash"


def new_txid() -> str:
    """A unique, time-ordered transaction id."""
    return f"{time.time_ns():x}-{uuid.uuid4().hex[:12]}"


def _now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _wrap_write_error(key: str, file: str, fmt: str, exc: Exception) -> ValidationError:
    return ValidationError(
        f"artifact {key!r}, member {file!r}: format {fmt!r} failed to write: "
        f"{type(exc).__name__}: {exc}"
    )


class DirectoryWriter:
    """Writes the objects of one directory member (a Zarr store, a folder of files).

    Objects may be rewritten (Zarr rewrites its metadata when an array
    grows); the last write of each path counts. Every write is hashed on the
    way. :meth:`put` may be called from several threads at once (each call
    writes its own object). :meth:`close` runs the :meth:`on_close` callbacks,
    writes the ``.sha256sums`` sidecar and records the member; the transaction
    calls it at commit if you did not.
    """

    def __init__(self, tx: Transaction, name: str, file: str, fmt: Format, options: dict[str, Any]):
        self._tx = tx
        self.name = name
        """Logical member name."""
        self.file = file
        """The member's folder name inside the artifact (``"trace.zarr"``)."""
        self._fmt = fmt
        self._options = options
        self._objects: dict[str, tuple[int, str]] = {}
        self._objects_lock = _thread.allocate_lock()
        self._on_close: list[Callable[[], None]] = []
        self._closed = False
        self.info: dict[str, Any] = {}
        """Format facts recorded in the manifest (``info``); set before :meth:`close`."""

    @property
    def key(self) -> str:
        """The key of the artifact being written (for messages)."""
        return self._tx.key

    def on_close(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` first thing in :meth:`close` (flush buffered objects there)."""
        self._on_close.append(callback)

    @property
    def prefix(self) -> str:
        """The backend prefix the objects are written under."""
        return f"{self._tx.prefix}/{self.file}"

    def _check(self, path: str) -> str:
        if self._closed:
            raise CapsaError(f"member {self.file!r} of {self._tx.key!r} is already closed")
        try:
            return validate_member_file(path, key=self._tx.key)
        except InvalidKeyError as exc:
            raise InvalidKeyError(f"member {self.file!r}: {exc}") from None

    def put(
        self,
        path: str,
        data: bytes | bytearray | memoryview | Sequence[bytes | bytearray | memoryview],
    ) -> None:
        """Write (or rewrite) the object at ``path`` inside the member.

        ``data`` is one buffer or a sequence of buffers written back to back
        (a chunk and its checksum, without copying them together).
        """
        path = self._check(path)
        parts = [data] if isinstance(data, bytes | bytearray | memoryview) else list(data)
        self._tx.keep_claim()
        writer = self._tx.backend.open_writer(f"{self.prefix}/{path}")
        sink = HashingSink(writer)
        try:
            for part in parts:
                sink.write(memoryview(part).cast("B"))
            sink.close()
            writer.commit()
        except BaseException:
            writer.abort()
            raise
        with self._objects_lock:
            self._objects[path] = (sink.size, sink.hexdigest())
            self._tx._written.add(f"{self.prefix}/{path}")

    def put_many(self, items: Iterable[tuple[str, bytes | bytearray | memoryview]]) -> None:
        """Write many objects, concurrently on backends that want it (``io_concurrency``).

        Equivalent to calling :meth:`put` for each ``(path, data)``; when one
        fails, the rest are not started and the error is raised once the
        writes in flight have finished.
        """
        pending = list(items)
        map_bounded(lambda item: self.put(*item), pending, self._tx.backend.io_concurrency)

    def get(self, path: str) -> bytes:
        """Read back an object written by this transaction."""
        return self._tx.backend.get(f"{self.prefix}/{self._check(path)}")

    def get_range(self, path: str, start: int, end: int) -> bytes:
        """Read part of an object written by this transaction."""
        return self._tx.backend.get_range(f"{self.prefix}/{self._check(path)}", start, end)

    def exists(self, path: str) -> bool:
        """True when this transaction wrote ``path``."""
        return path in self._objects

    def delete(self, path: str) -> None:
        """Remove an object written by this transaction."""
        path = self._check(path)
        self._tx.backend.delete(f"{self.prefix}/{path}")
        with self._objects_lock:
            self._objects.pop(path, None)

    def list(self, prefix: str = "") -> Iterator[tuple[str, int]]:
        """Yield ``(path, size)`` of the objects written so far, in path order."""
        with self._objects_lock:
            objects = dict(self._objects)
        for path in sorted(objects):
            if path.startswith(prefix):
                yield path, objects[path][0]

    def close(self) -> MemberRecord:
        """Run the on-close callbacks, write the ``.sha256sums`` sidecar, record the member."""
        if self._closed:
            raise CapsaError(f"member {self.file!r} of {self._tx.key!r} is already closed")
        for callback in self._on_close:
            callback()
        lines = "".join(f"{sha}  {path}\n" for path, (_, sha) in sorted(self._objects.items()))
        sums = lines.encode("utf-8")
        sums_key = f"{self._tx.prefix}/{self.file}{SUMS_SUFFIX}"
        self._tx.backend.put(sums_key, sums)
        self._tx._written.add(sums_key)
        self._closed = True
        record = MemberRecord(
            name=self.name,
            file=self.file,
            format=self._fmt.name,
            size=sum(size for size, _ in self._objects.values()),
            sha256=hashlib.sha256(sums).hexdigest(),
            options=self._options,
            info={**self.info, "objects": len(self._objects)},
            layout="directory",
        )
        self._tx._add_record(record)
        return record


class Transaction:
    """One artifact being written; see the module docs.

    Obtain it from :meth:`capsa.store.store.Store.transaction`. Use it as a
    context manager: a clean exit commits, an exception aborts.
    """

    def __init__(
        self,
        store: Store,
        key: str,
        kind: ArtifactKind,
        *,
        meta: Mapping[str, Any] | None = None,
    ):
        from capsa.formats.json import encode_json

        self.store = store
        """The store the artifact goes to."""
        self.key = key
        """The key as given."""
        self.full_key = store._full(key)
        """The key inside the backend."""
        self.kind = kind
        """The artifact kind."""
        self.backend: Backend = store.backend
        self.meta: dict[str, Any] = dict(meta or {})
        """Metadata for the manifest; may be updated until :meth:`commit`."""
        try:
            encode_json(self.meta, indent=0)
        except ValidationError as exc:
            raise ValidationError(f"artifact {key!r}: meta: {exc}") from None
        self.txid = new_txid()
        """Unique id of this transaction (recorded in the manifest)."""
        self._records: dict[str, MemberRecord] = {}
        self._directories: dict[str, DirectoryWriter] = {}
        self._formats: dict[str, Format] = {}
        self._written: set[str] = set()
        self._old: Manifest | None = None
        self._state = "open"
        store._check_ancestors(key, self.full_key)
        if not store.overwrite and self.backend.exists(f"{self.full_key}/{MARKER}"):
            raise ArtifactExistsError(  # fail before any work is done
                f"artifact {key!r} already exists in {store.url} and "
                f"{store.mode} artifacts are immutable"
            )
        self.rename = self.backend.supports_rename
        self.prefix = f"{STAGING}/{self.txid}" if self.rename else self.full_key
        """Where members are written while the transaction runs."""
        self._claimed_at = 0.0
        self._claim_lost = False
        self._outcome_unknown = False
        self._pins: Pins | None = None
        self._referenced: dict[str, int] = {}  # object digest -> size, for members by reference
        self.origin: tuple[Producer, Provenance] | None = None
        """Producer and provenance to record instead of this process's (an imported bundle)."""
        if not self.rename:
            self._claim()

    # -- the marker protocol's claim ---------------------------------------------

    def keep_claim(self) -> None:
        """Refresh this transaction's ``_CLAIM`` when a third of the gc grace period has passed.

        ``gc`` leaves alone every object under a key whose claim is younger
        than the grace period, so a save that runs for hours (a growing
        trace) keeps its members as long as it keeps writing. Called by
        :meth:`write` and by directory writers; long-running producers that
        write rarely may call it themselves. A no-op on the rename protocol.
        """
        if self.rename or self._state != "open":
            return
        if time.monotonic() - self._claimed_at < self.store.gc_grace_seconds / 3:
            return
        claim_key = f"{self.full_key}/{CLAIM}"
        try:
            current = self.backend.get(claim_key)
        except ObjectNotFoundError:
            current = b""
        if current != self.txid.encode():
            self._lost_claim()
        self.backend.put(claim_key, self.txid.encode())
        self._claimed_at = time.monotonic()

    def _lost_claim(self) -> None:
        """Our claim was collected (and maybe retaken): never touch the key's objects again."""
        self._claim_lost = True
        raise ArtifactExistsError(
            f"artifact {self.key!r}: this save lost its claim in {self.store.url} "
            f"(it paused for longer than the gc grace period of "
            f"{self.store.gc_grace_seconds:.0f} s and gc or another writer took the key)"
        )

    def _claim(self) -> None:
        backend, full, key = self.backend, self.full_key, self.key
        marker = f"{full}/{MARKER}"
        exists = backend.exists(marker)
        if exists and not self.store.overwrite:
            # Committed by a racing writer since __init__ looked: never retract it.
            raise ArtifactExistsError(
                f"artifact {key!r} already exists in {self.store.url} and "
                f"{self.store.mode} artifacts are immutable"
            )
        if not exists:
            stray = [info.key for info in backend.list(f"{full}/")]
            if marker in stray and not self.store.overwrite:
                raise ArtifactExistsError(
                    f"artifact {key!r} was committed by a concurrent writer in "
                    f"{self.store.url}; {self.store.mode} artifacts are immutable"
                )
            if any(k.endswith(f"/{MARKER}") and k != marker for k in stray):
                raise InvalidKeyError(
                    f"key {key!r} is a prefix of other artifacts; artifacts cannot nest"
                )
            if f"{full}/{CLAIM}" in stray and not self.store.overwrite:
                raise ArtifactExistsError(
                    f"artifact {key!r} is being written by another save in {self.store.url} "
                    "(if that save crashed, `capsa gc` removes its claim after the grace period)"
                )
            if stray and not self.store.overwrite:
                raise ArtifactExistsError(
                    f"key {key!r} holds uncommitted objects from a concurrent or interrupted "
                    "save; if no save is running, `capsa gc` removes them"
                )
        try:
            backend.put(f"{full}/{CLAIM}", self.txid.encode(), create_only=not self.store.overwrite)
        except ObjectExistsError:
            raise ArtifactExistsError(
                f"artifact {key!r} is being written by another save in {self.store.url}; "
                f"{self.store.mode} artifacts are immutable"
            ) from None
        self._claimed_at = time.monotonic()
        if not self.store.overwrite and backend.exists(marker):
            # A racing save claimed, committed and released the key between our
            # listing and our claim: members are plain puts, so stop before any.
            with contextlib.suppress(Exception):
                backend.delete(f"{full}/{CLAIM}")
            raise ArtifactExistsError(
                f"artifact {key!r} already exists in {self.store.url} and "
                f"{self.store.mode} artifacts are immutable"
            )
        if exists:
            with contextlib.suppress(CapsaError):
                self._old = decode_manifest(backend.get(marker), key=key)
            backend.delete(marker)  # retract first: no reader matches old manifest to new bytes

    # -- writing members -----------------------------------------------------------

    def _member_target(self, name: str, format: str | None) -> tuple[str, str, Format]:
        """Resolve ``name`` to (logical name, file, format) using the kind's spec."""
        self._require_open()
        registry = self.store.registry
        spec = self.kind.member(name)
        if spec is not None:
            return spec.name, spec.file, registry.format(format or spec.format)
        if not self.kind.open_layout:
            known = ", ".join(repr(m.name) for m in self.kind.members)
            raise ValidationError(
                f"artifact {self.key!r}: kind {self.kind.name!r} has no member {name!r}; "
                f"its members are {known}"
            )
        file = validate_member_file(name, key=self.key)
        fmt = registry.format(format) if format else registry.format_for_filename(file)
        return name, file, fmt

    def _add_record(self, record: MemberRecord) -> None:
        if record.file in self._records:
            raise ValidationError(f"artifact {self.key!r}: member {record.file!r} written twice")
        self._records[record.file] = record

    def write(
        self,
        name: str,
        value: Any,
        *,
        format: str | None = None,
        options: Mapping[str, Any] | None = None,
        validate: bool = True,
        by_reference: bool = False,
    ) -> MemberRecord:
        """Write one file member now, through its format.

        :param name: member name (logical or file name for declared members;
            the file name, format by extension, for open layouts).
        :param format: override the format (rarely needed).
        :param options: format options (recorded in the manifest).
        :param validate: run the format's validation first (``save`` has
            already done it).
        :param by_reference: store the bytes as a content-addressed object
            (:mod:`capsa.objects`), once for all members with the same bytes,
            and record its digest in the manifest instead of writing a file
            under the artifact. Directory members cannot be.
        """
        from capsa.formats.json import encode_json

        logical, file, fmt = self._member_target(name, format)
        if file in self._records or file in self._directories:
            raise ValidationError(f"artifact {self.key!r}: member {file!r} written twice")
        spec = self.kind.member(logical)
        opts = {**(spec.options if spec else {}), **dict(options or {})}
        if validate:
            try:
                encode_json(opts, indent=0)
                fmt.validate(value, **opts)
            except ValidationError as exc:
                raise ValidationError(f"artifact {self.key!r}, member {file!r}: {exc}") from None
            except (TypeError, ValueError) as exc:
                raise ValidationError(
                    f"artifact {self.key!r}, member {file!r}: {type(exc).__name__}: {exc}"
                ) from None
        if by_reference:
            if fmt.directory:
                raise ValidationError(
                    f"artifact {self.key!r}, member {file!r}: format {fmt.name!r} writes a "
                    "directory member, which cannot be stored by reference"
                )
            return self._write_object(logical, file, fmt, value, opts)
        if fmt.directory:
            directory = self.directory(logical, format=fmt.name, options=opts)
            try:
                info = fmt.write(value, directory, **opts)  # type: ignore[arg-type]
            except (CapsaError, OSError):
                raise
            except Exception as exc:
                raise _wrap_write_error(self.key, file, fmt.name, exc) from exc
            directory.info = dict(info or {})
            return directory.close()
        object_key = f"{self.prefix}/{file}"
        # Staging files are new names (O_EXCL). On the marker protocol the claim
        # already makes this transaction the only writer under the key, so
        # members are plain puts, which object stores stream as multipart
        # uploads; the create-only marker decides who commits.
        self.keep_claim()
        writer = self.backend.open_writer(object_key, create_only=self.rename)
        sink = HashingSink(writer)
        try:
            info = fmt.write(value, sink, **opts)  # type: ignore[arg-type]
            sink.close()
            writer.commit()
        except ObjectExistsError:
            writer.abort()
            raise ArtifactExistsError(
                f"artifact {self.key!r} was created by a concurrent writer in "
                f"{self.store.url}; {self.store.mode} artifacts are immutable"
            ) from None
        except (CapsaError, OSError):
            # Refusals and storage errors (ENOSPC, EIO ...) keep their own type.
            writer.abort()
            raise
        except Exception as exc:
            writer.abort()
            raise _wrap_write_error(self.key, file, fmt.name, exc) from exc
        finally:
            if not sink.closed:
                sink.close()
        self._written.add(object_key)
        record = MemberRecord(
            name=logical,
            file=file,
            format=fmt.name,
            size=sink.size,
            sha256=sink.hexdigest(),
            options=opts,
            info=dict(info or {}),
        )
        self._add_record(record)
        return record

    # -- members stored by reference (content-addressed objects) -----------------

    def _pin(self, digest: str) -> None:
        if self._pins is None:
            from capsa.objects.pins import Pins

            self._pins = Pins(self.backend, self.txid)
        self._pins.pin(digest)

    def put_object(
        self,
        data: bytes | bytearray | memoryview | BinaryIO,
        *,
        digest: str | None = None,
        size: int | None = None,
    ) -> ObjectRef:
        """Store bytes as a content-addressed object for this save to reference.

        The object is pinned for this transaction first, so a concurrent
        ``gc`` leaves it alone; identical bytes already stored are reused.
        ``data`` may be a binary file, streamed with bounded memory: give its
        ``digest`` and ``size`` then (checked on the way). Reference the
        object with :meth:`write_record` (``object=`` the digest).
        """
        from capsa.objects.store import ObjectStore, check_digest
        from capsa.store.hashing import sha256_bytes

        self._require_open()
        self.keep_claim()
        objects = ObjectStore(self.backend)
        if isinstance(data, bytes | bytearray | memoryview):
            view = memoryview(data).cast("B")
            digest = sha256_bytes(view)
            self._pin(digest)
            ref = objects.put_known(digest, view)
        else:
            if digest is None or size is None:
                raise ValidationError(
                    f"artifact {self.key!r}: put_object() of a file needs its digest and size"
                )
            self._pin(check_digest(digest))
            ref = objects.put_stream(data, digest, size)
        self._referenced[ref.digest] = ref.size
        return ref

    def _write_object(
        self, logical: str, file: str, fmt: Format, value: Any, opts: dict[str, Any]
    ) -> MemberRecord:
        from capsa.objects.spool import Spool
        from capsa.objects.store import ObjectStore

        self.keep_claim()
        info: Mapping[str, Any] | None = None
        if fmt.name == "bytes" and isinstance(value, bytes | bytearray | memoryview):
            ref = self.put_object(value)  # stored as given: no spool copy
        else:
            with Spool() as spool:
                try:
                    info = fmt.write(value, spool.sink, **opts)  # type: ignore[arg-type]
                except (CapsaError, OSError):
                    raise
                except Exception as exc:
                    raise _wrap_write_error(self.key, file, fmt.name, exc) from exc
                spool.finish()
                self._pin(spool.digest)
                ref = ObjectStore(self.backend).put_stream(
                    spool.file, spool.digest, spool.size, verify=False
                )
            self._referenced[ref.digest] = ref.size
        record = MemberRecord(
            name=logical,
            file=file,
            format=fmt.name,
            size=ref.size,
            sha256=ref.digest,
            options=opts,
            info=dict(info or {}),
            object=ref.digest,
        )
        self._add_record(record)
        return record

    def write_record(
        self,
        record: MemberRecord,
        data: bytes | bytearray | memoryview | BinaryIO | None = None,
    ) -> MemberRecord:
        """Add a member exactly as ``record`` describes it (restoring a bundle, copying).

        A record stored by reference needs its object stored already (by
        :meth:`put_object` or an earlier save); its size is checked. Any other
        file record needs ``data`` (bytes, or a binary file streamed with
        bounded memory), whose size and sha256 must match. Format, options and
        info are kept as recorded.
        """
        from capsa.objects.store import ObjectStore
        from capsa.store.hashing import sha256_bytes

        self._require_open()
        file = validate_member_file(record.file, key=self.key)
        if file in self._records or file in self._directories:
            raise ValidationError(f"artifact {self.key!r}: member {file!r} written twice")
        if record.layout != "file":
            raise ValidationError(
                f"artifact {self.key!r}, member {file!r}: write_record takes file members; "
                "write directory members through directory()"
            )
        self.keep_claim()
        if record.by_reference:
            digest = str(record.object)
            self._pin(digest)
            try:
                size = ObjectStore(self.backend).size(digest)
            except ObjectNotFoundError:
                raise IntegrityError(
                    f"artifact {self.key!r}, member {file!r}: object {digest} is not stored "
                    f"in {self.store.url}"
                ) from None
            if size != record.size or digest != record.sha256:
                raise IntegrityError(
                    f"artifact {self.key!r}, member {file!r}: object {digest[:16]}... has "
                    f"{size} bytes, the record says {record.size}"
                )
            self._referenced[digest] = size
        else:
            if data is None:
                raise ValidationError(
                    f"artifact {self.key!r}, member {file!r}: the member's bytes are needed"
                )
            mismatch = IntegrityError(
                f"artifact {self.key!r}, member {file!r}: the bytes do not match the record "
                "(size or sha256)"
            )
            object_key = f"{self.prefix}/{file}"
            if isinstance(data, bytes | bytearray | memoryview):
                view = memoryview(data).cast("B")
                if view.nbytes != record.size or sha256_bytes(view) != record.sha256:
                    raise mismatch
                chunks: Iterable[bytes | bytearray | memoryview] = [view]
            else:
                stream = data
                chunks = iter(lambda: stream.read(8 << 20), b"")
            writer = self.backend.open_writer(object_key, create_only=self.rename)
            sink = HashingSink(writer)
            try:
                for chunk in chunks:
                    sink.write(chunk)
                sink.close()
                if sink.size != record.size or sink.hexdigest() != record.sha256:
                    raise mismatch
                writer.commit()
            except ObjectExistsError:
                writer.abort()
                raise ArtifactExistsError(
                    f"artifact {self.key!r} was created by a concurrent writer in "
                    f"{self.store.url}; {self.store.mode} artifacts are immutable"
                ) from None
            except BaseException:
                writer.abort()
                raise
            finally:
                if not sink.closed:
                    sink.close()
            self._written.add(object_key)
        self._add_record(record)
        return record

    def _check_objects(self) -> None:
        """Before the marker: every referenced object is still stored (no gc took it)."""
        if not self._referenced:
            return
        from capsa.objects.lease import LEASE_STALE_SECONDS, wait_for_gc
        from capsa.objects.store import object_key

        assert self._pins is not None
        self._pins.refresh(older_than=self.store.gc_grace_seconds / 3)
        if not wait_for_gc(self.backend):
            raise CapsaError(
                f"artifact {self.key!r}: a gc has been deleting objects in {self.store.url} "
                f"for over {LEASE_STALE_SECONDS:.0f} s; save again once it has finished"
            )

        def check(item: tuple[str, int]) -> str | None:
            digest, size = item
            try:
                stored = self.backend.head(object_key(digest)).size
            except ObjectNotFoundError:
                return digest
            return None if stored == size else digest

        missing = [
            d
            for d in map_bounded(
                check, sorted(self._referenced.items()), self.backend.io_concurrency
            )
            if d is not None
        ]
        if missing:
            raise IntegrityError(
                f"artifact {self.key!r}: object(s) {', '.join(d[:16] + '...' for d in missing)} "
                f"referenced by this save were removed from {self.store.url} before the commit "
                "(by a gc while the save was paused for longer than the grace period?); "
                "save again"
            )

    def directory(
        self,
        name: str,
        *,
        format: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> DirectoryWriter:
        """Open a directory member (a tree of objects) for writing.

        Format plugins such as capsa-zarr build their store adapters on the
        returned :class:`DirectoryWriter`.
        """
        logical, file, fmt = self._member_target(name, format)
        if not fmt.directory:
            raise ValidationError(
                f"artifact {self.key!r}: format {fmt.name!r} writes single files, "
                f"not a directory member ({file!r})"
            )
        if file in self._directories or file in self._records:
            raise ValidationError(f"artifact {self.key!r}: member {file!r} written twice")
        writer = DirectoryWriter(self, logical, file, fmt, dict(options or {}))
        self._directories[file] = writer
        return writer

    # -- commit / abort --------------------------------------------------------------

    def _require_open(self) -> None:
        if self._state != "open":
            raise CapsaError(f"transaction for {self.key!r} is already {self._state}")

    def _check_members(self) -> None:
        present = {r.name for r in self._records.values()}
        missing = [m.name for m in self.kind.members if m.required and m.name not in present]
        if missing:
            raise ValidationError(
                f"artifact {self.key!r}: kind {self.kind.name!r}: required member(s) "
                f"{', '.join(map(repr, missing))} missing"
            )
        if not self._records:
            raise ValidationError(f"artifact {self.key!r}: nothing to save (no members)")

    def commit(self) -> ArtifactRef:
        """Write ``_SUCCESS`` and make the artifact visible; return its reference."""
        from capsa.formats.json import encode_json
        from capsa.store import provenance

        self._require_open()
        try:
            for directory in self._directories.values():
                if not directory._closed:
                    directory.close()
            self._check_members()
            encode_json(self.meta, indent=0)
            self._check_objects()
            manifest = Manifest(
                schema=MANIFEST_SCHEMA,
                schema_version=MANIFEST_VERSION,
                key=self.key,
                namespace=self.store.namespace,
                kind=self.kind.name,
                kind_version=self.kind.version,
                created_at=_now_iso(),
                txid=self.txid,
                mode=self.store.mode,
                members=sorted(self._records.values(), key=lambda r: r.file),
                producer=self.origin[0] if self.origin else self._producer(),
                provenance=self.origin[1] if self.origin else provenance.capture(),
                meta=self.meta,
            )
            if self.rename:
                self._publish_rename(manifest)
            else:
                self._publish_marker(manifest)
        except BaseException:
            self.abort()
            raise
        self._state = "committed"
        ref = ArtifactRef(
            key=self.key,
            full_key=self.full_key,
            url=self.backend.join(self.full_key),
            manifest=manifest,
            local_dir=self.backend.local_path(self.full_key),
        )
        from capsa.plugins.manager import fire_committed

        fire_committed(
            CommitEvent(
                store_url=self.store.url,
                key=self.key,
                full_key=self.full_key,
                url=ref.url,
                mode=self.store.mode,
                manifest=manifest,
                backend=self.backend,
            )
        )
        return ref

    def abort(self) -> None:
        """Discard everything written; the key keeps its previous state (if any)."""
        if self._state != "open":
            return
        self._state = "aborted"
        backend = self.backend
        if self._pins is not None:
            # The objects stay (they may be shared); unpinned, gc collects them when unused.
            with contextlib.suppress(Exception):
                backend.delete_prefix(f"{self._pins.prefix}/")
        if self._claim_lost or self._outcome_unknown:
            # The key's objects may be another writer's now, or the members of
            # a marker that landed unseen: leave them to gc.
            return
        if self.rename:
            with contextlib.suppress(Exception):
                backend.delete_prefix(f"{self.prefix}/")
            return
        for object_key in sorted(self._written):
            with contextlib.suppress(Exception):
                backend.delete(object_key)
        with contextlib.suppress(Exception):
            claim = backend.get(f"{self.full_key}/{CLAIM}")
            if claim == self.txid.encode():
                backend.delete(f"{self.full_key}/{CLAIM}")

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()
        elif self._state == "open":
            self.commit()

    # -- protocols -------------------------------------------------------------------

    def _producer(self) -> Producer:
        from capsa import __version__
        from capsa.plugins.manager import list_plugins

        registry = self.store.registry
        names: set[str] = set()
        with contextlib.suppress(KeyError):
            names.add(registry.kinds.plugin_of(self.kind.name))
        for record in self._records.values():
            with contextlib.suppress(KeyError):
                names.add(registry.formats.plugin_of(record.format))
        plugins = {
            info.distribution: info.version
            for info in list_plugins()
            if info.name in names and info.distribution != "capsa"
        }
        return Producer(capsa=__version__, plugins=dict(sorted(plugins.items())))

    def _publish_rename(self, manifest: Manifest) -> None:
        backend, staging = self.backend, self.prefix
        backend.put(f"{staging}/{MARKER}", encode_manifest(manifest), create_only=True)
        backend.sync_prefix(staging)
        full, key = self.full_key, self.key
        try:
            backend.rename_prefix(staging, full)
            return
        except ObjectExistsError:
            pass
        has_marker = backend.exists(f"{full}/{MARKER}")
        if not has_marker:
            if any(True for _ in backend.list(f"{full}/")):
                raise InvalidKeyError(
                    f"key {key!r} is a folder that holds other artifacts or foreign files; "
                    "artifacts cannot nest"
                )
            # An empty folder left behind (e.g. by a delete): take its place.
            local = backend.local_path(full)
            if local is not None:
                with contextlib.suppress(OSError):
                    local.rmdir()
            try:
                backend.rename_prefix(staging, full)
                return
            except ObjectExistsError:
                has_marker = True
        if not self.store.overwrite:
            raise ArtifactExistsError(
                f"artifact {key!r} already exists in {self.store.url} and "
                f"{self.store.mode} artifacts are immutable"
            )
        backend.rename_prefix(staging, full, exchange=True)
        # The replaced version now sits at the staging path: move it to trash.
        trash = f"{TRASH}/{self.txid}"
        backend.rename_prefix(staging, trash)
        with contextlib.suppress(Exception):
            backend.delete_prefix(f"{trash}/")

    def _marker_is_ours(self, marker: str) -> bool:
        """True when ``marker`` can be read back and names this transaction."""
        try:
            return decode_manifest(self.backend.get(marker), key=self.key).txid == self.txid
        except (CapsaError, OSError):
            return False

    def _publish_marker(self, manifest: Manifest) -> None:
        backend, full = self.backend, self.full_key
        marker = f"{full}/{MARKER}"
        if not self.store.overwrite:
            # Members were plain puts under our claim: commit only while we still hold it.
            try:
                held = backend.get(f"{full}/{CLAIM}") == self.txid.encode()
            except ObjectNotFoundError:
                held = False
            if not held:
                self._lost_claim()
        try:
            backend.put(marker, encode_manifest(manifest), create_only=not self.store.overwrite)
        except ObjectExistsError:
            raise ArtifactExistsError(
                f"artifact {self.key!r} was created by a concurrent writer in "
                f"{self.store.url}; {self.store.mode} artifacts are immutable"
            ) from None
        except TransientError:
            if not self._marker_is_ours(marker):
                # The marker may have landed (or may still land): the members it
                # would list must stay. gc removes them if it never appears.
                self._outcome_unknown = True
                raise
        self._state = "committed"  # from here on, abort must not delete members
        with contextlib.suppress(Exception):
            backend.delete(f"{full}/{CLAIM}")
        if self._old is not None:
            # Members stored by reference have no file under the key: an old
            # in-place file of the same name goes.
            keep = {r.file for r in manifest.members if not r.by_reference}
            for record in self._old.members:
                if record.file in keep:
                    if record.layout == "directory" and record.file in self._directories:
                        # Same directory member rewritten: drop objects the new
                        # version does not list.
                        new = self._directories[record.file]
                        for path, _size in list(
                            StoredDirectory(
                                backend, f"{full}/{record.file}", record, self.key
                            ).list()
                        ):
                            if not new.exists(path):
                                with contextlib.suppress(Exception):
                                    backend.delete(f"{full}/{record.file}/{path}")
                    continue
                if record.layout == "directory":
                    with contextlib.suppress(Exception):
                        backend.delete_prefix(f"{full}/{record.file}/")
                        backend.delete(f"{full}/{record.file}{SUMS_SUFFIX}")
                else:
                    with contextlib.suppress(Exception):
                        backend.delete(f"{full}/{record.file}")
