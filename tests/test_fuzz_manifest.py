"""Fuzzing the ``_SUCCESS`` manifest parser and the store's reads of hostile markers (hypothesis).

Fed to :func:`capsa.store.manifest.decode_manifest`: random bytes, every
truncation of a real marker, bit flips, invalid UTF-8 and deep nesting, and
structurally valid JSON with hostile content (wrong types, negative or huge
sizes, malformed hashes, member names that escape (``..``, absolute,
backslashes), duplicated members, absurd schema and kind versions, object
references that do not match or escape). What must hold:

* only :class:`~capsa.errors.CapsaError` subclasses are raised (any other
  exception fails the test);
* an accepted manifest is sound: every member name is a valid, safe member
  file, sizes are ints >= 0, hashes are 64 hex digits, no file is listed
  twice, by-reference members are consistent, the schema version is one this
  capsa reads, and it re-encodes to the same manifest.

End to end, a hostile ``_SUCCESS`` is written over a real artifact's marker,
next to its real members, on a local folder and on ``memory://``:
``store.list``, ``store.verify`` and ``store.load`` (then reading every
member) raise only capsa's typed errors or report a problem, and whatever
they accept is intact: ``load(verify=True)`` and a clean ``verify`` only
pass when every member's stored bytes match the size and sha256 the marker
records, and a member read back through its original format equals what was
saved.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import capsa
from capsa.errors import CapsaError, IncompatibleVersionError, IntegrityError
from capsa.store.keys import MARKER, validate_member_file
from capsa.store.manifest import (
    MANIFEST_SCHEMA,
    MANIFEST_VERSION,
    OBJECT_MEMBERS_SINCE,
    Manifest,
    decode_manifest,
    encode_manifest,
)
from capsa.store.store import Store

KEY = "exp/run"
DATA: dict[str, Any] = {
    "config.json": {"lr": 0.01, "tags": ["a", "b"]},
    "events.jsonl": [{"t": 1}, {"t": 2, "msg": "é"}],
    "log.txt": "step 1\nstep 2\n",
    "weights.bin": b"\x00\x01\x02" * 7,
}
BY_REFERENCE = ["weights.bin"]
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

# The autouse ``_clean_env`` fixture only chdirs into the test's folder; it
# holds no state an example could leak into the next one.
NO_FIXTURE_CHECK = [HealthCheck.function_scoped_fixture]


def _save_base(store: Store) -> None:
    store.save(KEY, "bundle", DATA, meta={"seed": 7}, by_reference=BY_REFERENCE)


@functools.cache
def base_marker() -> bytes:
    """The ``_SUCCESS`` bytes of a real bundle artifact (json, jsonl, text, by-reference bytes)."""
    store = capsa.open_store(f"memory://fuzz-manifest-base-{uuid.uuid4().hex}")
    _save_base(store)
    return store.backend.get(f"{KEY}/{MARKER}")


def base_doc() -> dict[str, Any]:
    doc = msgspec.json.decode(base_marker())
    assert isinstance(doc, dict)
    return doc


def assert_sound(manifest: Manifest, key: str = KEY) -> None:
    """What every manifest decode_manifest accepts must satisfy."""
    assert manifest.schema == MANIFEST_SCHEMA
    assert isinstance(manifest.schema_version, int)
    assert 1 <= manifest.schema_version <= MANIFEST_VERSION
    assert isinstance(manifest.kind_version, int) and manifest.kind_version >= 0
    files = [record.file for record in manifest.members]
    assert len(files) == len(set(files))
    names = [record.name for record in manifest.members]
    assert len(names) == len(set(names))
    for record in manifest.members:  # artifact[name] finds exactly this record
        assert manifest.member(record.name) is record
        assert manifest.member(record.file) is record
    for record in manifest.members:
        assert validate_member_file(record.file, key=key) == record.file
        assert ".." not in record.file.split("/") and not record.file.startswith("/")
        assert isinstance(record.size, int) and record.size >= 0
        assert _SHA256.match(record.sha256)
        assert record.layout in ("file", "directory")
        if record.by_reference:
            assert record.object == record.sha256
            assert record.layout == "file"
            assert manifest.schema_version >= OBJECT_MEMBERS_SINCE
    assert manifest.size == sum(record.size for record in manifest.members)
    assert decode_manifest(encode_manifest(manifest), key=key) == manifest


def decode_or_typed_error(raw: bytes, key: str = KEY) -> Manifest | None:
    """Decode; a typed error names the artifact; anything else propagates and fails the test."""
    try:
        manifest = decode_manifest(raw, key=key)
    except CapsaError as exc:
        assert isinstance(exc, IntegrityError | IncompatibleVersionError)
        assert repr(key) in str(exc)
        return None
    assert_sound(manifest, key)
    return manifest


# -- hostile documents ---------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)

hex64 = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
sha_like = st.one_of(
    hex64,
    hex64.map(str.upper),
    st.text(alphabet="0123456789abcdef", min_size=62, max_size=66),
    st.sampled_from(["", "../../etc/passwd", "/abs", "0" * 64 + "\n", "g" * 64]),
)
member_names = st.one_of(
    st.sampled_from(
        [
            "config.json",
            "log.txt",
            "events.jsonl",
            "weights.bin",
            "missing.json",
            "../escape.json",
            "a/../../b",
            "/etc/passwd",
            "C:/x",
            "a\\b",
            "a//b",
            "./x",
            "",
            MARKER,
            "_CLAIM",
            "sub/_SUCCESS",
            "x.capsa-tmp-1",
            "k" * 300,
            "a\x00b",
            "\u2028",
            "config.json/inner",
            " log.txt",
        ]
    ),
    st.text(max_size=10),
)
# Plugin formats are named too: when the plugin is installed its reader gets
# another member's bytes; when it is not, the lookup is a typed error.
FORMATS = [
    "json",
    "jsonl",
    "text",
    "bytes",
    "pickle",
    "folder",
    "npz",
    "parquet",
    "csv",
    "tsv",
    "arrow",
    "feather",
    "zarr",
    "no-such-format",
    "",
]
MEMBER_FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "name": member_names | json_values,
    "file": member_names | json_values,
    "format": st.sampled_from(FORMATS) | json_values,
    "size": st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([0, 1, 7, 16, 41, 21, 2**63])
    | json_values,
    "sha256": sha_like | json_values,
    "options": json_values | st.just({"type": "list"}) | st.just({"indent": -1}),
    "info": json_values | st.just({"records": -1}) | st.just({"single": True}),
    "layout": st.sampled_from(["file", "directory", "", "File", "link"]) | json_values,
    "object": sha_like | json_values,
}
TOP_FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "schema": st.sampled_from([MANIFEST_SCHEMA, "capsa.manifest ", "other"]) | json_values,
    "schema_version": st.integers(min_value=-(2**70), max_value=2**70) | json_values,
    "key": member_names | json_values,
    "namespace": st.sampled_from(["", "dev/s", "../.."]) | json_values,
    "kind": st.sampled_from(["bundle", "json", "arrays", "pickle", "nope", ""]) | json_values,
    "kind_version": st.integers(min_value=-(2**70), max_value=2**70) | json_values,
    "created_at": json_values,
    "txid": json_values,
    "mode": st.sampled_from(["production", "development", "test", "x"]) | json_values,
    "members": json_values,
    "producer": json_values,
    "provenance": json_values,
    "meta": json_values,
}


_NEST = re.compile(rb'"__nest_(\\d+)__"')


def _nest_marker(depth: int) -> str:
    """A placeholder that :func:`encode_doc` turns into ``depth`` nested JSON arrays."""
    return f"__nest_{depth}__"


def encode_doc(doc: dict[str, Any]) -> bytes:
    """Encode a hostile document; deep nesting is spliced in as bytes (no Python recursion)."""
    raw = msgspec.json.encode(doc)
    return _NEST.sub(lambda m: b"[" * int(m.group(1)) + b"0" + b"]" * int(m.group(1)), raw)


@st.composite
def hostile_docs(draw: st.DrawFn) -> dict[str, Any]:
    """A real manifest with 1-4 hostile edits (fields, members, structure, nesting)."""
    doc = base_doc()
    for _ in range(draw(st.integers(1, 4))):
        edit = draw(
            st.sampled_from(
                ["top", "member", "member", "member", "drop", "dup", "swap", "delete", "nest"]
            )
        )
        members = doc.get("members")
        has_members = isinstance(members, list) and members and isinstance(members[0], dict)
        if edit == "top":
            field = draw(st.sampled_from(sorted(TOP_FIELD_VALUES)))
            doc[field] = draw(TOP_FIELD_VALUES[field])
        elif edit == "delete":
            doc.pop(draw(st.sampled_from(sorted(TOP_FIELD_VALUES))), None)
        elif edit == "nest":
            doc["meta"] = {"deep": _nest_marker(draw(st.integers(1, 5000)))}
        elif not has_members:
            continue
        elif edit == "member":
            record = draw(st.sampled_from(members))
            if not isinstance(record, dict):
                continue
            field = draw(st.sampled_from(sorted(MEMBER_FIELD_VALUES)))
            if draw(st.booleans()):
                # A value taken from another member: consistent-looking lies.
                other = draw(st.sampled_from(members))
                if isinstance(other, dict) and field in other:
                    record[field] = copy.deepcopy(other[field])
                    continue
            if draw(st.integers(0, 9)) == 0:
                record.pop(field, None)
            else:
                record[field] = draw(MEMBER_FIELD_VALUES[field])
        elif edit == "drop":
            members.pop(draw(st.integers(0, len(members) - 1)))
        elif edit == "dup":
            members.append(copy.deepcopy(draw(st.sampled_from(members))))
        elif edit == "swap" and len(members) >= 2:
            i, j = draw(st.permutations(range(len(members))))[:2]
            if isinstance(members[i], dict) and isinstance(members[j], dict):
                members[i]["file"], members[j]["file"] = (
                    members[j].get("file"),
                    members[i].get("file"),
                )
    return doc


BAD_UTF8 = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xe2\x82", b"\xf4\x90\x80\x80", b"\xc0\xaf"]


@st.composite
def hostile_markers(draw: st.DrawFn) -> bytes:
    """Any kind of broken marker: documents, bytes, truncations, flips, invalid UTF-8."""
    base = base_marker()
    kind = draw(st.sampled_from(["doc", "doc", "doc", "bytes", "cut", "flip", "utf8"]))
    if kind == "doc":
        return encode_doc(draw(hostile_docs()))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "cut":
        return base[: draw(st.integers(0, len(base)))]
    if kind == "flip":
        out = bytearray(base)
        for _ in range(draw(st.integers(1, 4))):
            out[draw(st.integers(0, len(out) - 1))] ^= draw(st.integers(1, 255))
        return bytes(out)
    # Invalid UTF-8 inside a string value (a field, a member name, a hash).
    target = draw(
        st.sampled_from([b'"bundle"', b'"config.json"', b'"production"', b'"json"', b'"3'])
    )
    i = base.index(target) + 1
    return base[:i] + draw(st.sampled_from(BAD_UTF8)) + base[i:]


# -- decode_manifest -----------------------------------------------------------


def test_the_base_marker_is_sound() -> None:
    manifest = decode_or_typed_error(base_marker())
    assert manifest is not None
    assert sorted(record.file for record in manifest.members) == sorted(DATA)


@settings(deadline=None, max_examples=200)
@given(st.binary(max_size=600))
def test_random_bytes(raw: bytes) -> None:
    decode_or_typed_error(raw)


@settings(deadline=None, max_examples=200)
@given(st.data())
def test_every_truncation_is_refused(data: st.DataObject) -> None:
    raw = base_marker()
    cut = data.draw(st.integers(0, len(raw)))
    manifest = decode_or_typed_error(raw[:cut])
    if cut < len(raw.rstrip()):
        assert manifest is None, f"a marker cut at {cut} of {len(raw)} bytes was accepted"
    else:
        assert manifest == decode_manifest(raw, key=KEY)


def test_every_truncation_exhaustively() -> None:
    raw = base_marker()
    full = decode_manifest(raw, key=KEY)
    for cut in range(len(raw) + 1):
        manifest = decode_or_typed_error(raw[:cut])
        assert (manifest is None) if cut < len(raw.rstrip()) else (manifest == full)


@settings(deadline=None, max_examples=200)
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1, max_size=4))
def test_bit_flips(flips: list[tuple[int, int]]) -> None:
    raw = bytearray(base_marker())
    for pos, mask in flips:
        raw[pos % len(raw)] ^= mask
    decode_or_typed_error(bytes(raw))


@settings(deadline=None, max_examples=250)
@given(hostile_docs())
def test_hostile_documents(doc: dict[str, Any]) -> None:
    decode_or_typed_error(encode_doc(doc))


@settings(deadline=None, max_examples=100)
@given(hostile_markers())
def test_hostile_markers(raw: bytes) -> None:
    decode_or_typed_error(raw)


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b'{"schema": "\xff"}', r"'exp/run'.*not a valid capsa manifest"),
        (b'{"meta": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}", r"'exp/run'.*nested"),
    ],
    ids=["invalid-utf8", "deep-nesting"],
)
def test_escapes_found_by_fuzzing_are_integrity_errors(raw: bytes, match: str) -> None:
    with pytest.raises(IntegrityError, match=match):
        decode_manifest(raw, key=KEY)


@pytest.mark.parametrize("field", ["schema_version", "kind_version"])
def test_negative_versions_are_refused(field: str) -> None:
    doc = base_doc()
    doc[field] = -1
    with pytest.raises(IntegrityError, match=rf"'exp/run'.*{field}"):
        decode_manifest(msgspec.json.encode(doc), key=KEY)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (
            lambda d: _member(d, "config.json").update(name="log.txt"),
            r"member name 'log\.txt' (listed twice|is also the file of another member)",
        ),
        (
            lambda d: _member(d, "config.json").update(name="events.jsonl"),
            r"member name 'events\.jsonl' (listed twice|is also the file of another member)",
        ),
    ],
    ids=["name-listed-twice", "name-is-another-file"],
)
def test_ambiguous_member_names_are_refused(
    edit: Callable[[dict[str, Any]], None], match: str
) -> None:
    # Found by fuzzing: artifact["events.jsonl"] returned config.json's content.
    with pytest.raises(IntegrityError, match=rf"'exp/run'.*{match}"):
        decode_manifest(_edit(base_doc(), edit), key=KEY)


# -- end to end: a hostile marker next to real members -------------------------


@contextmanager
def real_store(backend: str, mode: str = "production") -> Iterator[Store]:
    """A fresh store holding the base artifact, on a local folder or in memory."""
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "file":
            url = str(Path(tmp) / "store")
        else:
            url = f"memory://fuzz-manifest-{uuid.uuid4().hex}"
        store = capsa.open_store(url, mode=mode, session="fuzz")
        _save_base(store)
        try:
            yield store
        finally:
            if backend == "memory":
                from capsa.backends.memory import MemoryBackend

                MemoryBackend(url.removeprefix("memory://"))._objects.clear()


def _stored_bytes(store: Store, record: Any) -> bytes | None:
    """The member's bytes as stored, read behind capsa's back (None when absent)."""
    from capsa.errors import ObjectNotFoundError
    from capsa.objects.store import object_key

    key = object_key(record.object) if record.by_reference else f"{KEY}/{record.file}"
    try:
        return store.backend.get(key)
    except ObjectNotFoundError:
        return None


def _assert_intact(store: Store, manifest: Manifest) -> None:
    """Every file member's stored bytes match what the marker records."""
    for record in manifest.members:
        assert record.layout == "file", "a directory member cannot pass without its listing"
        stored = _stored_bytes(store, record)
        assert stored is not None, f"{record.file} is missing but passed verification"
        assert len(stored) == record.size
        assert hashlib.sha256(stored).hexdigest() == record.sha256


