"""The backend conformance suite: :class:`BackendConformance`.

Subclass it in a test module, override the ``backend`` fixture (a fresh,
empty backend for every test), and optionally ``store_url`` and
``backend_options`` (how :func:`capsa.open_store` reaches the same root) and
the class attributes that size the checks.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, TypeVar

import pytest

from capsa.backends.base import Backend
from capsa.errors import (
    ArtifactExistsError,
    CapsaError,
    ObjectExistsError,
    ObjectNotFoundError,
)
from capsa.store.keys import CLAIM, INTERNAL_PREFIX, MARKER
from capsa.store.store import Store

_T = TypeVar("_T")

UNUSUAL_KEYS: tuple[str, ...] = (
    "sp ace/x y",
    "ünï/ключ/键",
    "a+b=c&d",
    "q?x#y",
    "%20/%2F%zz",
    "semi;colon,comma",
    "tilde~!$'()*@",
    "[brackets]{braces}",
    "emoji-\U0001f600",
)
"""Keys with characters that URL-based backends must escape correctly."""


def _race(n: int, fn: Callable[[int], _T]) -> list[_T | BaseException]:
    """Run ``fn(0..n-1)`` in ``n`` threads released together; return results or errors."""
    barrier = threading.Barrier(n)

    def run(i: int) -> _T | BaseException:
        barrier.wait()
        try:
            return fn(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def lost_race(exc: BaseException) -> bool:
    """True for the error a production save that lost a race must raise.

    That is :class:`~capsa.errors.ArtifactExistsError`, whatever moment the
    writer lost at (the claim, a member, or the marker).
    """
    return isinstance(exc, ArtifactExistsError)


def _pattern(size: int, seed: int = 0) -> Iterator[bytes]:
    """Deterministic, non-repeating-looking chunks of 1 MiB totalling ``size`` bytes."""
    block = hashlib.sha256(str(seed).encode()).digest() * (1 << 15)  # 1 MiB
    done = 0
    i = 0
    while done < size:
        n = min(len(block), size - done)
        # Vary every chunk so a misplaced chunk is caught.
        head = i.to_bytes(8, "big")
        yield (head + block[8:n]) if n > 8 else head[:n]
        done += n
        i += 1


class BackendConformance:
    """Contract checks every capsa backend must pass.

    Override the ``backend`` fixture; each test gets a fresh, empty backend
    (a new folder, a new memory space, a new prefix in a bucket). The store
    checks build a :class:`~capsa.store.store.Store` on that backend.
    """

    large_object_size: ClassVar[int] = 24 << 20
    """Bytes of the object streamed by :meth:`test_large_object_streamed`."""

    race_threads: ClassVar[int] = 8
    """Writers racing in the create-only and immutability checks."""

    many_objects: ClassVar[int] = 60
    """Objects listed by :meth:`test_list_many_objects` (set it above a page size)."""

    unusual_keys: ClassVar[tuple[str, ...]] = UNUSUAL_KEYS
    """Keys with unusual characters that must round-trip."""

    mtime_tolerance: ClassVar[float] = 300.0
    """Largest accepted gap, in seconds, between an object's mtime and the local clock."""

    # -- fixtures ------------------------------------------------------------

    @pytest.fixture
    def backend(self) -> Backend:
        """A fresh, empty backend; subclasses must override this fixture."""
        pytest.fail(f"{type(self).__name__} must override the 'backend' fixture")

    @pytest.fixture
    def store_url(self, backend: Backend) -> str:
        """The URL :func:`capsa.open_store` opens the same root with (default: ``backend.url``)."""
        return backend.url

    @pytest.fixture
    def backend_options(self) -> dict[str, Any]:
        """Backend options passed with :meth:`store_url` (default: none)."""
        return {}

    @pytest.fixture
    def store(self, backend: Backend) -> Store:
        """A production store on the backend."""
        from capsa.plugins.manager import get_registry

        return Store(backend, registry=get_registry(), mode="production")

    @pytest.fixture
    def dev_store(self, backend: Backend) -> Store:
        """A development store on the backend."""
        from capsa.plugins.manager import get_registry

        return Store(backend, registry=get_registry(), mode="development", session="conf")

    # -- helpers ---------------------------------------------------------------

    @staticmethod
    def keys(backend: Backend, prefix: str = "") -> list[str]:
        """Every key listed under ``prefix``."""
        return [info.key for info in backend.list(prefix)]

    # -- put / get / ranged get / head -----------------------------------------

    def test_put_get_round_trip(self, backend: Backend) -> None:
        """Bytes, bytearray, memoryview, chunk iterables and empty objects round-trip."""
        backend.put("rt/bytes", b"0123456789")
        backend.put("rt/bytearray", bytearray(b"abc"))
        backend.put("rt/memoryview", memoryview(b"xyzxyz")[1:4])
        backend.put("rt/chunks", iter([b"chunk-1,", b"", b"chunk-2"]))
        backend.put("rt/empty", b"")
        assert backend.get("rt/bytes") == b"0123456789"
        assert backend.get("rt/bytearray") == b"abc"
        assert backend.get("rt/memoryview") == b"yzx"
        assert backend.get("rt/chunks") == b"chunk-1,chunk-2"
        assert backend.get("rt/empty") == b""
        assert backend.head("rt/empty").size == 0

    def test_put_replaces(self, backend: Backend) -> None:
        """A plain put replaces the object whole (shorter or longer)."""
        backend.put("k", b"a long first version")
        backend.put("k", b"short")
        assert backend.get("k") == b"short"
        assert backend.head("k").size == 5

    def test_get_range(self, backend: Backend) -> None:
        """``get_range`` returns ``[start, end)``, shorter at the end, empty past it."""
        backend.put("r", b"0123456789")
        assert backend.get_range("r", 0, 10) == b"0123456789"
        assert backend.get_range("r", 2, 5) == b"234"
        assert backend.get_range("r", 8, 100) == b"89"
        assert backend.get_range("r", 9, 10) == b"9"
        assert backend.get_range("r", 4, 4) == b""
        assert backend.get_range("r", 10, 20) == b""

    def test_head_and_exists(self, backend: Backend) -> None:
        """``head`` reports the key, size and a real modification time."""
        backend.put("h/obj", b"x" * 1234)
        info = backend.head("h/obj")
        assert info.key == "h/obj"
        assert info.size == 1234
        assert abs(info.mtime - time.time()) < self.mtime_tolerance
        assert backend.exists("h/obj")
        assert not backend.exists("h/ob")
        assert not backend.exists("h")

    def test_open_reader_seeks(self, backend: Backend) -> None:
        """``open_reader`` returns a seekable file over the object."""
        data = bytes(range(256)) * 20
        backend.put("f/obj", data)
        with backend.open_reader("f/obj") as fh:
            assert fh.read(4) == data[:4]
            fh.seek(1000)
            assert fh.read(10) == data[1000:1010]
            fh.seek(-3, 2)
            assert fh.read() == data[-3:]

    # -- list --------------------------------------------------------------

    def test_list_prefix_and_order(self, backend: Backend) -> None:
        """``list`` takes a string prefix (not a folder) and yields keys in key order.

        Key order is byte order (S3, GCS, Azure, capsa's built-ins) or path
        order, segment by segment (filesystem-backed servers such as
        SeaweedFS list ``a/1`` before ``a-z``); both keep every key under a
        prefix together, which is all capsa relies on.
        """
        for key in ("b", "a/2/x", "ab/1", "a/1", "a-z", "a/10"):
            backend.put(key, b"x" * len(key))

        def ordered(keys: list[str]) -> bool:
            return keys in (sorted(keys), sorted(keys, key=lambda k: k.split("/")))

        assert self.keys(backend, "a/") == ["a/1", "a/10", "a/2/x"]
        for prefix, expected in (
            ("a", {"a-z", "a/1", "a/10", "a/2/x", "ab/1"}),
            ("", {"a-z", "a/1", "a/10", "a/2/x", "ab/1", "b"}),
        ):
            listed = self.keys(backend, prefix)
            assert set(listed) == expected and len(listed) == len(expected), listed
            assert ordered(listed), listed
        assert self.keys(backend, "a/1") == ["a/1", "a/10"]
        assert self.keys(backend, "a-") == ["a-z"]
        assert self.keys(backend, "zzz") == []
        assert {i.key: i.size for i in backend.list("a/")} == {"a/1": 3, "a/10": 4, "a/2/x": 5}
        assert all(abs(i.mtime - time.time()) < self.mtime_tolerance for i in backend.list())

    def test_list_is_lazy(self, backend: Backend) -> None:
        """``list`` returns an iterator that can be left early, not a list."""
        for i in range(5):
            backend.put(f"lazy/{i}", b"x")
        it = backend.list("lazy/")
        assert iter(it) is it, "list() must return an iterator (a generator), not a sequence"
        assert [i.key for i in itertools.islice(it, 2)] == ["lazy/0", "lazy/1"]
        close = getattr(it, "close", None)
        if close is not None:
            close()

    def test_list_many_objects(self, backend: Backend) -> None:
        """Listing more objects than a page holds returns each once, in order."""
        keys = [f"many/{i:05d}" for i in range(self.many_objects)]
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda k: backend.put(k, b"."), keys))
        assert self.keys(backend, "many/") == keys

    # -- delete ------------------------------------------------------------

    def test_delete(self, backend: Backend) -> None:
        """``delete`` removes one object; a missing key is not an error."""
        backend.put("d/a", b"1")
        backend.put("d/ab", b"2")
        backend.delete("d/a")
        backend.delete("d/a")
        backend.delete("never/was")
        assert not backend.exists("d/a")
        assert self.keys(backend) == ["d/ab"]

    def test_delete_prefix(self, backend: Backend) -> None:
        """``delete_prefix`` removes everything under a prefix and counts it."""
        for key in ("p/1", "p/q/2", "p/q/r/3", "pp/4"):
            backend.put(key, b"x")
        assert backend.delete_prefix("p/") == 3
        assert self.keys(backend) == ["pp/4"]
        assert backend.delete_prefix("p/") == 0

    # -- missing keys --------------------------------------------------------

    def test_missing_keys(self, backend: Backend) -> None:
        """Reading a missing key raises ``ObjectNotFoundError`` (a ``FileNotFoundError``)."""
        backend.put("present/x", b"x")
        for key in ("nope", "present", "present/", "present/x/y", "present/xx"):
            with pytest.raises(ObjectNotFoundError):
                backend.get(key)
            with pytest.raises(ObjectNotFoundError):
                backend.get_range(key, 0, 1)
            with pytest.raises(ObjectNotFoundError):
                backend.head(key)
            assert not backend.exists(key)
        with pytest.raises(ObjectNotFoundError):
            backend.open_reader("nope").read()
        with pytest.raises(FileNotFoundError):
            backend.get("nope")

    # -- create-only -------------------------------------------------------

    def test_create_only(self, backend: Backend) -> None:
        """A create-only put refuses a taken key and leaves the object untouched."""
        backend.put("c", b"first", create_only=True)
        with pytest.raises(ObjectExistsError):
            backend.put("c", b"second", create_only=True)
        with pytest.raises(FileExistsError):
            backend.put("c", [b"third"], create_only=True)
        assert backend.get("c") == b"first"
        backend.delete("c")
        backend.put("c", b"again", create_only=True)  # free again once deleted
        assert backend.get("c") == b"again"

    def test_create_only_race(self, backend: Backend) -> None:
        """Threads racing create-only puts on one key: exactly one wins."""
        n = self.race_threads
        results = _race(n, lambda i: backend.put("race", f"writer-{i}".encode(), create_only=True))
        winners = [i for i, r in enumerate(results) if r is None]
        losers = [r for r in results if r is not None]
        assert len(winners) == 1, results
        assert all(isinstance(r, ObjectExistsError) for r in losers), losers
        assert backend.get("race") == f"writer-{winners[0]}".encode()

    # -- streamed writers ----------------------------------------------------

    def test_writer_commit(self, backend: Backend) -> None:
        """A streamed put is invisible until ``commit``, then whole."""
        writer = backend.open_writer("w/obj")
        assert writer.write(b"abc") == 3
        writer.write(bytearray(b"def"))
        writer.write(memoryview(b"ghi"))
        assert not backend.exists("w/obj")
        assert "w/obj" not in self.keys(backend, "w/")
        writer.commit()
        assert backend.get("w/obj") == b"abcdefghi"

    def test_writer_reused_buffer(self, backend: Backend) -> None:
        """The caller may reuse its buffer after ``write`` returns."""
        buf = bytearray(b"aaaa")
        with backend.open_writer("w/buf") as writer:
            writer.write(buf)
            buf[:] = b"bbbb"
            writer.write(buf)
            writer.commit()
        assert backend.get("w/buf") == b"aaaabbbb"

    def test_writer_abort(self, backend: Backend) -> None:
        """``abort`` (or an exception in the ``with`` block) leaves nothing behind."""
        writer = backend.open_writer("w/aborted")
        writer.write(b"partial" * 1000)
        writer.abort()
        with pytest.raises(RuntimeError), backend.open_writer("w/raised") as w2:
            w2.write(b"partial")
            raise RuntimeError("boom")
        assert not backend.exists("w/aborted")
        assert not backend.exists("w/raised")
        assert self.keys(backend) == []

    def test_writer_abort_keeps_existing(self, backend: Backend) -> None:
        """Aborting a replacing writer leaves the old object in place."""
        backend.put("w/k", b"old")
        writer = backend.open_writer("w/k")
        writer.write(b"new")
        writer.abort()
        assert backend.get("w/k") == b"old"

    def test_writer_create_only_loses_cleanly(self, backend: Backend) -> None:
        """A create-only streamed put on a taken key fails and changes nothing."""
        backend.put("w/taken", b"original")
        with pytest.raises(ObjectExistsError):
            writer = backend.open_writer("w/taken", create_only=True)
            writer.write(b"loser")
            writer.commit()
        assert backend.get("w/taken") == b"original"
        assert self.keys(backend) == ["w/taken"]

    def test_writer_create_only_race(self, backend: Backend) -> None:
        """Streamed create-only writers racing on one key: exactly one commits."""

        def write(i: int) -> None:
            writer = backend.open_writer("w/race", create_only=True)
            try:
                writer.write(f"writer-{i}:".encode())
                writer.write(b"x" * 1000)
                writer.commit()
            except BaseException:
                writer.abort()
                raise

        results = _race(self.race_threads, write)
        winners = [i for i, r in enumerate(results) if r is None]
        assert len(winners) == 1, results
        assert all(isinstance(r, ObjectExistsError) for r in results if r is not None), results
        assert backend.get("w/race") == f"writer-{winners[0]}:".encode() + b"x" * 1000
        assert self.keys(backend) == ["w/race"]

    # -- large objects -----------------------------------------------------

    def test_large_object_streamed(self, backend: Backend) -> None:
        """A large object streamed in 1 MiB chunks reads back exactly."""
        size = self.large_object_size
        digest = hashlib.sha256()
        with backend.open_writer("big/obj", create_only=True) as writer:
            for chunk in _pattern(size):
                digest.update(chunk)
                writer.write(chunk)
            writer.commit()
        assert backend.head("big/obj").size == size
        got = hashlib.sha256()
        with backend.open_reader("big/obj") as fh:
            while block := fh.read(4 << 20):
                got.update(block)
        assert got.hexdigest() == digest.hexdigest()
        mib = 1 << 20
        last = (size - 1) // mib
        assert backend.get_range("big/obj", last * mib, last * mib + 8) == last.to_bytes(8, "big")
        tail = backend.get_range("big/obj", size - 5, size + 100)
        assert len(tail) == 5

    def test_large_object_put_from_chunks(self, backend: Backend) -> None:
        """``put`` with an iterable of chunks handles a multi-MiB object."""
        size = 6 << 20
        expected = b"".join(_pattern(size, seed=1))
        backend.put("big/chunks", _pattern(size, seed=1))
        assert backend.head("big/chunks").size == size
        assert hashlib.sha256(backend.get("big/chunks")).digest() == (
            hashlib.sha256(expected).digest()
        )

    # -- unusual keys ------------------------------------------------------

    def test_unusual_key_characters(self, backend: Backend) -> None:
        """Keys with spaces, unicode, ``+ = % ? #`` and more round-trip unchanged."""
        for i, key in enumerate(self.unusual_keys):
            backend.put(key, f"v{i}".encode())
        for i, key in enumerate(self.unusual_keys):
            assert backend.get(key) == f"v{i}".encode(), key
            assert backend.head(key).size == len(f"v{i}"), key
            assert backend.get_range(key, 1, 2) == str(i).encode()[:1], key
        assert self.keys(backend) == sorted(self.unusual_keys, key=lambda k: k.encode())
        for key in self.unusual_keys:
            assert self.keys(backend, key) == [key], key
            with pytest.raises(ObjectExistsError):
                backend.put(key, b"again", create_only=True)
            backend.delete(key)
        assert self.keys(backend) == []

    # -- the store's commit protocol on this backend ---------------------------

    def test_store_save_load_verify(self, store: Store) -> None:
        """save, load and verify work on the backend, members first, marker last."""
        store.save("exp/metrics", "json", {"loss": 0.5})
        store.save("exp/run", "bundle", {"config.json": {"lr": 0.1}, "log.txt": "step 1\n"})
        assert store.load("exp/metrics", verify=True)["data"] == {"loss": 0.5}
        art = store.load("exp/run", verify=True)
        assert art["config.json"] == {"lr": 0.1} and art["log.txt"] == "step 1\n"
        assert [i.key for i in store.list()] == ["exp/metrics", "exp/run"]
        assert store.verify().ok
        keys = self.keys(store.backend, "exp/")
        assert f"exp/run/{MARKER}" in keys
        assert not any(k.endswith(f"/{CLAIM}") for k in keys)

    def test_store_production_is_immutable(self, store: Store) -> None:
        """In production a second save of a key raises ``ArtifactExistsError``."""
        store.save("k", "json", {"v": 1})
        with pytest.raises(ArtifactExistsError):
            store.save("k", "json", {"v": 2})
        assert store.load("k", verify=True)["data"] == {"v": 1}

    def test_store_racing_saves(self, store: Store) -> None:
        """Threads racing to save one key: one commits, the others get ``ArtifactExistsError``."""
        results = _race(
            self.race_threads,
            lambda i: store.save("race/k", "bundle", {"who.txt": f"writer-{i}", "pad.bin": b"x"}),
        )
        winners = [i for i, r in enumerate(results) if not isinstance(r, BaseException)]
        assert len(winners) == 1, results
        losers = [r for r in results if isinstance(r, BaseException)]
        assert all(lost_race(r) for r in losers), losers
        art = store.load("race/k", verify=True)
        assert art["who.txt"] == f"writer-{winners[0]}"
        keys = self.keys(store.backend)
        assert not any(k.endswith(f"/{CLAIM}") for k in keys), keys
        assert not any(k.startswith(f"{INTERNAL_PREFIX}/staging/") for k in keys), keys
        assert store.gc(dry_run=True, older_than=0).objects == []

    def test_store_transaction_abort_leaves_nothing(self, store: Store) -> None:
        """A transaction that raises leaves no object and no artifact."""
        with pytest.raises(RuntimeError, match="diverged"), store.transaction("t", "bundle") as tx:
            tx.write("config.json", {"lr": 10.0})
            tx.write("big.bin", b"y" * (1 << 20))
            assert not store.exists("t")
            raise RuntimeError("diverged")
        assert not store.exists("t")
        assert self.keys(store.backend) == []
        store.save("t", "bundle", {"a.txt": "after the abort"})  # the key is free
        assert store.load("t")["a.txt"] == "after the abort"

    def test_store_gc_removes_debris(self, store: Store) -> None:
        """Garbage collection deletes objects no manifest lists and keeps committed artifacts."""
        store.save("keep", "bundle", {"a.txt": "a"})
        store.backend.put("crashed/member.bin", b"half-written")
        store.backend.put("keep/stray.bin", b"not in the manifest")
        report = store.gc(dry_run=True, older_than=0)
        assert sorted(report.objects) == ["crashed/member.bin", "keep/stray.bin"]
        assert store.backend.exists("crashed/member.bin")
        assert store.gc(dry_run=True).objects == []  # too young for the default grace
        report = store.gc(dry_run=False, older_than=0)
        assert sorted(report.objects) == ["crashed/member.bin", "keep/stray.bin"]
        assert not store.backend.exists("crashed/member.bin")
        assert store.load("keep", verify=True)["a.txt"] == "a"

    def test_store_crashed_transaction_is_debris(self, store: Store) -> None:
        """A save that dies before commit leaves debris that gc removes; the key is free again."""
        tx = store.transaction("crash", "bundle")
        tx.write("a.txt", "a")
        del tx  # the process "dies": no commit, no abort
        assert not store.exists("crash")
        store.gc(dry_run=False, older_than=0)
        assert self.keys(store.backend, "crash/") == []
        store.save("crash", "bundle", {"a.txt": "b"})
        assert store.load("crash", verify=True)["a.txt"] == "b"

    def test_store_directory_member(self, store: Store) -> None:
        """Directory members (the core ``folder`` format) commit, verify and load."""
        with store.transaction("figs", "bundle") as tx:
            folder = tx.directory("plots", format="folder")
            folder.put("loss.svg", b"<svg/>")
            folder.put("a/b c/acc.png", b"\x89PNG....")
            folder.put("loss.svg", b"<svg>v2</svg>")
            tx.write("notes.txt", "two plots")
        art = store.load("figs", verify=True)
        assert dict(art["plots"]) == {"a/b c/acc.png": b"\x89PNG....", "loss.svg": b"<svg>v2</svg>"}
        assert store.verify().ok
        store.backend.put("figs/plots/a/b c/acc.png", b"tampered")
        assert not store.verify("figs").ok

    def test_store_development_overwrites(self, dev_store: Store) -> None:
        """Development mode replaces an artifact and deletes it."""
        dev_store.save("a", "json", {"v": 1})
        dev_store.save("a", "json", {"v": 2})
        assert dev_store.load("a", verify=True)["data"] == {"v": 2}
        dev_store.gc(dry_run=False, older_than=0)
        assert dev_store.verify().ok
        dev_store.delete("a")
        assert not dev_store.exists("a")

    def test_open_store_by_url(
        self, store: Store, store_url: str, backend_options: dict[str, Any]
    ) -> None:
        """``capsa.open_store(store_url, options=...)`` reaches the same root."""
        import capsa

        store.save("by-url", "json", {"v": 1})
        other = capsa.open_store(store_url, options=backend_options)
        assert type(other.backend) is type(store.backend)
        assert other.load("by-url", verify=True)["data"] == {"v": 1}
        with pytest.raises(CapsaError):
            other.save("by-url", "json", {"v": 2})
