"""Object-store backends over obstore: ``s3://``, ``gs://`` and ``az://``.

obstore is imported when a store is opened (``from_url``), never when capsa
discovers this plugin.

Create-only puts are conditional writes (``If-None-Match: *`` on S3 and
Azure, a generation precondition on GCS), so capsa's marker protocol keeps
production immutable under racing writers. Members are streamed: a replacing
put goes up as a multipart upload once it passes ``chunk_size``, with bounded
memory, and an aborted writer aborts its upload. Many small objects move
concurrently (``concurrency``); listings are paginated; long transfers show
a progress bar on a terminal.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, cast

import msgspec

from capsa.backends.base import Backend, ObjectInfo, ObjectWriter, PutData
from capsa.errors import (
    CapsaError,
    ConfigError,
    ObjectExistsError,
    ObjectNotFoundError,
    TransientError,
)
from capsa.progress import Progress, progress_bar

if TYPE_CHECKING:
    from obstore.store import ObjectStore

CLIENT_KEYS = frozenset(
    {
        "allow_http",
        "allow_invalid_certificates",
        "connect_timeout",
        "default_content_type",
        "default_headers",
        "http1_only",
        "http2_keep_alive_interval",
        "http2_keep_alive_timeout",
        "http2_keep_alive_while_idle",
        "http2_only",
        "pool_idle_timeout",
        "pool_max_idle_per_host",
        "proxy_url",
        "proxy_ca_certificate",
        "proxy_excludes",
        "randomize_addresses",
        "read_timeout",
        "root_certificate",
        "timeout",
        "user_agent",
    }
)
"""Options passed to obstore as HTTP client options (timeouts, TLS, proxies)."""

RETRY_KEYS = frozenset(
    {"max_retries", "retry_timeout", "init_backoff", "max_backoff", "backoff_base"}
)
"""Options that configure retries; durations are seconds."""


class TransferOptions(msgspec.Struct, frozen=True, kw_only=True):
    """capsa-cloud's own store options: transfer sizes, concurrency and progress bars.

    The docs' configuration reference is generated from this Struct.

    :ivar chunk_size: multipart part size in bytes, and the size above which
        an upload goes multipart (at least 5 MiB, S3's smallest part).
    :ivar max_concurrency: parts of one multipart upload sent at once.
    :ivar concurrency: small objects (bundle members, folder files, zarr
        chunks, verification reads) put or fetched at once.
    :ivar spool_size: bytes of a create-only put (markers, claims) kept in
        memory before spooling to a temporary file.
    :ivar list_chunk_size: keys per listing page.
    :ivar progress: show progress bars for long transfers (on a terminal
        only; ``CAPSA_PROGRESS=0`` also turns them off).
    :ivar progress_threshold: transfers of at least this many bytes get a
        progress bar.
    """

    chunk_size: int = 8 << 20
    max_concurrency: int = 8
    concurrency: int = 16
    spool_size: int = 8 << 20
    list_chunk_size: int = 1000
    progress: bool = True
    progress_threshold: int = 64 << 20


TRANSFER_KEYS = frozenset(TransferOptions.__struct_fields__)
"""Options of capsa-cloud itself (transfer sizes, concurrency, progress bars)."""

_BOOL_KEYS = frozenset({"progress"})

_TIMEOUT_KEYS = frozenset(
    {
        "connect_timeout",
        "http2_keep_alive_interval",
        "http2_keep_alive_timeout",
        "pool_idle_timeout",
        "read_timeout",
        "timeout",
    }
)


class CloudOptions:
    """Backend options split for obstore: store config, client options, retries, transfers.

    Keys of the ``[stores.X] options`` table are sorted by name: HTTP client
    keys (:data:`CLIENT_KEYS`), retry keys (:data:`RETRY_KEYS`), capsa-cloud's
    transfer keys (:data:`TRANSFER_KEYS`, the fields of :class:`TransferOptions`);
    every other key goes to the cloud's store config (``region``, ``endpoint``,
    ``access_key_id`` ...), where obstore refuses unknown ones. Nested ``client_options`` and
    ``retry_config`` tables are merged as they are.
    """

    def __init__(self, options: Mapping[str, Any]):
        self.config: dict[str, Any] = {}
        self.client: dict[str, Any] = {}
        self.retry: dict[str, Any] = {}
        # The transfer options, with their defaults: see TransferOptions.
        defaults = TransferOptions()
        self.chunk_size = defaults.chunk_size
        self.max_concurrency = defaults.max_concurrency
        self.concurrency = defaults.concurrency
        self.spool_size = defaults.spool_size
        self.list_chunk_size = defaults.list_chunk_size
        self.progress = defaults.progress
        self.progress_threshold = defaults.progress_threshold
        for name, value in options.items():
            if name == "client_options":
                self.client.update(_mapping(name, value))
            elif name == "retry_config":
                self.retry.update(_mapping(name, value))
            elif name in CLIENT_KEYS:
                self.client[name] = _duration_str(value) if name in _TIMEOUT_KEYS else value
            elif name in RETRY_KEYS:
                self._retry_option(name, value)
            elif name in _BOOL_KEYS:
                if not isinstance(value, bool):
                    raise ConfigError(f"option {name!r} must be true or false, got {value!r}")
                setattr(self, name, value)
            elif name in TRANSFER_KEYS:
                setattr(self, name, _positive_int(name, value))
            else:
                self.config[name] = value
        if self.chunk_size < 5 << 20:
            raise ConfigError("chunk_size must be at least 5 MiB (S3's smallest part)")

    def _retry_option(self, name: str, value: Any) -> None:
        if name == "max_retries":
            self.retry["max_retries"] = _positive_int(name, value, zero=True)
        elif name == "retry_timeout":
            self.retry["retry_timeout"] = _seconds(name, value)
        else:
            backoff = self.retry.setdefault("backoff", {})
            if name == "backoff_base":
                backoff["base"] = float(value)
            else:
                backoff[name] = _seconds(name, value)


def _mapping(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"option {name!r} must be a table, got {value!r}")
    return dict(value)


def _positive_int(name: str, value: Any, *, zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if zero else 1):
        raise ConfigError(f"option {name!r} must be a positive integer, got {value!r}")
    return value


def _seconds(name: str, value: Any) -> _dt.timedelta:
    if isinstance(value, _dt.timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"option {name!r} must be a number of seconds, got {value!r}")
    return _dt.timedelta(seconds=value)


def _duration_str(value: Any) -> Any:
    """Numbers are seconds; strings (``"30s"``) and timedeltas go to obstore as they are."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _dt.timedelta(seconds=value)
    return value


