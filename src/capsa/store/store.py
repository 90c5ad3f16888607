"""The store: atomic, verified, mode-aware artifacts on any backend.

Layout inside a backend root::

    <namespace>/<key>/<member files>   the members, plain files
    <namespace>/<key>/_SUCCESS         the manifest, written last
    .capsa/staging/<txid>/             saves in progress (rename-capable backends)
    .capsa/trash/<txid>/               replaced versions awaiting removal
    .capsa/objects/<ab>/<sha256>       content-addressed objects (members stored by reference)
    .capsa/pins/<txid>/<sha256>        objects a save in flight references (capsa.objects.pins)
    .capsa/gc/<id>.lease               a gc deleting objects (capsa.objects.lease)
    .capsa/catalog.sqlite | catalog/   the catalog (capsa.catalog), derived from the markers

``<namespace>`` is empty in production, ``dev/<session>`` in development and
``tests/<name>`` in test mode.

Commit protocols:

* **Rename** (backends with ``supports_rename``, i.e. a local folder): members
  and ``_SUCCESS`` are written and fsynced in a staging folder on the same
  filesystem, which is then renamed onto the key with ``RENAME_NOREPLACE``
  (production: of two racing writers exactly one wins) or swapped with
  ``RENAME_EXCHANGE`` (development/test overwrite: readers see the old
  artifact or the new one, never a mix).
* **Marker** (object stores, ``memory://``): the save claims the key with a
  create-only ``_CLAIM`` object (``If-None-Match: *``), puts members in
  place (plain puts under the claim), then ``_SUCCESS`` last, create-only in
  production, and drops the claim. A racing writer fails at the claim.

Both are implemented by :class:`capsa.store.transaction.Transaction`, which
``save`` uses and :meth:`Store.transaction` exposes for artifacts written over
time. A crash at any point leaves the old state or the new one, plus debris
(staging folders, members without a marker, a stale claim) that
:meth:`Store.gc` finds.
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as _dt
import fnmatch
import os
import time
import weakref
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from capsa.backends.concurrency import map_bounded
from capsa.errors import (
    ArtifactNotFoundError,
    CapsaError,
    ConfigError,
    IncompatibleVersionError,
    IntegrityError,
    InvalidKeyError,
    ModeError,
    ObjectNotFoundError,
    ValidationError,
)
from capsa.formats.json import encode_json
from capsa.store.artifact import SUMS_SUFFIX, Artifact, ArtifactRef
from capsa.store.keys import (
    CLAIM,
    INTERNAL_PREFIX,
    MARKER,
    validate_key,
    validate_member_file,
    validate_prefix,
)
from capsa.store.manifest import (
    Manifest,
    decode_manifest,
)
from capsa.store.reports import GcReport, Problem, VerifyReport
from capsa.store.transaction import STAGING, TRASH, Transaction

if TYPE_CHECKING:
    from capsa.backends.base import Backend
    from capsa.backends.retrying import RetryStats
    from capsa.formats.base import Format
    from capsa.kinds.base import ArtifactKind
    from capsa.objects.store import ObjectStore
    from capsa.plugins.registry import Registry
    from capsa.progress import Progress

RESERVED_TOP = ("dev", "tests")
"""Top-level names that hold the development and test namespaces."""

_LIVE_BACKENDS: weakref.WeakValueDictionary[str, Backend] = weakref.WeakValueDictionary()


def live_backend(url: str) -> Backend | None:
    """The backend of a store opened in this process on ``url``, if one is still alive.

    Commit listeners get the store's URL (``CommitEvent.store_url``); this
    finds the backend it was opened with (options, credentials, wrappers).
    """
    return _LIVE_BACKENDS.get(url)


@dataclass(frozen=True)
class ArtifactInfo:
    """One listed artifact.

    :ivar key: key relative to the store's namespace.
    :ivar kind: artifact kind.
    :ivar kind_version: kind layout version.
    :ivar created_at: commit time (UTC ISO-8601).
    :ivar size: total member bytes.
    :ivar members: member file names.
    :ivar url: URL of the artifact prefix.
    """

    key: str
    kind: str
    kind_version: int
    created_at: str
    size: int
    members: tuple[str, ...]
    url: str


class ListingProgress(NamedTuple):
    """How far a listing has got (handed to ``iter_artifacts(progress=callback)``).

    :ivar objects: objects the backend listed so far (members and markers).
    :ivar artifacts: committed artifacts found so far (markers read, before
        any ``kind`` filter).
    :ivar done: True on the last call, when the listing is complete.
    """

    objects: int
    artifacts: int
    done: bool = False


ListingCallback = Callable[[ListingProgress], None]
"""A listing progress callback: called with a :class:`ListingProgress`."""

LISTING_REPORT_EVERY = 128
"""A listing reports its progress every this many markers read (and every 1,000 objects)."""


def listing_bar(bar: Progress) -> ListingCallback:
    """A listing callback that advances ``bar`` (a counter of artifacts) and shows objects."""
    shown = 0

    def report(state: ListingProgress) -> None:
        nonlocal shown
        bar.set_postfix(f"{state.objects:,} objects")
        bar.update(state.artifacts - shown)
        shown = state.artifacts

    return report


@dataclass
class _PlannedMember:
    name: str
    file: str
    fmt: Format
    value: Any
    options: dict[str, Any]


def session_name() -> str:
    """Default development session: the local time, ``YYYYmmdd_HHMMSS``."""
    return _dt.datetime.now().strftime("%Y%m%d_%H%M%S")


VERIFIED_PRELOAD_LIMIT = 256 << 20
"""``load(verify=True)`` on a remote backend keeps file members up to this size in memory.

