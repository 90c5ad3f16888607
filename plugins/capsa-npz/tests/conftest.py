"""Shared fixtures for the capsa-npz format tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from capsa_npz.format import NpzFormat

import capsa.testing.formats as testing_formats
from capsa.testing.formats import StreamingSink


class NonSeekableSink(StreamingSink):
    """The store-like sink npz tests write into."""


class CountingSource(testing_formats.CountingSource):
    """A counting source named like an npz member by default."""

    def __init__(
        self, data: bytes, *, name: str = "arrays.npz", info: Mapping[str, Any] | None = None
    ):
        super().__init__(data, name=name, info=info)


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
