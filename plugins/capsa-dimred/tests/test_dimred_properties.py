"""Properties of update_runs: the seed's upsert semantics; fast path bytes = full rewrite."""

from __future__ import annotations

import json
import uuid
from typing import Any

from capsa_dimred import load_fit_runs, update_runs
from capsa_dimred.jsonview import encode_inventory, upsert
from dimred_helpers import read_object
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capsa.backends.memory import MemoryBackend

KEYS = ("group", "n")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.text('ab\u00e9"\\\n', max_size=3),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text("xy", max_size=2), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 4), st.integers(0, 100)),
        min_size=1,
        max_size=25,
    )
)
def test_last_write_per_key_wins_and_the_file_is_sorted(ops: list[tuple[str, int, int]]) -> None:
    path = f"memory://prop-{uuid.uuid4().hex[:8]}/out/fit_runs.json"
    model: dict[tuple[str, int], dict[str, Any]] = {}
    try:
        for group, n, value in ops:
            record = {"group": group, "n": n, "value": value}
            update_runs(path, record, KEYS, mirror=False)
            model[(group, n)] = record
        expected = [model[k] for k in sorted(model)]
        assert load_fit_runs(path) == expected
        assert read_object(path) == json.dumps(expected, indent=2).encode()
    finally:
        MemoryBackend.clear_all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            scalars, scalars, st.dictionaries(st.text("pqr", max_size=3), values, max_size=3)
        ),
        min_size=1,
        max_size=12,
    )
)
def test_incremental_bytes_equal_a_full_rewrite(ops: list[tuple[Any, Any, dict[str, Any]]]) -> None:
    path = f"memory://prop-{uuid.uuid4().hex[:8]}/out/runs.json"
    reference: list[dict[str, Any]] = []
    try:
        for group, n, extra in ops:
            record = {**extra, "group": group, "n": n}
            update_runs(path, record, KEYS, mirror=False)
            reference = upsert(reference, dict(record), KEYS)
            assert read_object(path) == encode_inventory(reference)
    finally:
        MemoryBackend.clear_all()
