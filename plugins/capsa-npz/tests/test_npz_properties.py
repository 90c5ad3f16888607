"""Property-based round trips (needs hypothesis; skipped without it)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from capsa.formats.base import BytesSource

hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")
hnp = pytest.importorskip("hypothesis.extra.numpy")

from hypothesis import HealthCheck, given, settings  # noqa: E402

_dtypes = (
    hnp.boolean_dtypes()
    | hnp.integer_dtypes()
    | hnp.unsigned_integer_dtypes()
    | hnp.floating_dtypes()
    | hnp.complex_number_dtypes()
    | hnp.datetime64_dtypes()
    | hnp.timedelta64_dtypes()
    | hnp.unicode_string_dtypes()
    | hnp.byte_string_dtypes()
)
_arrays = hnp.arrays(dtype=_dtypes, shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0))
_names = st.text(min_size=1, max_size=12).filter(
    lambda s: (
        not s.startswith(".")
        and not any(c in s for c in "/\\\x00")
        and not any(0xD800 <= ord(c) <= 0xDFFF for c in s)
    )
)


def _layouts(arr: np.ndarray) -> st.SearchStrategy[np.ndarray]:
    options = [st.just(arr), st.just(np.asfortranarray(arr))]
    if arr.ndim >= 1 and arr.shape[0] > 1:
        options.append(st.just(arr[::2]))
        options.append(st.just(arr[::-1]))
    if arr.ndim >= 2:
        options.append(st.just(arr.swapaxes(0, 1)))
    return st.one_of(options)


# The fixtures used are stateless (a format instance, a sink class).
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.dictionaries(_names, _arrays.flatmap(_layouts), max_size=4),
    st.booleans(),
)
def test_any_plain_arrays_round_trip(fmt, sink_cls, arrays, compressed):
    fmt.validate(arrays, compressed=compressed)
    sink = sink_cls()
    info = fmt.write(arrays, sink, compressed=compressed)
    data = sink.getvalue()
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    back = fmt.read(BytesSource(data, info=info))
    lazy = fmt.read_lazy(BytesSource(data, info=info))
    with np.load(io.BytesIO(data), allow_pickle=False) as plain:
        for key, arr in arrays.items():
            for got in (back[key], lazy[key], plain[key]):
                assert got.dtype == arr.dtype
                assert got.shape == arr.shape
                assert np.ascontiguousarray(got).tobytes() == np.ascontiguousarray(arr).tobytes()
