"""The built-in backends keep the object-store contract."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from capsa.backends.base import Backend
from capsa.backends.local import LocalBackend
from capsa.backends.memory import MemoryBackend
from capsa.errors import InvalidKeyError, ObjectExistsError, ObjectNotFoundError


@pytest.fixture(params=["file", "memory"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "file":
        return LocalBackend.from_url((tmp_path / "root").as_uri(), {})
    return MemoryBackend.from_url(f"memory://b-{uuid.uuid4().hex[:8]}", {})


def test_put_get_head_range(backend: Backend) -> None:
    backend.put("a/b.bin", b"0123456789")
    assert backend.get("a/b.bin") == b"0123456789"
    assert backend.head("a/b.bin").size == 10
    assert backend.get_range("a/b.bin", 2, 5) == b"234"
    assert backend.get_range("a/b.bin", 8, 100) == b"89"
    with backend.open_reader("a/b.bin") as fh:
        fh.seek(7)
        assert fh.read() == b"789"
    backend.put("a/b.bin", [b"new", b"er"])  # iterable of chunks, replaces
    assert backend.get("a/b.bin") == b"newer"


def test_create_only(backend: Backend) -> None:
    backend.put("k", b"first", create_only=True)
    with pytest.raises(ObjectExistsError):
        backend.put("k", b"second", create_only=True)
    assert backend.get("k") == b"first"


def test_missing_keys(backend: Backend) -> None:
    with pytest.raises(ObjectNotFoundError):
        backend.get("nope")
    with pytest.raises(ObjectNotFoundError):
        backend.get_range("nope", 0, 1)
    with pytest.raises(ObjectNotFoundError):
        backend.head("nope")
    assert not backend.exists("nope")
    backend.delete("nope")  # not an error


def test_list_by_prefix_is_sorted_and_exact(backend: Backend) -> None:
    for key in ("a/1", "a/2/x", "ab/1", "b"):
        backend.put(key, b"x")
    assert [i.key for i in backend.list("a/")] == ["a/1", "a/2/x"]
    assert [i.key for i in backend.list("a")] == ["a/1", "a/2/x", "ab/1"]
    assert [i.key for i in backend.list("")] == ["a/1", "a/2/x", "ab/1", "b"]
    assert list(backend.list("zzz")) == []


def test_streamed_writer_commit_and_abort(backend: Backend) -> None:
    with backend.open_writer("w/obj") as writer:
        writer.write(b"abc")
        writer.write(memoryview(b"def"))
        writer.commit()
    assert backend.get("w/obj") == b"abcdef"
    writer = backend.open_writer("w/aborted")
    writer.write(b"partial")
    writer.abort()
    assert not backend.exists("w/aborted")
    assert [i.key for i in backend.list("w/")] == ["w/obj"]
    # A create-only streamed put that loses leaves the existing object intact.
    writer = backend.open_writer("w/obj", create_only=True)
    writer.write(b"loser")
    with pytest.raises(ObjectExistsError):
        writer.commit()
    assert backend.get("w/obj") == b"abcdef"


def test_delete_prefix(backend: Backend) -> None:
    for key in ("p/1", "p/q/2", "pp/3"):
        backend.put(key, b"x")
    assert backend.delete_prefix("p/") == 2
    assert [i.key for i in backend.list("")] == ["pp/3"]


@pytest.mark.parametrize("key", ["sp ace/x", "ünï/ключ", "a+b=c&d", "q?x#y", "%20"])
def test_unusual_key_characters(backend: Backend, key: str) -> None:
    backend.put(key, b"v")
    assert backend.get(key) == b"v"
    assert [i.key for i in backend.list("")] == [key]


def test_large_object_streams(backend: Backend) -> None:
    chunk = bytes(range(256)) * 4096  # 1 MiB
    with backend.open_writer("big") as writer:
        for _ in range(20):
            writer.write(chunk)
        writer.commit()
    assert backend.head("big").size == 20 * len(chunk)
    assert backend.get_range("big", 19 * len(chunk), 19 * len(chunk) + 4) == bytes([0, 1, 2, 3])


def test_local_backend_refuses_escaping_keys(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    for key in ("../x", "/etc/passwd", "a/../../x"):
        with pytest.raises(InvalidKeyError):
            backend.put(key, b"x")
    assert list(tmp_path.iterdir()) == []


def test_local_rename_prefix_no_replace_and_exchange(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    backend.put("s1/m", b"one")
    backend.put("s2/m", b"two")
    backend.rename_prefix("s1", "d")
    assert backend.get("d/m") == b"one"
    with pytest.raises(ObjectExistsError):
        backend.rename_prefix("s2", "d")
    backend.rename_prefix("s2", "d", exchange=True)
    assert backend.get("d/m") == b"two" and backend.get("s2/m") == b"one"


def test_local_url_forms(tmp_path: Path) -> None:
    assert LocalBackend.from_url(str(tmp_path), {}).root == tmp_path
    assert LocalBackend.from_url(tmp_path.as_uri(), {}).root == tmp_path
    with pytest.raises(InvalidKeyError, match="remote host"):
        LocalBackend.from_url("file://otherhost/x", {})


def test_memory_spaces_are_shared_by_name() -> None:
    name = f"shared-{uuid.uuid4().hex[:6]}"
    MemoryBackend.from_url(f"memory://{name}", {}).put("k", b"v")
    assert MemoryBackend.from_url(f"memory://{name}", {}).get("k") == b"v"
    assert not MemoryBackend.from_url(f"memory://{name}-other", {}).exists("k")