def _read_members(art: Any) -> None:
    """Read every member; a value read through its original format equals what was saved."""
    for record in art.manifest.members:
        try:
            value = art[record.file]
            if hasattr(value, "__iter__") and not isinstance(value, str | bytes | dict | list):
                value = list(value)  # lazy JSONL records stream on iteration
        except CapsaError:
            continue
        original = base_decoded().member(record.file)
        if (
            original is not None
            and record.sha256 == original.sha256
            and record.format == original.format
            and record.options == original.options
        ):
            assert value == DATA[record.file]


@functools.cache
def base_decoded() -> Manifest:
    return decode_manifest(base_marker(), key=KEY)


def exercise(store: Store, raw: bytes) -> None:
    """list / verify / load a store whose marker is ``raw``; check what each accepts."""
    store.backend.put(f"{KEY}/{MARKER}", raw)
    manifest = decode_or_typed_error(raw)

    listed = [info.key for info in store.list()]
    assert listed == ([KEY] if manifest is not None else [])

    report = store.verify()
    assert report.artifacts == 1
    if report.ok:
        assert manifest is not None
        _assert_intact(store, manifest)
    elif manifest is None:
        assert [p.problem for p in report.problems] in (["marker"], ["version"])

    try:
        art = store.load(KEY, verify=True)
    except CapsaError:
        art = None
    if art is not None:
        assert manifest is not None and art.manifest == manifest
        _assert_intact(store, manifest)
        _read_members(art)

    try:
        lazy = store.load(KEY)
    except CapsaError:
        return
    _read_members(lazy)