def split_url(url: str, scheme: str) -> tuple[str, str]:
    """Split ``scheme://bucket/prefix`` into the bucket and the prefix (no slashes at its ends)."""
    head, sep, rest = url.partition("://")
    if not sep or head.lower() != scheme:
        raise ConfigError(f"expected a {scheme}:// URL, got {url!r}")
    if "?" in rest or "#" in rest:
        raise ConfigError(f"{url!r}: put settings in the store options, not in the URL")
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise ConfigError(f"{url!r} names no bucket ({scheme}://bucket/prefix)")
    prefix = prefix.strip("/")
    if any(part in ("", ".", "..") for part in prefix.split("/")) and prefix:
        raise ConfigError(f"{url!r}: the prefix has an empty, '.' or '..' segment")
    return bucket, prefix


def _info(meta: Mapping[str, Any], key: str) -> ObjectInfo:
    modified = meta["last_modified"]
    mtime = modified.timestamp() if isinstance(modified, _dt.datetime) else float(modified)
    return ObjectInfo(key=key, size=int(meta["size"]), mtime=mtime)


class StreamingWriter(ObjectWriter):
    """A replacing put streamed as it is written: multipart once it passes ``chunk_size``.

    Up to ``chunk_size`` bytes are held here; an object that stays below it
    goes up in one PUT at :meth:`commit`. Past it, a multipart upload starts
    and parts leave while the caller keeps writing, so at most about
    ``chunk_size * (max_concurrency + 1)`` bytes are in memory, whatever the
    object's size. :meth:`abort` aborts the multipart upload: no parts are
    left behind and nothing becomes visible.
    """

    def __init__(self, backend: CloudBackend, key: str):
        self._backend = backend
        self._key = key
        self._pending: list[bytes | memoryview] = []
        self._file: Any = None  # obstore's writer, once the object outgrows one part
        self._open = True
        self._size = 0
        self._bar: Progress | None = None

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Take ``data`` (copied unless immutable: callers may reuse their buffers)."""
        if not self._open:
            raise ValueError("writer already committed or aborted")
        view = memoryview(data).cast("B")
        n = len(view)
        # obstore keeps a reference until the part is sent: copy anything mutable.
        piece: bytes | memoryview = view if view.readonly else bytes(view)
        try:
            if self._file is None:
                self._pending.append(piece)
                if self._size + n >= self._backend.options.chunk_size:
                    self._start_multipart()
            else:
                self._file.write(piece)
        except Exception as exc:
            self.abort()
            raise self._backend._error(exc, self._key, "put") from exc
        self._size += n
        self._progress(n)
        return n

    def _start_multipart(self) -> None:
        import obstore

        opts = self._backend.options
        self._file = obstore.open_writer(
            self._backend._connect(),
            self._key,
            buffer_size=opts.chunk_size,
            max_concurrency=opts.max_concurrency,
        )
        pending, self._pending = self._pending, []
        for piece in pending:
            self._file.write(piece)

    def _progress(self, n: int) -> None:
        opts = self._backend.options
        if self._bar is None and self._size >= opts.progress_threshold:
            self._bar = progress_bar(None, f"upload {self._key}", enabled=opts.progress)
            self._bar.update(self._size - n)
        if self._bar is not None:
            self._bar.update(n)

    def commit(self) -> None:
        """Complete the upload: one PUT, or the multipart's last parts and its completion."""
        if not self._open:
            return
        self._open = False
        file, self._file = self._file, None
        try:
            if file is None:
                pending, self._pending = self._pending, []
                body = pending[0] if len(pending) == 1 else b"".join(pending)
                self._backend._upload(self._key, body, self._size, create_only=False)
                return
            try:
                file.close()
            except Exception as exc:
                with contextlib.suppress(Exception):
                    file.__exit__(type(exc), exc, None)
                raise self._backend._error(exc, self._key, "put") from exc
        finally:
            self._close_bar()

    def abort(self) -> None:
        """Abort the upload (``AbortMultipartUpload`` when parts were sent)."""
        self._open = False
        self._pending = []
        file, self._file = self._file, None
        self._close_bar()
        if file is not None:
            with contextlib.suppress(Exception):
                file.__exit__(_Aborted, _Aborted("capsa aborted the write"), None)

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class _Aborted(Exception):
    """Handed to obstore's writer so that it aborts instead of completing."""


