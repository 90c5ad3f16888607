"""Shared fixtures for the capsa-parquet tests."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import pytest

import capsa
from capsa.backends.memory import MemoryBackend
from capsa.formats.base import BytesSource
from capsa.store.store import Store


class NonSeekableSink(io.RawIOBase):
    """A write-only sink like the store's: write and tell work, seek raises."""

    def __init__(self) -> None:
        super().__init__()
        self._buf = bytearray()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def seek(self, offset: int, whence: int = 0) -> int:
        raise io.UnsupportedOperation("seek on a streaming sink")

    def tell(self) -> int:
        return len(self._buf)

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._buf += view
        return view.nbytes

    def getvalue(self) -> bytes:
        return bytes(self._buf)


class _CountingRaw(io.RawIOBase):
    def __init__(self, data: bytes, counter: list[int]):
        super().__init__()
        self._inner = io.BytesIO(data)
        self._counter = counter

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._inner.seek(offset, whence)

    def tell(self) -> int:
        return self._inner.tell()

    def readinto(self, buffer: Any) -> int:
        n = self._inner.readinto(buffer)
        self._counter[0] += n
        return n


class CountingSource(BytesSource):
    """A MemberSource without a local path whose opened files count the bytes read."""

    def __init__(
        self, data: bytes, *, name: str = "table.parquet", info: Mapping[str, Any] | None = None
    ):
        super().__init__(data, name=name, info=info)
        self._counter = [0]
        self.opens = 0

    @property
    def bytes_read(self) -> int:
        return self._counter[0]

    def open(self) -> BinaryIO:
        self.opens += 1
        # A small buffer, so that what is counted is close to what was asked for.
        return io.BufferedReader(_CountingRaw(self.read_bytes(), self._counter), buffer_size=4096)


WriteFn = Callable[..., tuple[bytes, dict[str, Any]]]


def write_member(fmt: Any, value: Any, **options: Any) -> tuple[bytes, dict[str, Any]]:
    """Validate and write ``value`` through a non-seekable sink; return (bytes, info)."""
    fmt.validate(value, **options)
    sink = NonSeekableSink()
    info = fmt.write(value, sink, **options)
    assert info is not None
    return sink.getvalue(), dict(info)


@pytest.fixture
def write() -> WriteFn:
    return write_member


@pytest.fixture
def counting_source() -> type[CountingSource]:
    return CountingSource


@pytest.fixture(params=["file", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A production store on each built-in backend."""
    if request.param == "file":
        yield capsa.open_store(str(tmp_path / "store"))
        return
    name = f"pq-{uuid.uuid4().hex[:8]}"
    yield capsa.open_store(f"memory://{name}")
    MemoryBackend(name)._objects.clear()