E2E = settings(deadline=None, max_examples=100, suppress_health_check=NO_FIXTURE_CHECK)


@E2E
@given(raw=hostile_markers(), backend=st.sampled_from(["file", "memory"]))
def test_hostile_marker_in_a_real_store(raw: bytes, backend: str) -> None:
    with real_store(backend) as store:
        exercise(store, raw)


NEW_DATA: dict[str, Any] = {"config.json": {"lr": 0.5}, "notes.txt": "second version\n"}


@pytest.mark.filterwarnings("ignore::capsa.objects.gc.ObjectGcWarning")
@settings(deadline=None, max_examples=60, suppress_health_check=NO_FIXTURE_CHECK)
@given(raw=hostile_markers(), backend=st.sampled_from(["file", "memory"]))
def test_gc_and_overwrite_over_a_hostile_marker(raw: bytes, backend: str) -> None:
    """gc never collects what a marker protects; a development save replaces a broken marker."""
    with real_store(backend, mode="development") as store:
        full = f"{store.namespace}/{KEY}"
        store.backend.put(f"{full}/{MARKER}", raw)
        manifest = decode_or_typed_error(raw)
        report = store.gc(dry_run=True, older_than=0)
        under = {k[len(full) + 1 :] for k in report.objects if k.startswith(f"{full}/")}
        if manifest is None:
            assert under == set(), "gc would delete the members of an unreadable artifact"
        else:
            assert under.isdisjoint(r.file for r in manifest.members if not r.by_reference)
        store.save(KEY, "bundle", NEW_DATA)
        art = store.load(KEY, verify=True)
        assert {name: art[name] for name in NEW_DATA} == NEW_DATA
        assert store.verify().ok