They were downloaded to be hashed; keeping them spares a second download
when they are read. Larger members are hashed as a stream and read lazily.
"""


class Store:
    """Artifacts under one backend root, in one mode.

    Open it with :func:`capsa.open_store`. Modes:

    * ``production``: immutable; a second save of a key raises
      :class:`~capsa.errors.ArtifactExistsError`; ``delete`` is refused.
    * ``development``: keys live under ``dev/<session>/``; overwrite allowed.
    * ``test``: keys live under ``tests/<test_name>/``; overwrite allowed;
      :meth:`destroy` removes the whole namespace.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        registry: Registry,
        mode: str = "production",
        session: str | None = None,
        test_name: str | None = None,
        gc_grace_seconds: float = 3600.0,
    ):
        if mode not in ("production", "development", "test"):
            raise ConfigError(f"expected production, development or test, got {mode!r}", key="mode")
        self.backend = backend
        """The storage backend."""
        with contextlib.suppress(TypeError):  # a backend that cannot be weakly referenced
            _LIVE_BACKENDS[backend.url] = backend
        self.registry = registry
        self.mode = mode
        """``production``, ``development`` or ``test``."""
        self.gc_grace_seconds = gc_grace_seconds
        self.session: str | None
        self.namespace: str
        if mode == "development":
            self.session = session or session_name()
            validate_key(self.session)
            self.namespace = f"dev/{self.session}"
        elif mode == "test":
            if not test_name:
                raise ConfigError(
                    "test mode needs a test name (open_store(..., test_name=...) or "
                    "CAPSA_TEST_NAME)",
                    key="test_name",
                )
            validate_key(test_name)
            self.session = None
            self.namespace = f"tests/{test_name}"
        else:
            self.session = None
            self.namespace = ""
        self.test_name = test_name if mode == "test" else None

    # -- helpers ---------------------------------------------------------------

    @property
    def url(self) -> str:
        """URL of the store root."""
        return self.backend.url

    @property
    def overwrite(self) -> bool:
        """Whether saving over an existing key is allowed in this mode."""
        return self.mode != "production"

    @property
    def retry_stats(self) -> RetryStats:
        """What the retry layer under this store did (an empty report when there is none).

        See :mod:`capsa.backends.retrying`: backends that can fail transiently
        are wrapped in it by :func:`capsa.open_store`.
        """
        from capsa.backends.retrying import RetryingBackend, RetryStats
        from capsa.backends.wrapper import find_backend

        layer = find_backend(self.backend, RetryingBackend)
        return layer.retry_stats if layer is not None else RetryStats()

    @property
    def objects(self) -> ObjectStore:
        """The content-addressed objects of this store's root (:mod:`capsa.objects`)."""
        from capsa.objects.store import ObjectStore

        return ObjectStore(self.backend)

    def _full(self, key: str) -> str:
        validate_key(key)
        # Compared case-insensitively: on macOS and Windows "DEV/x" is "dev/x".
        if self.mode == "production" and key.split("/", 1)[0].casefold() in RESERVED_TOP:
            raise InvalidKeyError(
                f"key {key!r} starts with {key.split('/', 1)[0]!r}, which holds the "
                "development/test namespaces (in any letter case); choose another "
                "top-level name"
            )
        return f"{self.namespace}/{key}" if self.namespace else key

    def _relative(self, full_key: str) -> str:
        return full_key[len(self.namespace) + 1 :] if self.namespace else full_key

    def _hidden(self, full_key: str) -> bool:
        """True for keys outside this store's view (other namespaces, internals)."""
        if self.namespace:
            return False
        return full_key.split("/", 1)[0] in (*RESERVED_TOP, INTERNAL_PREFIX)

    def _marker(self, full_key: str) -> str:
        return f"{full_key}/{MARKER}"

    def url_for(self, key: str) -> str:
        """Return the URL of the artifact prefix for ``key`` (whether or not it exists)."""
        return self.backend.join(self._full(key))

    def __repr__(self) -> str:
        ns = f" namespace={self.namespace!r}" if self.namespace else ""
        return f"<capsa.Store {self.url!r} mode={self.mode!r}{ns}>"

    # -- save ------------------------------------------------------------------

    def _resolve_kind(self, kind: str | ArtifactKind) -> ArtifactKind:
        if isinstance(kind, str):
            return self.registry.kind(kind)
        return kind

    def _plan(
        self,
        key: str,
        kind: ArtifactKind,
        data: Any,
        options: Mapping[str, Mapping[str, Any]] | None,
    ) -> list[_PlannedMember]:
        try:
            members = kind.to_members(data)
            # An optional member given as None is simply absent.
            members = {
                name: value
                for name, value in members.items()
                if not (value is None and (spec := kind.member(name)) and not spec.required)
            }
            kind.validate(members)
        except ValidationError as exc:
            raise ValidationError(f"artifact {key!r}: {exc}") from None
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
            raise ValidationError(
                f"artifact {key!r}: kind {kind.name!r} rejected the data: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        options = dict(options or {})
        unknown_opts = [n for n in options if n not in members and kind.member(n) is None]
        if unknown_opts:
            raise ValidationError(
                f"artifact {key!r}: options given for unknown member(s) {unknown_opts}"
            )
        planned: list[_PlannedMember] = []
        files: set[str] = set()
        for name, value in members.items():
            spec = kind.member(name)
            if spec is not None:
                file = spec.file
                fmt = self.registry.format(spec.format)
                opts = {**spec.options, **dict(options.get(name, options.get(file, {})))}
            else:
                file = validate_member_file(name, key=key)
                fmt = self.registry.format_for_filename(file)
                opts = dict(options.get(name, {}))
            validate_member_file(file, key=key)
            if file in files:
                raise ValidationError(f"artifact {key!r}: member file {file!r} given twice")
            files.add(file)
            try:
                encode_json(opts, indent=0)  # recorded in the manifest: must be JSON
                fmt.validate(value, **opts)
            except ValidationError as exc:
                raise ValidationError(f"artifact {key!r}, member {file!r}: {exc}") from None
            except (TypeError, ValueError) as exc:
                raise ValidationError(
                    f"artifact {key!r}, member {file!r}: {type(exc).__name__}: {exc}"
                ) from None
            planned.append(_PlannedMember(name, file, fmt, value, opts))
        if not planned:
            raise ValidationError(f"artifact {key!r}: nothing to save (no members)")
        planned.sort(key=lambda p: p.file)
        return planned

    def save(
        self,
        key: str,
        kind: str | ArtifactKind,
        data: Any,
        *,
        meta: Mapping[str, Any] | None = None,
        options: Mapping[str, Mapping[str, Any]] | None = None,
        by_reference: bool | Collection[str] = False,
    ) -> ArtifactRef:
        """Validate, write and atomically commit an artifact; return where it is.

        :param key: ``/``-separated relative key (``"exp1/run3/fit"``).
        :param kind: a registered kind name (``"arrays"``, ``"json"``,
            ``"bundle"``) or an :class:`~capsa.kinds.ArtifactKind` instance.
        :param data: the kind's data: the value for single-member kinds, else a
            mapping of member name to value.
        :param meta: JSON-safe metadata stored in the manifest.
        :param options: per-member format options (``{"arrays": {"compressed": True}}``).
        :param by_reference: store members as content-addressed objects
            (identical bytes stored once, see :mod:`capsa.objects`): ``True``
            for every file member, or the names (logical or file) of some.
        :raises ValidationError: bad data, before anything is written.
        :raises InvalidKeyError: a key or member name that could escape the root.
        :raises ArtifactExistsError: in production, when the key is taken.
        """
        self._full(key)
        kind_obj = self._resolve_kind(kind)
        planned = self._plan(key, kind_obj, data, options)
        shared = _by_reference(key, planned, by_reference)
        with self.transaction(key, kind_obj, meta=meta) as tx:
            # Members go up concurrently on backends that want it (many small
            # members on an object store); sequentially, in order, on a folder.
            map_bounded(
                lambda p: tx.write(
                    p.name,
                    p.value,
                    format=p.fmt.name,
                    options=p.options,
                    validate=False,
                    by_reference=p.file in shared,
                ),
                planned,
                self.backend.io_concurrency,
            )
            return tx.commit()
        raise AssertionError("unreachable")  # pragma: no cover

    def transaction(
        self, key: str, kind: str | ArtifactKind, *, meta: Mapping[str, Any] | None = None
    ) -> Transaction:
        """Start writing an artifact member by member; commit makes it visible.

        For artifacts produced over time (a growing trace, an appended Zarr
        array)::

            with store.transaction("run/7", "bundle", meta={"seed": 7}) as tx:
                tx.write("config.json", config)
                ...                       # more members, as they are produced
            # committed here; an exception inside the block aborts instead

        The key is checked (and, on object stores, claimed) at once, so a
        production key that is taken fails before any work is done.
        """
        self._full(key)
        return Transaction(self, key, self._resolve_kind(kind), meta=meta)

    def _check_ancestors(self, key: str, full: str) -> None:
        parts = full.split("/")
        first = len(self.namespace.split("/")) if self.namespace else 0
        for i in range(first + 1, len(parts)):
            ancestor = "/".join(parts[:i])
            if self.backend.exists(self._marker(ancestor)):
                raise InvalidKeyError(
                    f"key {key!r} is inside the artifact {self._relative(ancestor)!r}; "
                    "artifacts cannot nest"
                )

    # -- read ------------------------------------------------------------------

    def manifest(self, key: str) -> Manifest:
        """Read and check the manifest of ``key``."""
        full = self._full(key)
        return self._manifest_full(key, full)

    def _manifest_full(self, key: str, full: str) -> Manifest:
        try:
            raw = self.backend.get(self._marker(full))
        except ObjectNotFoundError:
            raise ArtifactNotFoundError(
                f"no artifact at key {key!r} in {self.url}"
                + (f" (namespace {self.namespace!r})" if self.namespace else "")
            ) from None
        return decode_manifest(raw, key=key)

    def load(self, key: str, *, verify: bool = False, trusted: bool = False) -> Artifact:
        """Open a committed artifact; members are read lazily on access.

        :param verify: re-hash every member now and raise
            :class:`~capsa.errors.IntegrityError` on the first bad one.
        :param trusted: allow members whose format can run code (pickle).
        :raises ArtifactNotFoundError: no valid ``_SUCCESS`` at the key.
        """
        full = self._full(key)
        manifest = self._manifest_full(key, full)
        kind: ArtifactKind | None
        try:
            kind = self.registry.kind(manifest.kind)
        except CapsaError:
            kind = None  # members still load through their recorded formats
        if kind is not None and manifest.kind_version > kind.version:
            plugin = self.registry.describe(self.registry.kinds.plugin_of(kind.name))
            raise IncompatibleVersionError(
                f"artifact {key!r} is kind {manifest.kind!r} version {manifest.kind_version}, "
                f"newer than the installed plugin reads ({kind.version}); "
                f"upgrade the plugin {plugin}"
            )
        if (
            kind is not None
            and manifest.kind_version < kind.version
            and kind.legacy_layout(manifest.kind_version) is None
        ):
            raise IncompatibleVersionError(
                f"artifact {key!r} is kind {manifest.kind!r} version {manifest.kind_version}, "
                f"which the installed plugin (version {kind.version}) has no reader for"
            )
        artifact = Artifact(
            key=key,
            full_key=full,
            url=self.backend.join(full),
            manifest=manifest,
            backend=self.backend,
            registry=self.registry,
            kind=kind,
            trusted=trusted,
        )
        if verify:
            # On remote backends, verified members are downloaded once and kept.
            remote = self.backend.local_path(full) is None
            artifact._verify_now(preload_limit=VERIFIED_PRELOAD_LIMIT if remote else 0)
        return artifact

    def exists(self, key: str) -> bool:
        """True when a committed artifact is at ``key``."""
        return self.backend.exists(self._marker(self._full(key)))

    def iter_artifacts(
        self,
        prefix: str = "",
        kind: str | None = None,
        *,
        progress: bool | ListingCallback = False,
    ) -> Iterator[ArtifactInfo]:
        """Yield committed artifacts under ``prefix`` lazily, in key order.

        The backend's listing is consumed page by page, and each ``_SUCCESS``
        marker is read as soon as it is listed: ``io_concurrency`` reads at
        once on object stores (on a thread pool that lives as long as the
        iteration), while the listing goes on. At most a few batches of
        markers are held at any time, so memory stays bounded however many
        artifacts there are. A marker that does not decode is skipped here;
        ``verify`` reports it.

        :param prefix: only keys starting with this (``"exp1/"``).
        :param kind: only artifacts of this kind.
        :param progress: ``True`` draws a counter of the artifacts found on
            stderr (on a terminal only; ``CAPSA_PROGRESS=0`` turns it off);
            a callable is called with a :class:`ListingProgress` every
            :data:`LISTING_REPORT_EVERY` markers or 1,000 objects scanned,
            and once more at the end (``done=True``), from the iterating
            thread.
        """
        prefix = validate_prefix(prefix)
        base = f"{self.namespace}/{prefix}" if self.namespace else prefix
        where = self.backend.join(base) if base else self.url
        if progress is True:
            from capsa.progress import progress_bar

            bar = progress_bar(None, f"list {where}", unit="artifacts")
            with bar:
                yield from self._iter_artifacts(base, kind, listing_bar(bar))
            return
        yield from self._iter_artifacts(base, kind, progress or None)

    def _iter_artifacts(
        self, base: str, kind: str | None, report: ListingCallback | None
    ) -> Iterator[ArtifactInfo]:
        suffix = f"/{MARKER}"
        concurrency = max(1, self.backend.io_concurrency)
        window = max(64, 8 * concurrency)  # markers read ahead of the consumer, at most
        objects = markers = 0
        reported = (0, 0)

        def read(marker_key: str) -> bytes | None:
            try:
                return self.backend.get(marker_key)
            except ObjectNotFoundError:
                return None  # deleted since it was listed

        def info(marker_key: str, raw: bytes | None) -> ArtifactInfo | None:
            if raw is None:
                return None
            full = marker_key[: -len(suffix)]
            rel = self._relative(full)
            try:
                manifest = decode_manifest(raw, key=rel)
            except CapsaError:
                return None
            if kind is not None and manifest.kind != kind:
                return None
            return ArtifactInfo(
                key=rel,
                kind=manifest.kind,
                kind_version=manifest.kind_version,
                created_at=manifest.created_at,
                size=manifest.size,
                members=tuple(m.file for m in manifest.members),
                url=self.backend.join(full),
            )

        def tick(*, done: bool = False) -> None:
            nonlocal reported
            if report is None:
                return
            due = markers - reported[0] >= LISTING_REPORT_EVERY or objects - reported[1] >= 1000
            if done or due:
                reported = (markers, objects)
                report(ListingProgress(objects=objects, artifacts=markers, done=done))

        def scanned() -> Iterator[str]:
            nonlocal objects
            for item in self.backend.list(base):
                objects += 1
                if objects % 1000 == 0:
                    tick()
                if item.key.endswith(suffix) and not self._hidden(item.key[: -len(suffix)]):
                    yield item.key

        if concurrency == 1:
            for marker_key in scanned():
                found = info(marker_key, read(marker_key))
                markers += 1
                tick()
                if found is not None:
                    yield found
            tick(done=True)
            return

        from collections import deque
        from concurrent.futures import Future, ThreadPoolExecutor

        pending: deque[tuple[str, Future[bytes | None]]] = deque()
        pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="capsa-io-list")
        try:
            for marker_key in scanned():
                pending.append((marker_key, pool.submit(read, marker_key)))
                while len(pending) >= window or (pending and pending[0][1].done()):
                    first, future = pending.popleft()
                    found = info(first, future.result())
                    markers += 1
                    tick()
                    if found is not None:
                        yield found
            while pending:
                first, future = pending.popleft()
                found = info(first, future.result())
                markers += 1
                tick()
                if found is not None:
                    yield found
            tick(done=True)
        finally:
            for _, future in pending:
                future.cancel()
            pool.shutdown(wait=True)

    def list(
        self,
        prefix: str = "",
        kind: str | None = None,
        *,
        progress: bool | ListingCallback = False,
    ) -> builtins.list[ArtifactInfo]:
        """Return committed artifacts under ``prefix`` (optionally of one kind).

        The whole list is built in memory; iterate :meth:`iter_artifacts`
        instead for listings too long for that. ``progress`` is as for
        :meth:`iter_artifacts`.
        """
        return builtins.list(self.iter_artifacts(prefix, kind, progress=progress))

    # -- verify ----------------------------------------------------------------

    def verify(self, key: str | None = None) -> VerifyReport:
        """Re-hash members and report every mismatch by artifact and member.

        With ``key``: that artifact (raises ArtifactNotFoundError when absent).
        Without: every artifact in the namespace, corrupt markers included.
        """
        report = VerifyReport()
        if key is not None:
            keys = [key]
            self._full(key)
        else:
            keys = []
            base = self.namespace + "/" if self.namespace else ""
            for info in self.backend.list(base):
                if not info.key.endswith(f"/{MARKER}"):
                    continue
                full = info.key[: -len(MARKER) - 1]
                if self._hidden(full):
                    continue
                keys.append(self._relative(full))
        for k in keys:
            report.artifacts += 1
            try:
                manifest = self.manifest(k)
            except (IntegrityError, IncompatibleVersionError) as exc:
                # A newer capsa's (or plugin's) artifact is reported, not a reason to stop.
                problem = "marker" if isinstance(exc, IntegrityError) else "version"
                report.problems.append(
                    Problem(key=k, member=MARKER, problem=problem, detail=str(exc))
                )
                continue
            artifact = Artifact(
                key=k,
                full_key=self._full(k),
                url=self.backend.join(self._full(k)),
                manifest=manifest,
                backend=self.backend,
                registry=self.registry,
                kind=None,
            )
            records = list(manifest.members)
            files = [record.file for record in records]
            checked = map_bounded(artifact.check, files, self.backend.io_concurrency)
            for record, problems in zip(records, checked, strict=True):
                report.members += 1
                if problems:
                    report.problems.extend(problems)
                else:
                    report.bytes += record.size
        return report

    # -- delete / gc -----------------------------------------------------------

    def delete(self, key: str) -> None:
        """Delete an artifact (development and test modes only).

        The marker goes first, so a crash mid-delete leaves debris, never a
        committed artifact with missing members.
        """
        if self.mode == "production":
            raise ModeError(
                f"cannot delete {key!r}: production artifacts are immutable "
                "(open the store in development or test mode)"
            )
        full = self._full(key)
        manifest = self._manifest_full(key, full)
        self.backend.delete(self._marker(full))
        for record in manifest.members:
            if record.by_reference:
                continue  # a shared object: gc removes it once nothing references it
            if record.layout == "directory":
                self.backend.delete_prefix(f"{full}/{record.file}/")
                self.backend.delete(f"{full}/{record.file}{SUMS_SUFFIX}")
            else:
                self.backend.delete(f"{full}/{record.file}")

    def namespaces(self) -> dict[str, builtins.list[str]]:
        """Development sessions and test namespaces present in the backend root.

        Returns ``{"development": [session, ...], "test": [name, ...]}``, sorted.
        """
        found: dict[str, builtins.set[str]] = {"development": set(), "test": set()}
        for top, label in (("dev/", "development"), ("tests/", "test")):
            for info in self.backend.list(top):
                rest = info.key[len(top) :]
                if "/" in rest:
                    found[label].add(rest.split("/", 1)[0])
        return {label: sorted(names) for label, names in found.items()}

    def destroy(self) -> int:
        """Remove this test namespace entirely; return how many objects were deleted."""
        if self.mode != "test":
            raise ModeError(
                f"destroy() removes a test namespace; this store is in {self.mode} mode"
            )
        return self.backend.delete_prefix(f"{self.namespace}/")

    def gc(self, *, dry_run: bool = True, older_than: float | None = None) -> GcReport:
        """Find (and unless ``dry_run``, delete) debris of interrupted saves.

        Debris is every object that no committed manifest lists: staging and
        trash folders, members written without a marker, stale members of a
        replaced version, temporary files. Objects younger than ``older_than``
        seconds (default: the store's ``gc_grace_seconds``) are left alone, so
        saves in progress are not disturbed. gc covers the whole backend root,
        all namespaces included: a capsa store root belongs to capsa.

        Content-addressed objects (``.capsa/objects/``) that no committed
        manifest references are garbage once older than the grace period,
        unless a save in flight pinned them (see :mod:`capsa.objects.gc`).
        """
        from capsa.objects.gc import ObjectCollector

        grace = self.gc_grace_seconds if older_than is None else older_than
        cutoff = time.time() - grace
        report = GcReport(dry_run=dry_run)
        live: dict[str, tuple[builtins.set[str], tuple[str, ...]] | None] = {}
        objects = ObjectCollector(self.backend, cutoff)

        def load(prefix: str) -> None:
            try:
                manifest = decode_manifest(self.backend.get(self._marker(prefix)), key=prefix)
            except ObjectNotFoundError:
                live[prefix] = None
                return
            except CapsaError:
                live[prefix] = ({"*"}, ())
                objects.add_unreadable(self._marker(prefix))
                return
            objects.add_manifest(manifest)
            # Members stored by reference have no file under the prefix.
            files = {r.file for r in manifest.members if not r.by_reference}
            dirs = tuple(r.file for r in manifest.members if r.layout == "directory")
            files.update(d + SUMS_SUFFIX for d in dirs)
            live[prefix] = (files, tuple(d + "/" for d in dirs))

        def owned(object_key: str) -> bool:
            # The nearest ancestor holding a marker decides; a marker that exists
            # but does not decode protects its prefix (verify reports it).
            parts = object_key.split("/")
            for i in range(len(parts) - 1, 0, -1):
                prefix = "/".join(parts[:i])
                if prefix not in live:
                    load(prefix)
                entry = live[prefix]
                if entry is not None:
                    files, dir_prefixes = entry
                    rel = "/".join(parts[i:])
                    return "*" in files or rel in files or rel.startswith(dir_prefixes)
            return False

        keep_patterns = sorted(
            {pattern for entry in self.registry.kinds for pattern in entry.obj.gc_keep}
        )

        def kept(object_key: str) -> bool:
            # Plain files an installed kind's tools keep beside artifacts: a pattern
            # with a "/" matches the whole key, one without matches the file name.
            name = object_key.rsplit("/", 1)[-1]
            return any(
                fnmatch.fnmatchcase(object_key if "/" in pattern else name, pattern)
                for pattern in keep_patterns
            )

        debris: list[tuple[str, int]] = []
        in_flight: builtins.set[str] = builtins.set()  # keys whose save still holds a fresh claim
        for info in self.backend.list(""):
            if info.key.endswith(f"/{CLAIM}") and info.mtime > cutoff:
                in_flight.add(info.key[: -len(CLAIM)])
            if info.key.startswith((f"{STAGING}/", f"{TRASH}/")):
                pass  # always debris once old enough
            elif objects.owns(info):
                continue  # content-addressed objects, pins, gc leases: collected below
            elif info.key.startswith(f"{INTERNAL_PREFIX}/"):
                continue  # capsa's own bookkeeping (catalogs ...)
            elif info.key.endswith(f"/{MARKER}") or info.key == MARKER:
                prefix = info.key[: -len(MARKER) - 1]
                if prefix and prefix not in live:
                    load(prefix)  # what it references is live
                continue  # markers, valid or not, are never debris
            elif owned(info.key) or kept(info.key):
                continue
            if info.mtime > cutoff:
                report.kept_recent += 1
                continue
            debris.append((info.key, info.size))
        if in_flight:
            # A long save refreshes its claim (Transaction.keep_claim); its members,
            # however old, are not debris while the claim is fresh.
            fresh = tuple(in_flight)
            report.kept_recent += sum(1 for k, _ in debris if k.startswith(fresh))
            debris = [(k, size) for k, size in debris if not k.startswith(fresh)]
        debris.extend(objects.debris)  # stale pins and gc leases
        garbage, recent = objects.collect(dry_run=dry_run)  # deletes under a gc lease
        report.kept_recent += recent
        report.objects = [k for k, _ in debris] + [k for k, _ in garbage]
        report.bytes = sum(s for _, s in debris) + sum(s for _, s in garbage)
        if not dry_run:
            for object_key, _ in debris:
                with contextlib.suppress(ObjectNotFoundError):
                    self.backend.delete(object_key)
            local = self.backend.local_path(STAGING)
            if local is not None:
                for folder in (local, local.parent / "trash"):
                    _remove_empty_dirs(folder)
        return report


