"""A version chain: compare-and-swap on any backend from create-only puts.

A runs inventory's source of truth is a chain of immutable versions under
capsa's internal folder (which ``capsa gc`` leaves alone)::

    .capsa/dimred/inventories/<inventory key>/v/000000000000.json   version 0
    .capsa/dimred/inventories/<inventory key>/v/000000000001.json   version 1
    ...
    .capsa/dimred/inventories/<inventory key>/head                  hint: newest version known

Version ``n + 1`` holds the whole inventory after one upsert: a header line
(:class:`~capsa_dimred.schema.VersionHeader`: the key fields it is sorted
by, its record count) followed by the inventory file's exact bytes. A
writer reads the newest version ``n``, applies its upsert and puts version
``n + 1`` *create-only* (``O_EXCL``/no-replace link locally,
``If-None-Match: *`` on object stores). Of racing writers exactly one
creates it; the others get ``ObjectExistsError``, re-read and retry. That is
a compare-and-swap whose "compare" is the version number, so no upsert can
overwrite another: none is lost, with no lock, no lease and no clock.

Versions are never deleted (a deleted version could be re-created by a slow
writer holding an old read); versions older than the last two are replaced
by empty *tombstones* to keep the chain small. Existence is therefore
monotone (versions ``0..newest`` exist, none above), which lets the newest
be found by galloping from the ``head`` hint: usually one ``head`` request.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib

import msgspec

from capsa.backends.base import Backend
from capsa.errors import ObjectExistsError, ObjectNotFoundError
from capsa_dimred.errors import InventoryFormatError
from capsa_dimred.schema import InventoryHead, VersionHeader

CHAIN_ROOT = ".capsa/dimred/inventories"
"""Backend prefix of every inventory's chain."""

KEEP = 2
"""Versions kept with their content; older ones are tombstoned."""

LOCAL_HINT_EVERY = 32
"""On a local folder the head hint is rewritten every this many versions.

Probing a local file costs a ``stat``, far less than rewriting the hint, and
each process also remembers the newest version it has seen.
"""

_KNOWN: dict[str, int] = {}
"""Per chain (backend URL + prefix): the newest version this process has seen.

Versions never disappear, so this is a safe lower bound to gallop from."""

_HEAD = msgspec.json.Decoder(InventoryHead)
_VERSION_HEADER = msgspec.json.Decoder(VersionHeader)
_MAX_PLAIN_KEY = 512


def chain_prefix(full_key: str) -> str:
    """The chain prefix of the inventory at backend key ``full_key``.

    Very long keys are shortened to a hash so the chain's keys stay within
    object-store limits.
    """
    name = full_key
    if len(full_key.encode("utf-8")) > _MAX_PLAIN_KEY:
        name = "sha256-" + hashlib.sha256(full_key.encode("utf-8")).hexdigest()
    return f"{CHAIN_ROOT}/{name}"


def pack_version(body: bytes, sorted_by: list[str] | tuple[str, ...], records: int) -> bytes:
    """A version object: the header line, then the inventory bytes."""
    header = VersionHeader(sorted_by=list(sorted_by), records=records)
    return msgspec.json.encode(header) + b"\n" + body


def unpack_version(raw: bytes, shown: str) -> tuple[VersionHeader, bytes]:
    """Split a version object into its header and the inventory bytes."""
    line, sep, body = raw.partition(b"\n")
    try:
        if not sep:
            raise msgspec.DecodeError("no header line")
        return _VERSION_HEADER.decode(line), body
    except msgspec.DecodeError as exc:
        raise InventoryFormatError(
            f"runs inventory {shown}: a version of its chain is damaged ({exc}); "
            "restore_runs() rebuilds the inventory from its mirrored records"
        ) from None


def put_hint(backend: Backend, key: str, data: bytes) -> None:
    """Replace a bookkeeping object (head hint, tombstone) atomically, without forcing it to disk.

    These objects are hints: losing one in a crash costs a longer search,
    never a record. On a local folder they are written to a temporary file and
    renamed into place (readers see the old or the new bytes) without the
    fsyncs of :meth:`Backend.put`; elsewhere they are ordinary puts.
    """
    path = backend.local_path(key)
    if path is None:
        backend.put(key, data)
        return
    import os
    import uuid

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class VersionChain:
    """The version chain of one inventory (see the module docs)."""

    def __init__(self, backend: Backend, full_key: str, shown: str):
        self.backend = backend
        self.prefix = chain_prefix(full_key)
        """Backend prefix of the chain."""
        self.shown = shown
        self.head_key = f"{self.prefix}/head"
        self._known_key = f"{backend.url}|{self.prefix}"
        self._local = backend.local_path(self.head_key) is not None

    def version_key(self, n: int) -> str:
        """Backend key of version ``n``."""
        return f"{self.prefix}/v/{n:012d}.json"

    def _exists(self, n: int) -> bool:
        return n < 0 or self.backend.exists(self.version_key(n))

    def hint(self) -> int:
        """The newest version recorded in ``head`` (-1 when there is none or it is unreadable)."""
        try:
            return max(-1, _HEAD.decode(self.backend.get(self.head_key)).version)
        except (ObjectNotFoundError, msgspec.DecodeError):
            return -1

    def newest(self, start: int | None = None) -> int:
        """The newest existing version (-1 for an empty chain), galloping from ``start``.

        Without ``start``: from the newest version this process has seen, else
        from the head hint.
        """
        if start is None:
            known = _KNOWN.get(self._known_key)
            lo = known if known is not None else self.hint()
        else:
            lo = start
        if not self._exists(lo):
            lo = -1  # a hint ahead of the chain (hand-edited): search from the start
        step = 1
        while self._exists(lo + step):
            lo += step
            step *= 2
        hi = lo + step
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._exists(mid):
                lo = mid
            else:
                hi = mid
        self._remember(lo)
        return lo

    def _remember(self, n: int) -> None:
        if n >= 0 and n > _KNOWN.get(self._known_key, -1):
            _KNOWN[self._known_key] = n

    def read_newest(self, start: int | None = None) -> tuple[int, bytes | None]:
        """``(n, content of version n)`` for the newest version; ``(-1, None)`` when empty."""
        n = self.newest(start)
        for _ in range(1000):
            if n < 0:
                return -1, None
            try:
                data = self.backend.get(self.version_key(n))
            except ObjectNotFoundError:
                data = b""
            if data:
                return n, data
            # Tombstoned under us: newer versions exist.
            n = self.newest(n)
        raise InventoryFormatError(  # pragma: no cover - needs 1000 concurrent tombstonings
            f"runs inventory {self.shown}: could not read a live version of its chain"
        )

    def try_create(self, n: int, data: bytes) -> bool:
        """Create version ``n`` with ``data``; False when another writer created it first."""
        try:
            self.backend.put(self.version_key(n), data, create_only=True)
        except ObjectExistsError:
            return False
        self._remember(n)
        return True

    def after_create(self, n: int, records: int) -> None:
        """Record ``n`` in the head hint and tombstone the version that fell out of :data:`KEEP`."""
        if not self._local or n % LOCAL_HINT_EVERY == 0:
            head = InventoryHead(version=n, records=records, updated_at=_now())
            put_hint(self.backend, self.head_key, msgspec.json.encode(head))
        old = n - KEEP
        if old >= 0:
            with contextlib.suppress(ObjectNotFoundError):
                put_hint(self.backend, self.version_key(old), b"")