@pytest.mark.parametrize("backend", ["file", "memory"])
def test_untouched_marker_loads_the_saved_content(backend: str) -> None:
    with real_store(backend) as store:
        exercise(store, base_marker())
        art = store.load(KEY, verify=True)
        assert {name: art[name] for name in DATA if name != "events.jsonl"} == {
            name: value for name, value in DATA.items() if name != "events.jsonl"
        }
        assert list(art["events.jsonl"]) == DATA["events.jsonl"]


def _edit(doc: dict[str, Any], fn: Callable[[dict[str, Any]], None]) -> bytes:
    fn(doc)
    return msgspec.json.encode(doc)


def _member(doc: dict[str, Any], file: str) -> dict[str, Any]:
    return next(m for m in doc["members"] if m["file"] == file)


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: _member(d, "config.json").update(file="log.txt"),
        lambda d: _member(d, "config.json").update(sha256=_member(d, "log.txt")["sha256"]),
        lambda d: _member(d, "weights.bin").update(object="0" * 64, sha256="0" * 64),
        lambda d: _member(d, "log.txt").update(layout="directory"),
        lambda d: _member(d, "config.json").update(size=10**30),
    ],
    ids=["renamed", "other-hash", "missing-object", "fake-directory", "huge-size"],
)
@pytest.mark.parametrize("backend", ["file", "memory"])
def test_consistent_looking_lies_are_caught(
    backend: str, edit: Callable[[dict[str, Any]], None]
) -> None:
    with real_store(backend) as store:
        raw = _edit(base_doc(), edit)
        exercise(store, raw)
        assert not store.verify(KEY).ok


@pytest.mark.parametrize("backend", ["file", "memory"])
def test_a_marker_relabelling_a_member_as_pickle_does_not_unpickle(backend: str) -> None:
    from capsa.errors import UntrustedSourceError

    with real_store(backend) as store:
        raw = _edit(base_doc(), lambda d: _member(d, "log.txt").update(format="pickle"))
        exercise(store, raw)
        art = store.load(KEY, verify=True)  # the bytes are intact ...
        with pytest.raises(UntrustedSourceError, match=r"log\.txt|trusted"):
            art["log.txt"]  # ... but never unpickled without trusted=True


@pytest.mark.parametrize(
    ("file", "fmt", "layout"),
    [
        ("log.txt", "text", "directory"),
        ("config.json", "json", "directory"),
        ("log.txt", "folder", "file"),
    ],
)
def test_member_layout_disagreeing_with_its_format(file: str, fmt: str, layout: str) -> None:
    with real_store("memory") as store:
        store.backend.put(
            f"{KEY}/{MARKER}",
            _edit(base_doc(), lambda d: _member(d, file).update(format=fmt, layout=layout)),
        )
        art = store.load(KEY)
        with pytest.raises(IntegrityError, match=rf"'exp/run'.*{re.escape(file)}"):
            art[file]