class SpooledWriter(ObjectWriter):
    """A create-only put: spooled locally, sent at :meth:`commit` as one conditional request.

    Create-only objects are capsa's small commit records (claims, markers);
    obstore sends a conditional put as a single request, so the spool is kept
    in memory up to ``spool_size`` and in a temporary file beyond. Nothing
    reaches the bucket before commit, so abort needs no cleanup there.
    """

    def __init__(self, backend: CloudBackend, key: str):
        import tempfile  # not at import: plugin discovery stays cheap

        self._backend = backend
        self._key = key
        self._spool: Any = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed by commit/abort
            max_size=backend.options.spool_size, prefix="capsa-cloud-"
        )
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Append to the spool file (copied: the caller may reuse its buffer)."""
        if self._spool is None:
            raise ValueError("writer already committed or aborted")
        n = int(self._spool.write(data))
        self._size += n
        return n

    def commit(self) -> None:
        """Upload the spooled bytes with a conditional put."""
        spool, self._spool = self._spool, None
        if spool is None:
            return
        try:
            spool.seek(0)
            self._backend._upload(self._key, spool, self._size, create_only=True)
        finally:
            spool.close()

    def abort(self) -> None:
        """Drop the spool file; the bucket is untouched."""
        spool, self._spool = self._spool, None
        if spool is not None:
            spool.close()


class CloudStorageError(CapsaError, OSError):
    """An object-store request failed for good (access denied, unsupported, bad path)."""


class CloudTransientError(CloudStorageError, TransientError):
    """An object-store request kept failing (timeouts, resets, 5xx) after obstore's retries.

    A :class:`~capsa.errors.TransientError`: the outcome of a write is unknown,
    and trying again later may succeed.
    """


class CloudBackend(Backend):
    """An obstore-backed object store; subclasses name the scheme and build the store."""

    supports_rename: bool = False
    retries_internally: bool = True
    """obstore retries transient failures itself (``max_retries``, backoff options)."""
    scheme: ClassVar[str] = ""

    def __init__(self, url: str, bucket: str, prefix: str, options: CloudOptions):
        self.url = url
        self.bucket = bucket
        self.prefix = prefix
        self.options = options
        self.io_concurrency = options.concurrency
        self._store: ObjectStore | None = None

    def _error(self, exc: BaseException, key: str, op: str) -> CapsaError:
        """Translate an obstore exception into capsa's error for ``op`` on ``key``."""
        from obstore.exceptions import (
            AlreadyExistsError,
            GenericError,
            NotFoundError,
            PermissionDeniedError,
            PreconditionError,
            UnauthenticatedError,
        )

        if isinstance(exc, CapsaError):
            return exc
        if isinstance(exc, NotFoundError | FileNotFoundError):
            return self._missing(key)
        if isinstance(exc, AlreadyExistsError | PreconditionError):
            return self._exists_error(key)
        if isinstance(exc, PermissionDeniedError | UnauthenticatedError):
            return CloudStorageError(
                f"{op} {key!r} in {self.url}: access denied ({exc}); check the credentials "
                "in the store options or the cloud's environment variables"
            )
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "NoSuchBucket" in str(exc) or "NoSuchContainer" in str(exc):
            return CloudStorageError(
                f"{op} {key!r} in {self.url}: the bucket {self.bucket!r} does not exist "
                "(create it, or fix the store URL)"
            )
        if isinstance(exc, GenericError | TimeoutError | ConnectionError):
            return CloudTransientError(
                f"{op} {key!r} in {self.url} failed after "
                f"{self.options.retry.get('max_retries', 'obstore default')} retries: {first}"
            )
        return CloudStorageError(f"{op} {key!r} in {self.url} failed: {first}")

    @classmethod
    def from_url(cls, url: str, options: Mapping[str, Any]) -> CloudBackend:
        """Open ``<scheme>://bucket/prefix`` with the config ``options``."""
        bucket, prefix = split_url(url, cls.scheme)
        parsed = CloudOptions(options)
        clean = f"{cls.scheme}://{bucket}/{prefix}" if prefix else f"{cls.scheme}://{bucket}"
        backend = cls(clean, bucket, prefix, parsed)
        backend._connect()
        return backend

    # -- the obstore client ------------------------------------------------

    def _build_store(self) -> ObjectStore:
        """Return the obstore store for this bucket and prefix."""
        raise NotImplementedError

    def _connect(self) -> ObjectStore:
        if self._store is None:
            from obstore.exceptions import BaseError

            try:
                self._store = self._build_store()
            except (BaseError, ValueError, TypeError) as exc:
                raise ConfigError(f"cannot open {self.url}: {exc}") from exc
        return self._store

    def _kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"config": dict(self.options.config)}
        if self.prefix:
            kwargs["prefix"] = self.prefix
        if self.options.client:
            kwargs["client_options"] = dict(self.options.client)
        if self.options.retry:
            kwargs["retry_config"] = dict(self.options.retry)
        return kwargs

    def _missing(self, key: str) -> ObjectNotFoundError:
        return ObjectNotFoundError(f"no object at {key!r} in {self.url}")

    def _exists_error(self, key: str) -> ObjectExistsError:
        return ObjectExistsError(f"object {key!r} already exists in {self.url}")

    # -- writes ------------------------------------------------------------

    def _upload(self, key: str, data: Any, size: int | None, *, create_only: bool) -> None:
        import obstore
        from obstore.exceptions import AlreadyExistsError, PreconditionError

        store = self._connect()
        try:
            if create_only:
                obstore.put(store, key, data, mode="create", use_multipart=False)
            else:
                obstore.put(
                    store,
                    key,
                    data,
                    mode="overwrite",
                    use_multipart=None if size is None else size > self.options.chunk_size,
                    chunk_size=self.options.chunk_size,
                    max_concurrency=self.options.max_concurrency,
                )
        except (AlreadyExistsError, PreconditionError):
            raise self._exists_error(key) from None
        except Exception as exc:
            raise self._error(exc, key, "put") from exc

    def put(self, key: str, data: PutData, *, create_only: bool = False) -> None:
        """Upload ``data``; create-only puts are conditional (``If-None-Match: *``)."""
        if isinstance(data, bytes | bytearray | memoryview):
            self._upload(key, memoryview(data).cast("B"), len(data), create_only=create_only)
            return
        writer = self.open_writer(key, create_only=create_only)
        try:
            for chunk in data:
                writer.write(chunk)
        except BaseException:
            writer.abort()
            raise
        writer.commit()

    def open_writer(self, key: str, *, create_only: bool = False) -> ObjectWriter:
        """A streamed multipart writer, or for create-only puts a spooled conditional one."""
        if create_only:
            return SpooledWriter(self, key)
        return StreamingWriter(self, key)

    # -- reads -------------------------------------------------------------

    def get(self, key: str) -> bytes:
        """Download the whole object (with a progress bar when it is large, on a TTY)."""
        return self._download(key, hashed=False)[0]

    def get_hashed(self, key: str) -> tuple[bytes, str]:
        """Download the whole object, hashing each chunk as it arrives; return it and its sha256."""
        return self._download(key, hashed=True)

    def _download(self, key: str, *, hashed: bool) -> tuple[bytes, str]:
        import hashlib

        import obstore

        try:
            result = obstore.get(self._connect(), key)
            size = int(result.meta["size"])
            opts = self.options
            if size < max(opts.chunk_size, 1 << 20) and size < opts.progress_threshold:
                data = bytes(result.bytes())
                return data, hashlib.sha256(data).hexdigest() if hashed else ""
            digest = hashlib.sha256()
            out = bytearray(size)
            pos = 0
            shown = opts.progress and size >= opts.progress_threshold
            with progress_bar(size, f"download {key}", enabled=shown) as bar:
                for chunk in result.stream(min_chunk_size=1 << 20):
                    view = memoryview(chunk)
                    if hashed:
                        digest.update(view)  # overlaps the next chunk's arrival
                    out[pos : pos + len(view)] = view
                    pos += len(view)
                    bar.update(len(view))
            if pos != size:
                raise CloudStorageError(f"get {key!r} in {self.url}: {pos} of {size} bytes")
            return bytes(out), digest.hexdigest() if hashed else ""
        except Exception as exc:
            raise self._error(exc, key, "get") from exc

    def get_range(self, key: str, start: int, end: int) -> bytes:
        """One ranged GET for ``[start, end)`` (empty past the end)."""
        import obstore
        from obstore.exceptions import BaseError, NotFoundError

        if end <= start:
            self.head(key)
            return b""
        try:
            return bytes(obstore.get_range(self._connect(), key, start=start, end=end))
        except (NotFoundError, FileNotFoundError):
            raise self._missing(key) from None
        except BaseError as exc:
            if start >= self.head(key).size:  # a range past the end: not an error here
                return b""
            raise self._error(exc, key, "get_range") from exc

    def head(self, key: str) -> ObjectInfo:
        """HEAD the object."""
        import obstore
        from obstore.exceptions import NotFoundError

        try:
            meta = obstore.head(self._connect(), key)
        except (NotFoundError, FileNotFoundError):
            raise self._missing(key) from None
        except Exception as exc:
            raise self._error(exc, key, "head") from exc
        return _info(cast(Mapping[str, Any], meta), key)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """List lazily, page by page, in key order; ``prefix`` is a string prefix.

        obstore lists by folder, so this lists the prefix's parent folder from
        just before ``prefix`` and stops at the first key past it.
        """
        import obstore

        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        offset = None
        if prefix:
            offset = prefix[:-1] + chr(ord(prefix[-1]) - 1)
            if folder:
                offset = offset if len(offset) > len(folder) + 1 else None
        stream = obstore.list(
            self._connect(),
            folder or None,
            offset=offset,
            chunk_size=self.options.list_chunk_size,
        )
        while True:
            try:
                batch = next(stream)
            except StopIteration:
                return
            except Exception as exc:  # a missing bucket, denied access, a dead endpoint
                raise self._error(exc, prefix, "list") from exc
            for meta in batch:
                key = str(meta["path"])
                if key.startswith(prefix):
                    yield _info(cast(Mapping[str, Any], meta), key)
                elif key > prefix:
                    return

    def delete(self, key: str) -> None:
        """DELETE the object (a missing key is not an error)."""
        import obstore
        from obstore.exceptions import NotFoundError

        try:
            obstore.delete(self._connect(), key)
        except (NotFoundError, FileNotFoundError):
            pass
        except Exception as exc:
            raise self._error(exc, key, "delete") from exc

    def delete_prefix(self, prefix: str) -> int:
        """Delete everything under ``prefix`` in batches (bulk deletes where supported)."""
        import obstore

        batch: list[str] = []
        count = 0
        for info in self.list(prefix):
            batch.append(info.key)
            if len(batch) == 1000:
                obstore.delete(self._connect(), batch)
                count += len(batch)
                batch = []
        if batch:
            obstore.delete(self._connect(), batch)
            count += len(batch)
        return count


