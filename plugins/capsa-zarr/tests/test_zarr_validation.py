"""Bad input is refused with ValidationError before anything is written."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from capsa_zarr import ZarrFormat

from capsa.errors import ValidationError
from capsa.store.store import Store

X = np.zeros((10, 4), dtype=np.float32)


@pytest.mark.parametrize(
    ("value", "options", "match"),
    [
        (np.array([1, "a", None], dtype=object), {}, "object dtype"),
        ({"ok": X, "bad": np.array([{}], dtype=object)}, {}, "array 'bad' has an object dtype"),
        (np.zeros(3, dtype=[("a", "f4"), ("b", "i2")]), {}, "does not store"),
        (np.zeros(3, dtype="V8"), {}, "does not store"),
        (np.ma.masked_array([1.0, 2.0], mask=[0, 1]), {}, "masked"),
        ({"x": [1, 2, 3]}, {}, "array 'x' must be a numpy.ndarray"),
        ([1, 2, 3], {}, "cannot write a value of type builtins.list"),
        ({}, {}, "at least one array"),
        ({"a/b": X}, {}, "not allowed"),
        ({".hidden": X}, {}, "not allowed"),
        ({"__x": X}, {}, "not allowed"),
        ({"zarr.json": X}, {}, "not allowed"),
        (X, {"chunks": [5]}, "chunks \\[5\\] has 1 dimension\\(s\\), the array has 2"),
        (X, {"chunks": [5, 0]}, "positive ints"),
        (X, {"chunks": [5, -1]}, "positive ints"),
        (X, {"chunks": [5, 2.5]}, "positive ints"),
        (X, {"chunks": "big"}, "must be a shape"),
        ({"a": X, "b": np.zeros(3)}, {"chunks": [5, 2]}, "array 'b': chunks \\[5, 2\\]"),
        ({"a": X}, {"chunks": {"zz": [1, 1]}}, "unknown array\\(s\\) 'zz'"),
        (X, {"shards": [6, 4], "chunks": [4, 4]}, "multiple of the chunks"),
        (X, {"shards": [8]}, "has 1 dimension"),
        (np.array(1.0), {"shards": "auto"}, "0-d array cannot be sharded"),
        (X, {"codec": "zstd"}, "no option\\(s\\) 'codec'.*called 'compressor'"),
        (X, {"compression": "zstd"}, "called 'compressor'"),
        (X, {"bogus": 1}, "no option\\(s\\) 'bogus'"),
        (X, {"compressor": "gzip"}, "compressor' must be None, 'zstd' or 'blosc'"),
        (X, {"level": 3}, "needs a compressor"),
        (X, {"compressor": "zstd", "level": 99}, "level' for zstd must be in"),
        (X, {"compressor": "blosc", "level": 10}, "level' for blosc must be in"),
        (X, {"compressor": "zstd", "level": "max"}, "level' must be an int"),
        (X, {"checksum": "yes"}, "checksum' must be True or False"),
        (X, {"dimension_names": ["a"]}, "must be 2 non-empty"),
        (X, {"dimension_names": "ab"}, "list of strings"),
        (X, {"dimension_names": ["a", ""]}, "non-empty"),
        (X, {"attributes": {"x": float("nan")}}, "NaN|finite|nan"),
        (X, {"attributes": ["x"]}, "dict with string keys"),
    ],
)
def test_refused_before_writing(
    store: Store, value: Any, options: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValidationError, match=match) as info:
        store.save("bad", "zarr.array", value, options={"array": options})
    assert "artifact 'bad'" in str(info.value)
    assert store.list() == []
    assert not store.exists("bad")
    assert [o.key for o in store.backend.list("") if not o.key.startswith(".capsa")] == []


def test_format_validate_directly() -> None:
    fmt = ZarrFormat()
    fmt.validate(X)
    fmt.validate({"a": X}, chunks={"a": [2, 2]})
    with pytest.raises(ValidationError, match="object dtype"):
        fmt.validate(np.array([None]))


def test_unknown_read_option(store: Store) -> None:
    store.save("k", "zarr.array", X)
    with pytest.raises(ValidationError, match="no option"):
        store.load("k").read("array", mmap=True)
