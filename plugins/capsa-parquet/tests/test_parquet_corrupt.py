"""Truncated, corrupted and garbage members raise typed capsa errors naming the member."""

from __future__ import annotations

import io
import os

import numpy as np
import pyarrow as pa
import pytest
from capsa_parquet import ArrowFormat, CsvFormat, ParquetFormat, TsvFormat

from capsa.errors import CapsaError, IntegrityError
from capsa.formats.base import BytesSource

NAME = "run/table.bin"
FORMATS = {"parquet": ParquetFormat, "csv": CsvFormat, "tsv": TsvFormat, "arrow": ArrowFormat}


def _table() -> pa.Table:
    return pa.table(
        {
            "i": np.arange(40, dtype=np.int64),
            "f": np.linspace(0, 1, 40),
            "s": [f"v{i}" for i in range(40)],
        }
    )


def _written(fmt) -> tuple[bytes, dict]:
    table = _table()
    fmt.validate(table)
    out = io.BytesIO()
    info = fmt.write(table, out)
    return out.getvalue(), dict(info)


def _read_all_ways(fmt, data: bytes, info: dict):
    src = BytesSource(data, name=NAME, info=info)
    out = fmt.read(src)
    lazy = fmt.read_lazy(src)
    if hasattr(lazy, "read"):
        lazy.read()
    return out


@pytest.mark.parametrize("name", ["parquet", "arrow"])
@pytest.mark.parametrize(
    "data", [b"", b"garbage", b"PAR1" + b"\x00" * 50 + b"PAR1", os.urandom(300)]
)
def test_garbage_binary_formats(name, data):
    fmt = FORMATS[name]()
    with pytest.raises(IntegrityError, match=r"'run/table\.bin'"):
        _read_all_ways(fmt, data, {})


@pytest.mark.parametrize("name", ["parquet", "arrow", "csv", "tsv"])
def test_every_truncation_is_an_integrity_error(name):
    fmt = FORMATS[name]()
    data, info = _written(fmt)
    step = max(1, len(data) // 150)
    for cut in range(0, len(data), step):
        with pytest.raises(IntegrityError, match=r"run/table\.bin"):
            _read_all_ways(fmt, data[:cut], info)


@pytest.mark.parametrize("name", ["parquet", "arrow", "csv", "tsv"])
def test_byte_flips_never_leak_raw_exceptions(name):
    fmt = FORMATS[name]()
    data, info = _written(fmt)
    outcomes = {"ok": 0, "error": 0}
    step = max(1, len(data) // 300)
    for pos in range(0, len(data), step):
        for flip in (0x01, 0x80, 0xFF):
            bad = bytearray(data)
            bad[pos] ^= flip
            try:
                _read_all_ways(fmt, bytes(bad), info)
            except CapsaError as exc:
                assert "run/table.bin" in str(exc)
                outcomes["error"] += 1
            else:
                outcomes["ok"] += 1
    # Some flips land in values and read "fine"; the store's sha256 catches them.
    assert outcomes["error"] > 0


@pytest.mark.parametrize(
    "text",
    [
        b"a\tb\n1\t2\n3\n",  # a short row
        b"a\tb\n1\t2\t3\n",  # a long row
        b"a\tb\n\xff\xfe\t1\n",  # not UTF-8
        b'a\tb\n"unterminated\t1\n',
    ],
)
def test_garbage_text(text):
    with pytest.raises(IntegrityError, match=r"'run/table\.bin'"):
        TsvFormat().read(BytesSource(text, name=NAME))


def test_text_that_does_not_match_recorded_types():
    fmt = TsvFormat()
    data, info = _written(fmt)
    bad = data.replace(b"\n7\t", b"\nseven\t")
    assert bad != data
    with pytest.raises(IntegrityError, match=r"'run/table\.bin'"):
        fmt.read(BytesSource(bad, name=NAME, info=info))
    renamed = data.replace(b"i\tf\ts", b"x\tf\ts", 1)
    with pytest.raises(IntegrityError, match="has columns"):
        fmt.read(BytesSource(renamed, name=NAME, info=info))
    with pytest.raises(IntegrityError, match="recorded arrow schema"):
        fmt.read(BytesSource(data, name=NAME, info={**info, "arrow_schema": "@@@"}))
    with pytest.raises(IntegrityError, match="holds 40 rows, the manifest records 41"):
        fmt.read(BytesSource(data, name=NAME, info={**info, "rows": 41}))


@pytest.mark.parametrize("member", ["t.parquet", "t.tsv", "t.arrow", "t.csv"])
def test_corrupted_files_in_the_store(tmp_path, member):
    import capsa

    store = capsa.open_store(str(tmp_path / "s"))
    store.save("k", "bundle", {member: _table()})
    path = store.load("k").path(member)
    data = path.read_bytes()
    # Truncated on disk: the size check names the member.
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IntegrityError, match=member):
        store.load("k").read(member)
    # Same size, garbage inside: the decoder (or verify) names the member.
    path.write_bytes(bytes(len(data)))
    with pytest.raises(IntegrityError, match=member):
        store.load("k").read(member)
    with pytest.raises(IntegrityError, match=member):
        store.load("k", verify=True)


def test_corrupted_files_in_memory_store():
    import uuid

    import capsa

    store = capsa.open_store(f"memory://corrupt-{uuid.uuid4().hex[:6]}")
    ref = store.save("k", "table", _table())
    key = f"{ref.full_key}/table.parquet"
    data = store.backend.get(key)
    store.backend.put(key, data[:-10])
    with pytest.raises(IntegrityError, match=r"table\.parquet"):
        store.load("k")["table"]
    store.backend.put(key, b"\x00" * len(data))
    with pytest.raises(IntegrityError, match=r"table\.parquet"):
        store.load("k")["table"]


def test_io_errors_are_not_disguised():
    fmt = ParquetFormat()
    data, info = _written(fmt)

    class Failing(BytesSource):
        def open(self):
            raise PermissionError(13, "denied")

    with pytest.raises(PermissionError):
        fmt.read(Failing(data, name=NAME, info=info))
