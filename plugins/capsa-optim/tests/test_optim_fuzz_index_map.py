"""Fuzzing IndexMap validation and its decoding from ``meta.json`` (hypothesis).

Fed to :meth:`IndexMap.validated` / :meth:`IndexMap.from_shapes`: entries
with arbitrary names, starts, stops, shapes and blocks of any type (negative,
huge, overlapping, gapped, duplicated, non-int, non-list), arbitrary leaves and
dimensions, and stored layout hashes. Fed to
:func:`capsa_optim.schema_codec.decode_meta` / ``coerce_meta``: ``meta.json``
documents whose ``theta.index_map`` is hostile JSON. What must hold:

* the only exceptions are capsa's typed errors: :class:`~capsa.errors.ValidationError`
  (:class:`~capsa_optim.LayoutMismatchError` is one) for caller input, and
  :class:`~capsa.errors.IntegrityError` for a stored ``meta.json``;
  anything else fails the test;
* an accepted map is sound: unique non-empty names, segments that cover
  ``0..dim`` exactly without overlap, each as long as its shape holds,
  ``layout_hash`` equal to the hash of its entries, and its lookups
  (``take``, ``blocks``, ``block_vector``) work on a θ of that dimension;
* a valid map survives a JSON round trip through ``meta.json`` unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec
import numpy as np
import pytest
from capsa_optim import IndexEntry, IndexMap
from capsa_optim.schema_codec import coerce_meta, decode_meta
from hypothesis import given, settings
from hypothesis import strategies as st

from capsa.errors import CapsaError, IntegrityError, ValidationError

FUZZ = settings(deadline=None, max_examples=120)

anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=4),
    st.lists(st.integers(-2, 5), max_size=3),
    st.tuples(st.integers(0, 3)),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.binary(max_size=2),
)
names = st.sampled_from(["a", "b", "c", "a.b", ""]) | st.text(max_size=5) | anything
ints = st.integers(-3, 12) | st.sampled_from([2**31, 2**63, 2**70]) | anything
shapes = (
    st.lists(st.integers(0, 4), max_size=3)
    | st.lists(st.integers(-2, 2**40), max_size=3)
    | st.integers(-1, 4)
    | anything
)
blocks = st.none() | st.sampled_from(["g1", "g2", ""]) | anything


@st.composite
def hostile_entries(draw: st.DrawFn) -> IndexEntry:
    """An IndexEntry with fields of any type (Struct constructors do not check types)."""
    return IndexEntry(
        name=draw(names),
        start=draw(ints),
        stop=draw(ints),
        shape=draw(shapes),
        block=draw(blocks),
    )


@st.composite
def plausible_maps(draw: st.DrawFn) -> tuple[IndexMap, int]:
    """A map built by from_shapes, then lightly damaged (or not)."""
    leaves = draw(
        st.lists(
            st.tuples(st.text(min_size=1, max_size=4), st.lists(st.integers(0, 3), max_size=2)),
            min_size=1,
            max_size=5,
            unique_by=lambda leaf: leaf[0],
        )
    )
    imap = IndexMap.from_shapes(leaves)
    dim = imap.dim
    entries = list(imap.entries)
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, len(entries) - 1))
        field = draw(st.sampled_from(["name", "start", "stop", "shape", "block"]))
        value = draw(
            {"name": names, "start": ints, "stop": ints, "shape": shapes, "block": blocks}[field]
        )
        entries[i] = msgspec.structs.replace(entries[i], **{field: value})
    if draw(st.booleans()):
        entries = draw(st.permutations(entries))
    layout_hash = draw(st.sampled_from([imap.layout_hash, None, "0" * 16]) | anything)
    dim = draw(st.sampled_from([dim, dim + 1, max(dim - 1, 0)]) | ints)
    return IndexMap(entries=entries, layout_hash=layout_hash), dim


def assert_sound(imap: IndexMap, dim: int) -> None:
    """What every accepted map satisfies, and its lookups working on a θ of that dimension."""
    assert isinstance(dim, int) and not isinstance(dim, bool) and dim >= 0
    assert imap.dim == dim
    seen = set()
    cursor = 0
    for e in sorted(imap.entries, key=lambda e: e.start):
        assert isinstance(e.name, str) and e.name and e.name not in seen
        seen.add(e.name)
        assert isinstance(e.shape, list) and all(type(d) is int and d >= 0 for d in e.shape)
        assert type(e.start) is int and type(e.stop) is int
        assert e.start == cursor and e.stop - e.start == math.prod(e.shape)
        assert e.block is None or isinstance(e.block, str)
        cursor = e.stop
    assert cursor == dim
    assert imap.layout_hash == imap.computed_hash()
    back = msgspec.json.decode(msgspec.json.encode(imap), type=IndexMap)
    assert back == imap and back.validated(dim) == imap
    if dim <= 10_000:
        theta = np.arange(float(dim))
        parts = [imap.take(theta, name).ravel() for name in imap.names]
        assert np.concatenate([np.zeros(0), *parts]).tolist() == theta.tolist()
        groups = imap.blocks()
        assert sorted(i for b in groups for i in imap.block_indices(b)) == list(range(dim))
        assert imap.block_vector({}, default=1.0).shape == (dim,)


def validated_or_typed_error(imap: IndexMap, dim: Any) -> IndexMap | None:
    try:
        checked = imap.validated(dim)
    except CapsaError as exc:
        assert isinstance(exc, ValidationError)
        assert "IndexMap" in str(exc)
        return None
    assert_sound(checked, dim if dim is not None else checked.dim)
    return checked


@FUZZ
@given(st.lists(hostile_entries(), max_size=4), st.none() | ints, st.none() | anything)
def test_hostile_entries(entries: list[IndexEntry], dim: Any, layout_hash: Any) -> None:
    validated_or_typed_error(IndexMap(entries=entries, layout_hash=layout_hash), dim)


@FUZZ
@given(plausible_maps())
def test_damaged_maps(case: tuple[IndexMap, int]) -> None:
    imap, dim = case
    validated_or_typed_error(imap, dim)


@FUZZ
@given(anything | st.lists(anything | hostile_entries(), max_size=3), st.none() | ints)
def test_entries_of_any_type(entries: Any, dim: Any) -> None:
    validated_or_typed_error(IndexMap(entries=entries), dim)


@FUZZ
@given(
    st.lists(
        st.tuples(names, shapes)
        | st.tuples(names, shapes, blocks)
        | anything
        | st.tuples(names, shapes, blocks, anything),
        max_size=4,
    )
)
def test_from_shapes_with_any_leaves(leaves: list[Any]) -> None:
    try:
        imap = IndexMap.from_shapes(leaves)
    except CapsaError as exc:
        assert isinstance(exc, ValidationError)
        return
    assert_sound(imap, imap.dim)
    assert [e.name for e in imap.entries] == [leaf[0] for leaf in leaves]


# -- through meta.json -----------------------------------------------------------

json_anything = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
json_entries = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(["a", "b", ""]) | json_anything,
        "start": st.integers(-2, 8) | json_anything,
        "stop": st.integers(-2, 8) | json_anything,
        "shape": st.lists(st.integers(-1, 4), max_size=2) | json_anything,
        "block": st.none() | st.text(max_size=3) | json_anything,
    },
)
json_index_maps = (
    st.fixed_dictionaries(
        {"entries": st.lists(json_entries, max_size=3) | json_anything},
        optional={"layout_hash": st.none() | st.text(max_size=16) | json_anything},
    )
    | json_anything
)


@FUZZ
@given(json_index_maps, st.integers(-1, 8) | json_anything, st.booleans())
def test_meta_json_with_a_hostile_index_map(index_map: Any, dim: Any, seed_schema: bool) -> None:
    doc: dict[str, Any] = {
        "artifact_schema": "dluxshera-run-v0" if seed_schema else "capsa.optim.meta",
        "theta": {"dim": dim, "theta_space": "primitive", "index_map": index_map},
    }
    if not seed_schema:
        doc["schema_version"] = 1
    raw = msgspec.json.encode(doc)
    try:
        meta = decode_meta(raw)
    except CapsaError as exc:
        assert isinstance(exc, IntegrityError)
        assert "meta.json" in str(exc)
    else:
        if meta.theta.index_map is not None:
            assert_sound(meta.theta.index_map, meta.theta.dim)
    try:
        coerced = coerce_meta(msgspec.json.decode(raw))
    except CapsaError as exc:
        assert isinstance(exc, ValidationError)
    else:
        if coerced.theta.index_map is not None:
            assert_sound(coerced.theta.index_map, coerced.theta.dim)


@FUZZ
@given(plausible_maps())
def test_valid_maps_round_trip_through_meta_json(case: tuple[IndexMap, int]) -> None:
    imap, dim = case
    try:
        imap = imap.validated(dim)
    except ValidationError:
        return
    raw = msgspec.json.encode({"theta": {"dim": imap.dim, "index_map": imap}, "schema_version": 1})
    raw = raw.replace(b"{", b'{"artifact_schema":"capsa.optim.meta",', 1)
    assert decode_meta(raw).theta.index_map == imap


# -- the escapes fuzzing found, pinned -------------------------------------------


@pytest.mark.parametrize(
    ("entries", "match"),
    [
        ([IndexEntry(name="a", start=0, stop=3, shape=3)], r"'a': shape must be a list"),  # type: ignore[arg-type]
        ([IndexEntry(name="a", start=0, stop=1, shape=[1], block=["g"])], r"'a': block"),  # type: ignore[arg-type]
        ([IndexEntry(name="a", start="0", stop=1, shape=[1])], r"'a': start must be an int"),  # type: ignore[arg-type]
        (
            [
                IndexEntry(name="a", start=0, stop=1, shape=[1]),
                IndexEntry(name="b", start=1, stop="2", shape=[1]),
            ],  # type: ignore[arg-type]
            r"'b': stop must be an int",
        ),
        ([{"name": "a", "start": 0, "stop": 1, "shape": [1]}], r"entries must be IndexEntry"),
        (None, r"entries must be a list"),
    ],
    ids=["int-shape", "list-block", "str-start", "str-stop-no-dim", "dict-entry", "no-entries"],
)
def test_index_map_escapes_found_by_fuzzing(entries: Any, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        IndexMap(entries=entries).validated()


@pytest.mark.parametrize(
    "raw",
    [b'{"theta": {"dim": 1, "theta_space": "\xff"}}', b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b"}"],
    ids=["invalid-utf8", "deep-nesting"],
)
def test_meta_json_bytes_escapes(raw: bytes) -> None:
    with pytest.raises(IntegrityError, match=r"meta\.json"):
        decode_meta(raw)
