"""IndexMap: validation, layout hash, slicing helpers."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest
from capsa_optim import IndexEntry, IndexMap, LayoutMismatchError
from hypothesis import given, settings
from hypothesis import strategies as st
from optim_helpers import layout

from capsa.errors import ValidationError


def entry(
    name: str, start: int, stop: int, shape: list[int], block: str | None = None
) -> IndexEntry:
    return IndexEntry(name=name, start=start, stop=stop, shape=shape, block=block)


def test_from_shapes_packs_contiguously_and_hashes() -> None:
    imap = layout()
    assert imap.dim == 12
    assert [(e.name, e.start, e.stop) for e in imap.entries] == [
        ("binary.x_position_as", 0, 1),
        ("binary.y_position_as", 1, 2),
        ("system.plate_scale", 2, 3),
        ("primary.zernike_coeffs_nm", 3, 12),
    ]
    assert imap.layout_hash == imap.computed_hash()
    assert len(imap.layout_hash) == 16


def test_layout_hash_depends_on_names_shapes_and_order_only() -> None:
    base = IndexMap.from_shapes([("a", (2,)), ("b", (3,))])
    other_block = IndexMap.from_shapes([("a", (2,), "g1"), ("b", (3,), "g2")])
    swapped = IndexMap.from_shapes([("b", (3,)), ("a", (2,))])
    reshaped = IndexMap.from_shapes([("a", (2, 1)), ("b", (3,))])
    renamed = IndexMap.from_shapes([("a", (2,)), ("c", (3,))])
    assert base.layout_hash == other_block.layout_hash
    assert (
        len({base.layout_hash, swapped.layout_hash, reshaped.layout_hash, renamed.layout_hash}) == 4
    )


@pytest.mark.parametrize(
    ("entries", "dim", "match"),
    [
        ([entry("a", 0, 3, [3]), entry("b", 3, 6, [3])], 5, r"out of range"),
        ([entry("a", 0, 3, [3]), entry("b", 2, 5, [3])], 5, r"overlaps"),
        ([entry("a", 0, 2, [2]), entry("b", 3, 5, [2])], 5, r"uncovered"),
        ([entry("a", 0, 2, [2])], 5, r"covers theta\[0:2\] but theta has dimension 5"),
        ([entry("a", 0, 3, [2])], 3, r"stop - start = 3 but shape \[2\]"),
        ([entry("a", 0, 1, [1]), entry("a", 1, 2, [1])], 2, r"'a' appears twice"),
        ([entry("", 0, 1, [1])], 1, r"non-empty"),
        ([entry("a", 0, 1, [-1])], 1, r"ints >= 0"),
    ],
)
def test_invalid_maps_are_refused(entries: list[IndexEntry], dim: int, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        IndexMap(entries=entries).validated(dim)


def test_tampered_hash_is_refused() -> None:
    imap = msgspec.structs.replace(layout(), layout_hash="0" * 16)
    with pytest.raises(ValidationError, match=r"does not match its entries"):
        imap.validated(12)


def test_float_start_is_refused() -> None:
    imap = IndexMap(entries=[IndexEntry(name="a", start=0.0, stop=1, shape=[1])])  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"start must be an int"):
        imap.validated(1)


def test_take_by_name_and_block_on_vectors_and_traces() -> None:
    imap = layout()
    theta = np.arange(24.0).reshape(2, 12)
    np.testing.assert_array_equal(imap.take(theta, "primary.zernike_coeffs_nm"), theta[:, 3:12])
    assert imap.take(theta[0], "system.plate_scale").shape == (1,)
    np.testing.assert_array_equal(imap.take_block(theta, "astrometry"), theta[:, :2])
    assert imap.block_indices("astrometry") == [0, 1]
    with pytest.raises(ValidationError, match=r"no entry 'nope'"):
        imap.take(theta, "nope")
    with pytest.raises(ValidationError, match=r"no block 'nope'"):
        imap.block_indices("nope")


def test_block_vector() -> None:
    imap = layout()
    vec = imap.block_vector({"astrometry": 1e-3, "primary.zernikes": 0.5}, default=0.1)
    np.testing.assert_array_equal(vec, [1e-3, 1e-3, 0.1] + [0.5] * 9)
    with pytest.raises(ValidationError, match=r"no value for block 'system'"):
        imap.block_vector({"astrometry": 1.0, "primary.zernikes": 1.0})
    with pytest.raises(ValidationError, match=r"unknown block"):
        imap.block_vector({"optics": 1.0}, default=1.0)


def test_check_compatible() -> None:
    imap = layout()
    imap.check_compatible(imap.layout_hash)
    imap.check_compatible(layout())

    class Decoder:
        layout_hash = "ffffffffffffffff"

    with pytest.raises(LayoutMismatchError, match=r"layout mismatch"):
        imap.check_compatible(Decoder())


def test_json_round_trip() -> None:
    imap = layout()
    back = msgspec.json.decode(msgspec.json.encode(imap), type=IndexMap)
    assert back == imap
    assert back.validated(12) == imap


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(1, 3), min_size=0, max_size=2), min_size=1, max_size=6))
def test_random_layouts_cover_theta_and_take_reassembles_it(shapes: list[list[int]]) -> None:
    imap = IndexMap.from_shapes([(f"leaf{i}", s) for i, s in enumerate(shapes)])
    theta = np.arange(float(imap.dim))
    parts = [imap.take(theta, name).ravel() for name in imap.names]
    np.testing.assert_array_equal(np.concatenate(parts), theta)