class S3Backend(CloudBackend):
    """Amazon S3 and S3-compatible servers (MinIO, SeaweedFS, R2 ...) through obstore."""

    schemes: ClassVar[tuple[str, ...]] = ("s3",)
    description: ClassVar[str] = "Amazon S3 or an S3-compatible server (obstore); conditional puts"
    scheme: ClassVar[str] = "s3"

    def _build_store(self) -> ObjectStore:
        from obstore.store import S3Store

        return S3Store(self.bucket, **self._kwargs())


class GCSBackend(CloudBackend):
    """Google Cloud Storage through obstore."""

    schemes: ClassVar[tuple[str, ...]] = ("gs",)
    description: ClassVar[str] = "Google Cloud Storage (obstore); conditional puts"
    scheme: ClassVar[str] = "gs"

    def _build_store(self) -> ObjectStore:
        from obstore.store import GCSStore

        return GCSStore(self.bucket, **self._kwargs())


class AzureBackend(CloudBackend):
    """Azure Blob Storage through obstore; ``az://container/prefix``."""

    schemes: ClassVar[tuple[str, ...]] = ("az",)
    description: ClassVar[str] = "Azure Blob Storage (obstore); conditional puts"
    scheme: ClassVar[str] = "az"

    def _build_store(self) -> ObjectStore:
        from obstore.store import AzureStore

        return AzureStore(self.bucket, **self._kwargs())
