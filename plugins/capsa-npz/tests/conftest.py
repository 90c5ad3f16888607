"""Shared fixtures for the capsa-npz format tests."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from capsa_npz.format import NpzFormat

from capsa.formats.base import BytesSource


class NonSeekableSink(io.RawIOBase):
    """A write-only sink like the store's: write and tell work, seek raises."""

    def __init__(self) -> None:
        super().__init__()
        self._buf = bytearray()
        self.writes = 0
        self.seek_calls = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def seek(self, offset: int, whence: int = 0) -> int:
        self.seek_calls += 1
        raise io.UnsupportedOperation("seek on a streaming sink")

    def truncate(self, size: int | None = None) -> int:
        raise io.UnsupportedOperation("truncate on a streaming sink")

    def tell(self) -> int:
        return len(self._buf)

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._buf += view
        self.writes += 1
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
    """A BytesSource whose opened files count the bytes read through them."""

    def __init__(
        self, data: bytes, *, name: str = "arrays.npz", info: Mapping[str, Any] | None = None
    ):
        super().__init__(data, name=name, info=info)
        self._counter = [0]
        self.opens = 0

    @property
    def bytes_read(self) -> int:
        return self._counter[0]

    def open(self) -> BinaryIO:
        self.opens += 1
        return io.BufferedReader(_CountingRaw(self.read_bytes(), self._counter))


class PathSource:
    """A MemberSource backed by a local file (so mmap reads are possible)."""

    def __init__(
        self, path: Path, *, name: str = "arrays.npz", info: Mapping[str, Any] | None = None
    ):
        self._path = path
        self._name = name
        self._info = dict(info or {})

    @property
    def name(self) -> str:
        return self._name

    @property
    def size(self) -> int:
        return self._path.stat().st_size

    @property
    def info(self) -> Mapping[str, Any]:
        return self._info

    def open(self) -> BinaryIO:
        return open(self._path, "rb")

    def read_bytes(self) -> bytes:
        return self._path.read_bytes()

    def local_path(self) -> Path | None:
        return self._path


@pytest.fixture
def fmt() -> NpzFormat:
    return NpzFormat()


WriteNpz = Callable[..., tuple[bytes, dict[str, Any]]]


@pytest.fixture
def write_npz(fmt: NpzFormat) -> WriteNpz:
    """Validate and write a value through a non-seekable sink; return (bytes, info)."""

    def _write(value: Any, **options: Any) -> tuple[bytes, dict[str, Any]]:
        fmt.validate(value, **options)
        sink = NonSeekableSink()
        info = fmt.write(value, sink, **options)
        assert info is not None
        return sink.getvalue(), dict(info)

    return _write


@pytest.fixture
def source_cls() -> type[CountingSource]:
    return CountingSource


@pytest.fixture
def path_source_cls() -> type[PathSource]:
    return PathSource


@pytest.fixture
def sink_cls() -> type[NonSeekableSink]:
    return NonSeekableSink
