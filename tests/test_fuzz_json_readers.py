"""Fuzzing the core JSON and JSON Lines readers (hypothesis).

``JsonFormat.read`` and ``JsonlFormat.read`` / ``read_lazy`` are fed random
bytes, every kind of truncation of documents they wrote, invalid UTF-8
spliced into strings, bit flips and very deep nesting. What must hold:

* the only exception is :class:`~capsa.errors.IntegrityError` naming the
  member (and, for JSONL, the line); anything else fails the test;
* what is accepted is plain JSON data that re-encodes to itself, and a
  document or record written by the format reads back equal;
* a truncated JSON document is never accepted, and a truncated JSONL member
  never yields a record that was not written (only a prefix of the records,
  the last one possibly a cut-short number).
"""

from __future__ import annotations

import io
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capsa.errors import CapsaError, IntegrityError
from capsa.formats.base import BytesSource
from capsa.formats.json import JsonFormat
from capsa.formats.jsonl import JsonlFormat

NAME = "runs/7/metrics.json"
LINES_NAME = "runs/7/events.jsonl"
JSON = JsonFormat()
JSONL = JsonlFormat()

# The autouse ``_clean_env`` fixture only chdirs into the test's folder; it
# holds no state an example could leak into the next one.
FUZZ = settings(
    deadline=None, max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=8,
)
containers = st.lists(json_values, max_size=4) | st.dictionaries(
    st.text(max_size=6), json_values, min_size=1, max_size=4
)
BAD_UTF8 = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xe2\x82", b"\xf4\x90\x80\x80", b"\xc0\xaf"]


def written(fmt: JsonFormat | JsonlFormat, value: Any) -> bytes:
    sink = io.BytesIO()
    fmt.validate(value)
    fmt.write(value, sink)
    return sink.getvalue()


def assert_plain_json(value: Any) -> None:
    """Accepted data is plain JSON: it re-encodes and decodes to itself."""
    assert msgspec.json.decode(msgspec.json.encode(value)) == value


def read_json(raw: bytes) -> Any | None:
    """Read a JSON member; a typed error names it; anything else fails the test."""
    try:
        value = JSON.read(BytesSource(raw, name=NAME))
    except CapsaError as exc:
        assert isinstance(exc, IntegrityError)
        assert repr(NAME) in str(exc)
        return None
    assert_plain_json(value)
    return value


def read_jsonl(raw: bytes) -> list[Any] | None:
    """Read a JSONL member eagerly and lazily; both agree, or both raise IntegrityError."""
    source = BytesSource(raw, name=LINES_NAME)
    errors: list[str] = []
    try:
        records = JSONL.read(source)
    except CapsaError as exc:
        assert isinstance(exc, IntegrityError)
        assert repr(LINES_NAME) in str(exc) and " line " in str(exc)
        records, _ = None, errors.append(str(exc))
    try:
        streamed = list(JSONL.read_lazy(source))
    except CapsaError as exc:
        assert isinstance(exc, IntegrityError)
        assert repr(LINES_NAME) in str(exc) and " line " in str(exc)
        streamed, _ = None, errors.append(str(exc))
    if len(errors) == 1:
        # Only the recursion limit depends on the caller's stack depth.
        assert "nested too deeply" in errors[0]
    elif not errors:
        assert streamed == records
    if records is not None:
        for record in records:
            assert_plain_json(record)
    return records


# -- JSON ----------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=400))
def test_json_random_bytes(raw: bytes) -> None:
    value = read_json(raw)
    if value is not None:
        assert value == msgspec.json.decode(raw)


@FUZZ
@given(json_values)
def test_json_round_trip(value: Any) -> None:
    assert read_json(written(JSON, value)) == value


@FUZZ
@given(containers, st.data())
def test_json_truncations_are_refused(value: Any, data: st.DataObject) -> None:
    raw = written(JSON, value)
    cut = data.draw(st.integers(0, len(raw)))
    got = read_json(raw[:cut])
    if cut < len(raw.rstrip()):
        assert got is None, f"a document cut at {cut} of {len(raw)} bytes was accepted"
    else:
        assert got == value


