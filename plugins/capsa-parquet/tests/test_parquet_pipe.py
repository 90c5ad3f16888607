"""The write-behind pipe between pyarrow and the store's sink."""

from __future__ import annotations

import errno
import io
import os

import pytest
from capsa_parquet._pipe import WriteBehindPipe


class Recorder(io.RawIOBase):
    def __init__(self, fail_after: int | None = None):
        super().__init__()
        self.data = bytearray()
        self.sizes: list[int] = []
        self.fail_after = fail_after

    def writable(self) -> bool:
        return True

    def write(self, b):
        if self.fail_after is not None and len(self.data) >= self.fail_after:
            raise OSError(errno.ENOSPC, "No space left on device")
        view = memoryview(b).cast("B")
        self.data += view
        self.sizes.append(view.nbytes)
        return view.nbytes


@pytest.mark.parametrize("pieces", [[], [b"x"], [b"ab"] * 1000, [os.urandom(5000)] * 37])
def test_bytes_arrive_in_order(pieces):
    sink = Recorder()
    pipe = WriteBehindPipe(sink, chunk_size=4096, chunks=2)
    for piece in pieces:
        assert pipe.write(piece) == len(piece)
    assert pipe.tell() == sum(map(len, pieces))
    pipe.finish()
    assert bytes(sink.data) == b"".join(pieces)
    assert all(s <= 4096 for s in sink.sizes)
    assert len(sink.sizes) == -(-len(sink.data) // 4096)


def test_small_output_is_written_without_a_thread():
    sink = Recorder()
    pipe = WriteBehindPipe(sink)
    pipe.write(b"hello")
    pipe.finish()
    assert pipe._worker is None and bytes(sink.data) == b"hello"


def test_sink_errors_keep_their_type():
    sink = Recorder(fail_after=8192)
    pipe = WriteBehindPipe(sink, chunk_size=4096, chunks=2)
    with pytest.raises(OSError) as info:
        for _ in range(100):
            pipe.write(b"z" * 1000)
        pipe.finish()
    assert info.value.errno == errno.ENOSPC
    pipe.abort()


def test_close_finishes_and_abort_discards():
    sink = Recorder()
    pipe = WriteBehindPipe(sink, chunk_size=16, chunks=2)
    pipe.write(b"0123456789" * 5)
    pipe.close()
    assert bytes(sink.data) == b"0123456789" * 5
    sink2 = Recorder()
    pipe2 = WriteBehindPipe(sink2, chunk_size=16, chunks=2)
    pipe2.write(b"a" * 10)
    pipe2.abort()
    pipe2.close()
    assert bytes(sink2.data) == b""
