"""Content-addressed objects: identical bytes stored once, under their sha256.

Objects live in the store's backend root, next to capsa's other bookkeeping::

    .capsa/objects/<first 2 hex of the digest>/<sha256 hex>

They are shared by every namespace of the root (production, development
sessions, test namespaces), so the same model saved from two sessions is
stored once. An object is written with a create-only put: two writers racing
on the same bytes both succeed, one of them writing. An object that already
exists is reused after checking its size (a stored object of the wrong size
is corrupt and is replaced by the known-good bytes).

Objects are never referenced by key from user code: an artifact member stored
*by reference* records the digest in its manifest (``MemberRecord.object``),
and ``load``/``verify`` read and re-hash the object. ``gc`` deletes objects
that no committed manifest references once they are older than the grace
period (see :mod:`capsa.objects.pins` for saves in flight).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import msgspec

from capsa.errors import IntegrityError, ObjectExistsError, ObjectNotFoundError, ValidationError
from capsa.store.keys import INTERNAL_PREFIX

if TYPE_CHECKING:
    from capsa.backends.base import Backend

OBJECTS_PREFIX = f"{INTERNAL_PREFIX}/objects"
"""Where content-addressed objects live in a backend root."""

_DIGEST = re.compile(r"^[0-9a-f]{64}$")

COPY_CHUNK = 8 << 20
"""Bytes per read when streaming a file or a spool into an object."""


class ObjectRef(msgspec.Struct, frozen=True, kw_only=True):
    """One stored object.

    :ivar digest: hex sha256 of its bytes (its name).
    :ivar size: size in bytes.
    :ivar reused: True when the object was already stored (nothing was written).
    """

    digest: str
    size: int
    reused: bool = False

    @property
    def key(self) -> str:
        """The backend key of the object."""
        return object_key(self.digest)


def check_digest(digest: object) -> str:
    """Return ``digest`` when it is a lowercase hex sha256; raise ValidationError otherwise."""
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise ValidationError(f"expected a lowercase hex sha256 object digest, got {digest!r}")
    return digest


def object_key(digest: str) -> str:
    """The backend key of the object named ``digest``: ``.capsa/objects/ab/ab...``."""
    check_digest(digest)
    return f"{OBJECTS_PREFIX}/{digest[:2]}/{digest}"


def digest_of_key(key: str) -> str | None:
    """The digest an object key names, or None when ``key`` is not an object key."""
    if not key.startswith(OBJECTS_PREFIX + "/"):
        return None
    rest = key[len(OBJECTS_PREFIX) + 1 :]
    fan, _, digest = rest.partition("/")
    if _DIGEST.match(digest) and fan == digest[:2]:
        return digest
    return None


class ObjectStore:
    """The content-addressed objects of one backend root.

    ``store.objects`` gives the one of a :class:`~capsa.store.store.Store`.
    Putting bytes returns an :class:`ObjectRef`; putting the same bytes again
    writes nothing.
    """

    def __init__(self, backend: Backend):
        self.backend = backend
        """The backend the objects live in."""

    def __repr__(self) -> str:
        return f"<capsa.ObjectStore {self.backend.url!r}>"

    # -- writing -----------------------------------------------------------------

    def _existing(self, digest: str, size: int) -> bool:
        """True when the object is stored with the right size (a wrong size is corrupt)."""
        try:
            info = self.backend.head(object_key(digest))
        except ObjectNotFoundError:
            return False
        return info.size == size

    def put(self, data: bytes | bytearray | memoryview) -> ObjectRef:
        """Store ``data`` once; return its reference (``reused`` when it was already there)."""
        view = memoryview(data).cast("B")
        digest = hashlib.sha256(view).hexdigest()
        return self.put_known(digest, view)

    def put_known(self, digest: str, data: bytes | bytearray | memoryview) -> ObjectRef:
        """Store ``data`` whose sha256 the caller computed as ``digest``.

        The caller vouches for the digest (it hashed the very buffer); use
        :meth:`put` when in doubt.
        """
        view = memoryview(data).cast("B")
        size = view.nbytes
        if self._existing(digest, size):
            return ObjectRef(digest=digest, size=size, reused=True)
        key = object_key(digest)
        try:
            self.backend.put(key, view, create_only=True)
        except ObjectExistsError:
            if self._existing(digest, size):
                return ObjectRef(digest=digest, size=size, reused=True)
            self.backend.put(key, view)  # a corrupt object: replace it with the right bytes
        return ObjectRef(digest=digest, size=size)

    def put_stream(self, fh: BinaryIO, digest: str, size: int, *, verify: bool = True) -> ObjectRef:
        """Store the ``size`` bytes left in ``fh``, whose sha256 is ``digest``.

        Nothing is read when the object already exists. With ``verify`` the
        bytes are hashed again on the way and the object is not published if
        they differ (a file that changed since it was hashed); a private spool
        that cannot change may skip it.
        """
        check_digest(digest)
        if self._existing(digest, size):
            return ObjectRef(digest=digest, size=size, reused=True)
        key = object_key(digest)
        start = fh.tell()
        replace = False
        while True:
            writer = self.backend.open_writer(key, create_only=not replace)
            hasher = hashlib.sha256()
            written = 0
            try:
                while chunk := fh.read(COPY_CHUNK):
                    if verify:
                        hasher.update(chunk)
                    writer.write(chunk)
                    written += len(chunk)
                if written != size or (verify and hasher.hexdigest() != digest):
                    raise IntegrityError(
                        f"object {digest[:16]}...: the bytes changed while being stored "
                        f"({written} bytes read, {size} expected)"
                    )
                writer.commit()
            except ObjectExistsError:
                writer.abort()
                if self._existing(digest, size):
                    return ObjectRef(digest=digest, size=size, reused=True)
                replace = True  # a corrupt object: write the right bytes over it
                fh.seek(start)
                continue
            except BaseException:
                writer.abort()
                raise
            return ObjectRef(digest=digest, size=size)

    def put_file(self, path: str | os.PathLike[str]) -> ObjectRef:
        """Store a file's bytes once, streamed with bounded memory."""
        from capsa.store.hashing import hash_stream

        with open(path, "rb") as fh:
            size, digest = hash_stream(fh, size_hint=os.fstat(fh.fileno()).st_size)
            fh.seek(0)
            return self.put_stream(fh, digest, size)

    # -- reading -----------------------------------------------------------------

    def exists(self, digest: str) -> bool:
        """True when the object is stored."""
        return self.backend.exists(object_key(digest))

    def size(self, digest: str) -> int:
        """Stored size of the object (ObjectNotFoundError when absent)."""
        return self.backend.head(object_key(digest)).size

    def get(self, digest: str) -> bytes:
        """Read the whole object and check its sha256 (IntegrityError when it differs)."""
        try:
            data = self.backend.get(object_key(digest))
        except ObjectNotFoundError:
            raise ObjectNotFoundError(
                f"object {digest} is not stored in {self.backend.url}"
            ) from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise IntegrityError(f"object {digest} in {self.backend.url} does not match its name")
        return data

    def open(self, digest: str) -> BinaryIO:
        """Open the object as a seekable binary file (not checked; see :meth:`check`)."""
        return self.backend.open_reader(object_key(digest))

    def local_path(self, digest: str) -> Path | None:
        """The object's file on a local backend, else None."""
        return self.backend.local_path(object_key(digest))

    def check(self, digest: str, size: int | None = None) -> str | None:
        """Re-hash the object; return what is wrong with it, or None when intact."""
        from capsa.store.hashing import hash_stream

        try:
            with self.open(digest) as fh:
                actual_size, actual = hash_stream(fh, size_hint=size)
        except ObjectNotFoundError:
            return "missing"
        if size is not None and actual_size != size:
            return f"{actual_size} bytes stored, {size} expected"
        if actual != digest:
            return f"sha256 {actual[:16]}... differs from its name"
        return None

    def __iter__(self) -> Iterator[ObjectRef]:
        """Every stored object (listing order), with its size."""
        for info in self.backend.list(OBJECTS_PREFIX + "/"):
            digest = digest_of_key(info.key)
            if digest is not None:
                yield ObjectRef(digest=digest, size=info.size, reused=True)

    def usage(self) -> tuple[int, int]:
        """``(objects, bytes)`` stored."""
        count = total = 0
        for ref in self:
            count += 1
            total += ref.size
        return count, total


__all__ = [
    "OBJECTS_PREFIX",
    "ObjectRef",
    "ObjectStore",
    "check_digest",
    "digest_of_key",
    "object_key",
]
