"""Shared fixtures for the capsa-parquet tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import capsa
import capsa.testing.formats as testing_formats
from capsa.store.store import Store
from capsa.testing.formats import StreamingSink
from capsa.testing.isolation import fresh_store_url


class NonSeekableSink(StreamingSink):
    """The store-like sink parquet tests write into."""


class CountingSource(testing_formats.CountingSource):
    """A counting source named like a parquet member, with a small read buffer."""

    buffer_size = 4096  # so that what is counted is close to what was asked for

    def __init__(
        self, data: bytes, *, name: str = "table.parquet", info: Mapping[str, Any] | None = None
    ):
        super().__init__(data, name=name, info=info)


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
    for url in fresh_store_url(request.param, tmp_path):
        yield capsa.open_store(url)
