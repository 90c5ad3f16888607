"""Fuzzing key validation (hypothesis): keys, member file names and listing prefixes.

``validate_key``, ``validate_member_file`` and ``validate_prefix`` are fed
arbitrary objects and hostile text (unicode, lone surrogates, control and
line-separator characters, ``..``, absolute and drive paths, backslashes,
empty segments, reserved names in any case, huge segments and keys). What must
hold:

* the validators raise :class:`~capsa.errors.InvalidKeyError` or accept;
  nothing else escapes (any other exception fails the test);
* an accepted key is returned unchanged and is *safe*: it encodes as UTF-8,
  is one line, joined under a root (POSIX and Windows rules) it stays under
  that root segment by segment, with no segment a file system would refuse
  (longer than :data:`~capsa.store.keys.MAX_SEGMENT_BYTES`) or confuse with
  capsa's reserved names on a case-insensitive file system;
* end to end, an accepted key saves and loads back on a local folder and on
  ``memory://``, and every object written lies under the artifact's prefix.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import capsa
from capsa.errors import InvalidKeyError
from capsa.store.keys import (
    CLAIM,
    INTERNAL_PREFIX,
    MARKER,
    MAX_KEY_BYTES,
    MAX_SEGMENT_BYTES,
    validate_key,
    validate_member_file,
    validate_prefix,
)

# The autouse ``_clean_env`` fixture only chdirs into the test's folder; it
# holds no state an example could leak into the next one.
FUZZ = settings(
    deadline=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

NASTY_SEGMENTS = [
    "",
    ".",
    "..",
    "...",
    MARKER,
    MARKER.lower(),
    CLAIM,
    "_claim",
    INTERNAL_PREFIX,
    INTERNAL_PREFIX.upper(),
    "x.capsa-tmp-1",
    "X.CAPSA-TMP-1",
    "C:",
    "c:x",
    "1:",
    "é:",
    " a",
    "a ",
    "\u3000a",
    "a\t",
    "a\\b",
    "a\x00",
    "a\nb",
    "a\rb",
    "a\x7f",
    "a\x85b",
    "a\u2028b",
    "a\u2029b",
    "a\ud800",
    "\udcff",
    "%2e%2e",
    "~",
    "$HOME",
    "\u202eevil",
    "a" * 200,
    "a" * 201,
    "é" * 100,
    "é" * 101,
    "😀" * 50,
    "😀" * 51,
    "\u017fuccess",  # LATIN SMALL LETTER LONG S: casefolds to "s"
]

segment = st.one_of(
    st.sampled_from(NASTY_SEGMENTS),
    st.text(max_size=8),
    st.text(st.characters(min_codepoint=0, max_codepoint=0x9F), max_size=6),
    st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=2),
    st.text(st.sampled_from("ab./\\: _-é"), max_size=10),
    st.integers(150, 260).map(lambda n: "k" * n),
)

path_text = st.one_of(
    st.lists(segment, min_size=1, max_size=6).map("/".join),
    st.tuples(st.sampled_from(["/", "//", "\\", "C:/", "c:\\", "./", "../"]), segment).map("".join),
    st.text(),
    st.integers(MAX_KEY_BYTES - 4, MAX_KEY_BYTES + 4).map(lambda n: "/".join(["a" * 99] * 20)[:n]),
)

non_strings = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.binary(max_size=8),
    st.lists(st.text(max_size=3), max_size=3),
    st.builds(PurePosixPath, st.text(max_size=5)),
    st.builds(object),
)

any_value = st.one_of(path_text, non_strings)


def assert_safe_path(value: str) -> None:
    """What every accepted key or member name must satisfy, independent of the validator."""
    assert isinstance(value, str)
    raw = value.encode("utf-8")  # strict: a lone surrogate fails the test here
    assert 0 < len(raw) <= MAX_KEY_BYTES
    assert value.splitlines() == [value], "a key is one line"
    assert "\\" not in value and "\x00" not in value
    segments = value.split("/")
    for seg in segments:
        assert seg not in ("", ".", "..")
        assert seg == seg.strip()
        assert 0 < len(seg.encode("utf-8")) <= MAX_SEGMENT_BYTES
        assert "capsa-tmp-" not in seg.casefold()
    # POSIX: joined under a root, the key adds exactly its segments and
    # normalising the path changes nothing (no '..' can climb out).
    root = PurePosixPath("/srv/capsa-root")
    joined = root / value
    assert joined.parts == (*root.parts, *segments)
    assert os.path.normpath(str(joined)) == str(joined)
    assert os.path.commonpath([str(root), str(joined)]) == str(root)
    # Windows: no drive, no root, no hidden separator.
    wroot = PureWindowsPath("C:/capsa-root")
    wjoined = wroot / value
    assert wjoined.drive == "C:"
    assert wjoined.parts[: len(wroot.parts)] == wroot.parts
    assert len(wjoined.parts) == len(wroot.parts) + len(segments)


@FUZZ
@given(any_value)
def test_validate_key_refuses_or_accepts_a_safe_key(value: object) -> None:
    try:
        accepted = validate_key(value)
    except InvalidKeyError as exc:
        assert str(exc)  # the message says what is wrong
        return
    assert accepted is value
    assert isinstance(accepted, str)
    assert_safe_path(accepted)
    folded = [seg.casefold() for seg in accepted.split("/")]
    assert folded[0] != INTERNAL_PREFIX
    assert MARKER.casefold() not in folded


@FUZZ
@given(any_value)
def test_validate_member_file_refuses_or_accepts_a_safe_name(value: object) -> None:
    try:
        accepted = validate_member_file(value, key="exp/run")
    except InvalidKeyError as exc:
        assert "'exp/run'" in str(exc)  # names the artifact
        return
    assert accepted is value
    assert isinstance(accepted, str)
    assert_safe_path(accepted)
    last = accepted.split("/")[-1].casefold()
    assert last not in (MARKER.casefold(), CLAIM.casefold())


@FUZZ
@given(st.one_of(any_value, path_text.map(lambda p: p + "/")))
def test_validate_prefix_refuses_or_accepts_a_safe_prefix(value: object) -> None:
    try:
        accepted = validate_prefix(value)
    except InvalidKeyError as exc:
        assert str(exc)
        return
    assert isinstance(accepted, str)
    if value in ("", None):
        assert accepted == ""
        return
    assert accepted is value
    body = accepted[:-1] if accepted.endswith("/") else accepted
    assert_safe_path(body)


@st.composite
def accepted_keys(draw: st.DrawFn) -> str:
    """A key the validator accepts: a fuzzed one when valid, else one built from safe parts."""
    key = draw(path_text)
    if key.split("/", 1)[0] in ("dev", "tests"):
        key = "p/" + key  # production refuses the other modes' namespaces
    try:
        return validate_key(key)
    except InvalidKeyError:
        parts = ["a", "é", "x y", "k" * MAX_SEGMENT_BYTES, "😀", "ab:c", "_successor"]
        return validate_key(
            "/".join(draw(st.lists(st.sampled_from(parts), min_size=1, max_size=5)))
        )


@settings(
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(key=accepted_keys(), backend=st.sampled_from(["file", "memory"]))
def test_accepted_keys_save_load_and_stay_under_the_root(key: str, backend: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = str(Path(tmp) / "store") if backend == "file" else f"memory://fuzz-{uuid.uuid4().hex}"
        store = capsa.open_store(url)
        try:
            ref = store.save(key, "json", {"key": key})
            assert store.load(key, verify=True)["data"] == {"key": key}
            assert [info.key for info in store.list()] == [key]
            written = [info.key for info in store.backend.list("")]
            assert written and all(k.startswith(ref.full_key + "/") for k in written)
            if backend == "file":
                root = Path(tmp, "store").resolve()
                for dirpath, _dirs, files in os.walk(root):
                    for name in files:
                        path = Path(dirpath, name).resolve()
                        assert path.is_relative_to(root / PurePosixPath(key))
        finally:
            if backend == "memory":
                from capsa.backends.memory import MemoryBackend

                MemoryBackend(url.removeprefix("memory://"))._objects.clear()


@pytest.mark.parametrize(
    "key",
    [
        "a\ud800",
        "k" * (MAX_SEGMENT_BYTES + 1),
        "a/" + "é" * (MAX_SEGMENT_BYTES // 2 + 1),
        "1:/x",
        "a\x85b",
        "a\u2028b",
        "_success/x",
        ".CAPSA/staging/x",
        "a/X.Capsa-Tmp-1",
    ],
    ids=[
        "surrogate",
        "long-segment",
        "long-utf8-segment",
        "digit-drive",
        "c1-control",
        "line-separator",
        "marker-lowercase",
        "internal-uppercase",
        "tmp-infix-mixed-case",
    ],
)
def test_keys_found_by_fuzzing_are_refused(key: str) -> None:
    with pytest.raises(InvalidKeyError, match=r"key"):
        validate_key(key)


def test_longest_segment_is_accepted_and_saved(tmp_path: Path) -> None:
    key = "k" * MAX_SEGMENT_BYTES
    store = capsa.open_store(str(tmp_path / "store"))
    store.save(key, "json", [1])
    assert store.load(key, verify=True)["data"] == [1]


@pytest.mark.parametrize("name", ["_success", "x/_Claim"])
def test_reserved_member_names_are_refused_in_any_case(name: str) -> None:
    with pytest.raises(InvalidKeyError, match=r"artifact 'k': member name .* is reserved"):
        validate_member_file(name, key="k")


@pytest.mark.parametrize("prefix", ["/", "a//", "//"])
def test_prefixes_with_empty_segments_are_refused(prefix: str) -> None:
    with pytest.raises(InvalidKeyError, match=r"prefix"):
        validate_prefix(prefix)
