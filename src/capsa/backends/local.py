"""The local filesystem backend (a plain path or ``file://``)."""

from __future__ import annotations

import _thread
import contextlib
import errno
import os
import sys
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, cast

from capsa.backends.base import Backend, ObjectInfo, ObjectWriter, PutData
from capsa.errors import InvalidKeyError, ObjectExistsError, ObjectNotFoundError

if TYPE_CHECKING:
    from pathlib import Path

STAGING_PREFIX = ".capsa/staging/"
"""Where the store stages saves; each folder in it belongs to one save."""

TMP_MARKER = ".capsa-tmp-"
"""Infix of the temporary files a put writes before linking them into place."""

_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _load_renameat2() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_renameat2_cache: list[Any] = []


def _renameat2() -> Any:
    """The libc ``renameat2`` function, loaded on first use (ctypes is slow to import)."""
    if not _renameat2_cache:
        _renameat2_cache.append(_load_renameat2())
    return _renameat2_cache[0]


def rename_noreplace(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst`` atomically, failing with ``FileExistsError`` if ``dst`` exists."""
    fn = _renameat2()
    if fn is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available on this platform")
    rc = fn(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE)
    if rc != 0:
        import ctypes

        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), str(dst))


def rename_exchange(src: Path, dst: Path) -> None:
    """Atomically swap ``src`` and ``dst`` (both must exist)."""
    fn = _renameat2()
    if fn is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available on this platform")
    rc = fn(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_EXCHANGE)
    if rc != 0:
        import ctypes

        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), str(dst))


_pool: list[Any] = []


def _fsync_pool() -> Any:
    if not _pool:
        from concurrent.futures import ThreadPoolExecutor

        _pool.append(ThreadPoolExecutor(max_workers=8, thread_name_prefix="capsa-fsync"))
    return _pool[0]


_pending: dict[str, dict[str, Any]] = {}
_pending_lock = _thread.allocate_lock()


def _track(path: Path, future: Any) -> None:
    """Remember a background fsync of a staged file until sync_prefix collects it."""
    with _pending_lock:
        _pending.setdefault(str(path.parent), {})[str(path)] = future


def _take_pending(root: Path) -> dict[str, Any]:
    """Pop the background fsyncs of files under ``root``, keyed by path."""
    prefix = str(root)
    taken: dict[str, Any] = {}
    with _pending_lock:
        for folder in [f for f in _pending if f == prefix or f.startswith(prefix + os.sep)]:
            taken.update(_pending.pop(folder))
    return taken


def _fsync_and_close(fh: BinaryIO) -> None:
    try:
        os.fsync(fh.fileno())
    finally:
        fh.close()


def _fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Fsync a directory so renames and new entries inside it are durable."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_WRITEBACK_STEP = 8 << 20
"""Bytes written between two hints to start writeback (sync_file_range)."""

_SYNC_FILE_RANGE_WRITE = 2
_sync_file_range_cache: list[Any] = []


def _sync_file_range() -> Any:
    """Return libc ``sync_file_range`` on Linux, else None (loaded on first use)."""
    if not _sync_file_range_cache:
        fn = None
        if sys.platform.startswith("linux"):
            import ctypes

            try:
                fn = ctypes.CDLL(None, use_errno=True).sync_file_range
                fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
                fn.restype = ctypes.c_int
            except (OSError, AttributeError):
                fn = None
        _sync_file_range_cache.append(fn)
    return _sync_file_range_cache[0]


class LocalObjectWriter(ObjectWriter):
    """Streams into a temporary file beside the target; commit fsyncs and links it in.

    Large writes ask the kernel to start writeback every few MiB
    (``sync_file_range``), so the disk works while the caller computes the next
    chunk and the final fsync has little left to do.
    """

    def __init__(self, path: Path, *, create_only: bool, direct: bool = False):
        self._path = path
        self._create_only = create_only
        # ``direct``: write the final name at once (O_EXCL). Used inside a
        # save's private staging folder, where nobody reads before the commit.
        self._direct = direct
        self._tmp = (
            path if direct else path.with_name(f"{path.name}{TMP_MARKER}{os.urandom(16).hex()}")
        )
        mode = "xb" if (create_only or not direct) else "wb"
        try:
            try:
                fh = open(self._tmp, mode, buffering=0)  # noqa: SIM115
            except FileNotFoundError:  # first object in a new folder
                path.parent.mkdir(parents=True, exist_ok=True)
                fh = open(self._tmp, mode, buffering=0)  # noqa: SIM115
        except FileExistsError:
            raise ObjectExistsError(f"object {str(path)!r} already exists") from None
        self._fh: BinaryIO | None = cast(BinaryIO, fh)
        self._written = 0
        self._flushed = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Write straight to the temporary file (releases the GIL)."""
        assert self._fh is not None, "writer already closed"
        view = memoryview(data)
        total = view.nbytes
        done = 0
        while done < total:  # raw files may write partially
            done += self._fh.write(view[done:]) or 0
        self._written += total
        if self._written - self._flushed >= _WRITEBACK_STEP:
            fn = _sync_file_range()
            if fn is not None:
                fn(
                    self._fh.fileno(),
                    self._flushed,
                    self._written - self._flushed,
                    _SYNC_FILE_RANGE_WRITE,
                )
            self._flushed = self._written
        return total

    def commit(self) -> None:
        """Fsync, then link (create-only) or rename (replace) into place."""
        if self._fh is None:
            return
        if self._direct:
            # Staged file: fsync in the background while the next member is
            # written; sync_prefix waits for it before the folder is published.
            fh, self._fh = self._fh, None
            _track(self._path, _fsync_pool().submit(_fsync_and_close, fh))
            return
        try:
            os.fsync(self._fh.fileno())
        finally:
            self._fh.close()
            self._fh = None
        try:
            if self._create_only:
                try:
                    os.link(self._tmp, self._path)
                except FileExistsError:
                    raise ObjectExistsError(f"object {str(self._path)!r} already exists") from None
                os.unlink(self._tmp)
            else:
                os.replace(self._tmp, self._path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._tmp)

    def abort(self) -> None:
        """Remove the temporary file."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._tmp)


class LocalBackend(Backend):
    """Objects are files under a root folder; keys are relative paths.

    Puts write a temporary file, fsync it, and link (create-only, atomic
    no-replace) or rename it into place. Whole prefixes rename atomically with
    ``renameat2`` (no-replace or exchange), which the store uses to commit.
    """

    schemes: ClassVar[tuple[str, ...]] = ("file", "")
    description: ClassVar[str] = "local folder (plain path or file://); atomic renames"
    supports_rename: bool = True

    def __init__(self, root: str | os.PathLike[str]):
        from pathlib import Path  # imported when a store opens, not at discovery

        self.root = Path(root).expanduser().absolute()
        self.url = self.root.as_uri()
        # Without renameat2 (macOS, Windows, old libc) the store falls back to
        # the marker protocol, whose create-only puts are atomic links here.
        self.supports_rename = _renameat2() is not None

    @classmethod
    def from_url(cls, url: str, options: Mapping[str, Any]) -> LocalBackend:
        """Open ``file:///abs/path`` or a plain (absolute or relative) path."""
        if url.startswith("file:"):
            from urllib.parse import unquote, urlparse

            parsed = urlparse(url)
            if parsed.netloc not in ("", "localhost"):
                raise InvalidKeyError(f"file URL {url!r} names a remote host")
            return cls(unquote(parsed.path))
        return cls(url)

    def _path(self, key: str) -> Path:
        if key.startswith("/") or "\\" in key or "\x00" in key or ".." in key.split("/"):
            raise InvalidKeyError(f"key {key!r} escapes the store root")
        return self.root / key if key else self.root

    def put(self, key: str, data: PutData, *, create_only: bool = False) -> None:
        """Write a temporary file, fsync, then link or rename it to ``key``."""
        writer = self.open_writer(key, create_only=create_only)
        try:
            if isinstance(data, bytes | bytearray | memoryview):
                writer.write(data)
            else:
                for chunk in data:
                    writer.write(chunk)
        except BaseException:
            writer.abort()
            raise
        writer.commit()

    def open_writer(self, key: str, *, create_only: bool = False) -> ObjectWriter:
        """Stream to a temporary file beside ``key`` (straight to ``key`` in staging)."""
        direct = key.startswith(STAGING_PREFIX)
        return LocalObjectWriter(self._path(key), create_only=create_only, direct=direct)

    def get(self, key: str) -> bytes:
        """Read the whole file."""
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFoundError(f"no object at {key!r} in {self.url}") from None

    def get_range(self, key: str, start: int, end: int) -> bytes:
        """Read ``[start, end)``."""
        try:
            with open(self._path(key), "rb", buffering=0) as fh:
                fh.seek(start)
                return fh.read(max(0, end - start)) or b""
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFoundError(f"no object at {key!r} in {self.url}") from None

    def head(self, key: str) -> ObjectInfo:
        """Stat the file."""
        path = self._path(key)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFoundError(f"no object at {key!r} in {self.url}") from None
        if not path.is_file():
            raise ObjectNotFoundError(f"no object at {key!r} in {self.url} (a folder)")
        return ObjectInfo(key=key, size=st.st_size, mtime=st.st_mtime)

    def open_reader(self, key: str) -> BinaryIO:
        """Open the file."""
        try:
            return open(self._path(key), "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFoundError(f"no object at {key!r} in {self.url}") from None

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield files under ``prefix`` lazily, in key order (as object stores list)."""
        base = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self._path(base)
        if start.is_dir():
            yield from self._walk(start, base, prefix)

    def _walk(self, folder: Path, rel: str, prefix: str) -> Iterator[ObjectInfo]:
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return
        # Sort a folder as "name/" so keys come out in byte order, like S3.
        keyed = []
        for entry in entries:
            is_dir = entry.is_dir(follow_symlinks=False)
            keyed.append((entry.name + "/" if is_dir else entry.name, is_dir, entry))
        keyed.sort(key=lambda item: item[0])
        for _, is_dir, entry in keyed:
            key = f"{rel}/{entry.name}" if rel else entry.name
            if is_dir:
                if key.startswith(prefix) or prefix.startswith(key + "/"):
                    yield from self._walk(folder / entry.name, key, prefix)
            elif key.startswith(prefix):
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                yield ObjectInfo(key=key, size=st.st_size, mtime=st.st_mtime)

    def delete(self, key: str) -> None:
        """Unlink the file and prune folders left empty (object stores have none)."""
        path = self._path(key)
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError):
            return
        self._prune(path.parent)

    def _prune(self, folder: Path) -> None:
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    def delete_prefix(self, prefix: str) -> int:
        """Remove a whole folder at once when the prefix is one."""
        if prefix.endswith("/") and prefix.strip("/"):
            path = self._path(prefix.rstrip("/"))
            for future in _take_pending(path).values():  # a failed save's staged files
                with contextlib.suppress(OSError):
                    future.result()
            if path.is_dir():
                import shutil

                count = sum(len(files) for _, _, files in os.walk(path))
                shutil.rmtree(path)
                self._prune(path.parent)
                return count
        return super().delete_prefix(prefix)

    def local_path(self, key: str) -> Path | None:
        """The file's path."""
        return self._path(key)

    def rename_prefix(self, src: str, dst: str, *, exchange: bool = False) -> None:
        """Rename the folder ``src`` to ``dst`` with renameat2, durably.

        No-replace by default; ``exchange`` swaps two existing folders. The
        destination's parent folder is fsynced, so the rename survives a crash.
        """
        s, d = self._path(src.rstrip("/")), self._path(dst.rstrip("/"))
        if not d.parent.is_dir():
            d.parent.mkdir(parents=True, exist_ok=True)
        if exchange:
            rename_exchange(s, d)
        else:
            try:
                rename_noreplace(s, d)
            except FileExistsError:
                raise ObjectExistsError(f"{dst!r} already exists in {self.url}") from None
            except OSError as exc:
                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    raise ObjectExistsError(f"{dst!r} already exists in {self.url}") from None
                raise
        fsync_dir(d.parent)

    def sync_prefix(self, prefix: str) -> None:
        """Make everything under ``prefix`` durable.

        Files written there by staged (direct) writers are already being
        fsynced in the background since their commit; this waits for them,
        fsyncs any other file, and fsyncs the folders.
        """
        root = self._path(prefix.rstrip("/"))
        pending = _take_pending(root)
        paths: list[str] = []
        for folder, _dirs, files in os.walk(root):
            paths.append(folder)
            paths.extend(
                path for path in (os.path.join(folder, f) for f in files) if path not in pending
            )
        futures = [_fsync_pool().submit(_fsync_path, path) for path in paths[1:]]
        fsync_dir(root)
        for future in (*pending.values(), *futures):
            future.result()

    def join(self, key: str) -> str:
        """Return a ``file://`` URL for ``key``."""
        return self._path(key).as_uri() if key else self.url