@FUZZ
@given(containers, st.data())
def test_json_flips_and_invalid_utf8(value: Any, data: st.DataObject) -> None:
    raw = bytearray(written(JSON, value))
    if data.draw(st.booleans()) and raw:
        for _ in range(data.draw(st.integers(1, 3))):
            raw[data.draw(st.integers(0, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
    else:
        at = data.draw(st.integers(0, len(raw)))
        raw[at:at] = data.draw(st.sampled_from(BAD_UTF8))
    read_json(bytes(raw))


@FUZZ
@given(st.integers(1, 20_000), st.sampled_from([b"[", b'{"a":', b'[{"b":']))
def test_json_deep_nesting(depth: int, opener: bytes) -> None:
    closer = {b"[": b"]", b'{"a":': b"}", b'[{"b":': b"}]"}[opener]
    read_json(opener * depth + b"0" + closer * depth)


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b'{"a": "\xff"}', r"'runs/7/metrics\.json' is not valid JSON: invalid UTF-8"),
        (b"[" * 5000 + b"]" * 5000, r"'runs/7/metrics\.json' is not valid JSON: nested too deeply"),
    ],
    ids=["invalid-utf8", "deep-nesting"],
)
def test_json_escapes_found_by_fuzzing(raw: bytes, match: str) -> None:
    with pytest.raises(IntegrityError, match=match):
        JSON.read(BytesSource(raw, name=NAME))


# -- JSON Lines ----------------------------------------------------------------

records_strategy = st.lists(
    st.recursive(
        scalars.filter(lambda v: not isinstance(v, str)),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
        ),
        max_leaves=6,
    ),
    max_size=5,
)


@FUZZ
@given(st.binary(max_size=400))
def test_jsonl_random_bytes(raw: bytes) -> None:
    read_jsonl(raw)


@FUZZ
@given(st.lists(st.text(st.sampled_from('[]{}",:0123456789ae \n\r\t\\u'), max_size=30)))
def test_jsonl_json_like_text(lines: list[str]) -> None:
    read_jsonl("\n".join(lines).encode())


@FUZZ
@given(records_strategy)
def test_jsonl_round_trip(records: list[Any]) -> None:
    assert read_jsonl(written(JSONL, records)) == records


@FUZZ
@given(records_strategy, st.data())
def test_jsonl_truncations_yield_only_written_records(
    records: list[Any], data: st.DataObject
) -> None:
    raw = written(JSONL, records)
    cut = data.draw(st.integers(0, len(raw)))
    got = read_jsonl(raw[:cut])
    if got is None:
        return
    # Whole lines before the cut read back as written; the line cut short
    # either fails or (a number cut between digits) parses as a shorter value.
    complete = raw[:cut].count(b"\n")
    assert got[:complete] == records[:complete]
    assert len(got) <= complete + 1
    if len(got) == complete + 1:
        last = got[-1]
        # The cut took only the newline, or cut a number between its digits.
        assert last == records[complete] or (
            isinstance(last, int | float) and not isinstance(last, bool)
        )


@FUZZ
@given(records_strategy.filter(bool), st.data())
def test_jsonl_flips_and_invalid_utf8(records: list[Any], data: st.DataObject) -> None:
    raw = bytearray(written(JSONL, records))
    if data.draw(st.booleans()):
        for _ in range(data.draw(st.integers(1, 3))):
            raw[data.draw(st.integers(0, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
    else:
        at = data.draw(st.integers(0, len(raw)))
        raw[at:at] = data.draw(st.sampled_from(BAD_UTF8))
    read_jsonl(bytes(raw))


@FUZZ
@given(st.integers(1, 20_000), st.integers(0, 3))
def test_jsonl_deep_nesting(depth: int, good_lines: int) -> None:
    read_jsonl(b'{"ok": 1}\n' * good_lines + b"[" * depth + b"]" * depth + b"\n")


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b'{"a": 1}\n{"a": "\xff"}\n', r"'runs/7/events\.jsonl' line 2 is not valid JSON"),
        (b"[" * 5000 + b"]" * 5000, r"'runs/7/events\.jsonl' line 1 is not valid JSON"),
    ],
    ids=["invalid-utf8", "deep-nesting"],
)
def test_jsonl_escapes_found_by_fuzzing(raw: bytes, match: str) -> None:
    with pytest.raises(IntegrityError, match=match):
        JSONL.read(BytesSource(raw, name=LINES_NAME))
    with pytest.raises(IntegrityError, match=match):
        list(JSONL.read_lazy(BytesSource(raw, name=LINES_NAME)))