def _by_reference(
    key: str, planned: builtins.list[_PlannedMember], by_reference: bool | Collection[str]
) -> builtins.set[str]:
    """The files of the planned members that ``save(by_reference=...)`` stores as objects."""
    if by_reference is False:
        return builtins.set()
    if by_reference is True:
        return {p.file for p in planned if not p.fmt.directory}
    if isinstance(by_reference, str) or not isinstance(by_reference, Collection):
        raise ValidationError(
            f"artifact {key!r}: by_reference must be True, False or a collection of member "
            f"names, got {by_reference!r}"
        )
    chosen: builtins.set[str] = builtins.set()
    for name in by_reference:
        match = [p for p in planned if name in (p.name, p.file)]
        if not match:
            known = ", ".join(repr(p.file) for p in planned)
            raise ValidationError(
                f"artifact {key!r}: by_reference names member {name!r}, which is not being "
                f"saved (members: {known})"
            )
        if match[0].fmt.directory:
            raise ValidationError(
                f"artifact {key!r}: member {match[0].file!r} is a directory member "
                f"({match[0].fmt.name}); it cannot be stored by reference"
            )
        chosen.add(match[0].file)
    return chosen


def _remove_empty_dirs(folder: os.PathLike[str] | str) -> None:
    for root, _dirs, _files in sorted(os.walk(folder), key=lambda t: -len(t[0])):
        with contextlib.suppress(OSError):
            os.rmdir(root)
