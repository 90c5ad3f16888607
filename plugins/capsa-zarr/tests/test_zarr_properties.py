"""Property tests: any shape, dtype and chunking round-trips, through read and lazy reads."""

from __future__ import annotations

import uuid

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import capsa

DTYPES = st.sampled_from(["bool", "int8", "int32", "uint16", "float32", "float64", "complex64"])


@st.composite
def arrays_and_chunks(draw: st.DrawFn) -> tuple[np.ndarray, list[int] | None, bool]:
    dtype = draw(DTYPES)
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=9))
    arr = draw(hnp.arrays(dtype=dtype, shape=shape))
    chunks = draw(
        st.none() | st.lists(st.integers(1, 10), min_size=len(shape), max_size=len(shape))
    )
    return arr, chunks, draw(st.booleans())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrays_and_chunks(), st.sampled_from([None, "zstd"]))
def test_round_trip(
    case: tuple[np.ndarray, list[int] | None, bool], compressor: str | None
) -> None:
    arr, chunks, checksum = case
    store = capsa.open_store(f"memory://zarr-prop-{uuid.uuid4().hex[:8]}")
    options: dict[str, object] = {"compressor": compressor, "checksum": checksum}
    if chunks is not None:
        options["chunks"] = chunks
    store.save("p", "zarr.array", arr, options={"array": options})
    art = store.load("p", verify=True)
    got = art.read("array")
    assert got.dtype == arr.dtype and got.shape == arr.shape
    np.testing.assert_array_equal(got, arr)
    np.testing.assert_array_equal(np.asarray(art["array"][...]), arr)
