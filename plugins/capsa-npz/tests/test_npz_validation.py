"""What NpzFormat refuses, before anything is written."""

from __future__ import annotations

import numpy as np
import pytest

from capsa.errors import ValidationError
from capsa.formats.base import BytesSource


@pytest.mark.parametrize(
    ("key", "match"),
    [
        ("", "empty"),
        ("a/b", "'/'"),
        ("a\\b", "'\\\\\\\\'"),
        ("nul\x00", "NUL"),
        (".hidden", "start with '.'"),
        (3, "must be str"),
        (("t",), "must be str"),
        ("x" * 70000, "limit"),
        ("\ud800", "UTF-8"),
    ],
)
def test_bad_keys(fmt, sink_cls, key, match):
    with pytest.raises(ValidationError, match=match):
        fmt.validate({key: np.ones(1)})
    sink = sink_cls()
    with pytest.raises(ValidationError):
        fmt.write({key: np.ones(1)}, sink)
    assert sink.getvalue() == b"", "nothing written"


def test_object_arrays_refused(fmt):
    with pytest.raises(ValidationError, match=r"'objs'.*allow_pickle is always False"):
        fmt.validate({"ok": np.ones(2), "objs": np.array([{}, 1], dtype=object)})
    with pytest.raises(ValidationError, match=r"'arr_0'.*Python objects"):
        fmt.validate(np.array(["a", None]))


def test_structured_dtype_with_objects_refused(fmt):
    arr = np.zeros(2, dtype=[("x", "f8"), ("o", "O")])
    with pytest.raises(ValidationError, match=r"'rec'.*allow_pickle"):
        fmt.validate({"rec": arr})


@pytest.mark.parametrize(
    "value",
    [[1, 2, 3], 3.0, np.float64(1.0), (np.ones(2),), "text", None],
    ids=["list", "float", "npscalar", "tuple", "str", "none"],
)
def test_non_ndarray_values_refused_in_dict(fmt, value):
    with pytest.raises(ValidationError, match=r"'bad' must be a numpy\.ndarray"):
        fmt.validate({"good": np.ones(1), "bad": value})


@pytest.mark.parametrize("value", [[1, 2], 3.0, np.float32(2.0), "x", {1, 2}])
def test_non_ndarray_top_level_refused(fmt, value):
    with pytest.raises(ValidationError, match="cannot write"):
        fmt.validate(value)


def test_masked_array_refused(fmt):
    with pytest.raises(ValidationError, match=r"'m'.*mask"):
        fmt.validate({"m": np.ma.masked_array([1, 2], mask=[0, 1])})


def test_unknown_and_mistyped_options_refused(fmt, sink_cls):
    with pytest.raises(ValidationError, match=r"no write option 'level'.*compressed"):
        fmt.validate(np.ones(1), level=9)
    with pytest.raises(ValidationError, match="'compressed' must be bool"):
        fmt.validate(np.ones(1), compressed="yes")
    with pytest.raises(ValidationError, match="'compressed' must be bool"):
        fmt.validate(np.ones(1), compressed=1)
    with pytest.raises(ValidationError, match="no write option"):
        fmt.write(np.ones(1), sink_cls(), compresed=True)


def test_unknown_read_options_refused(write_npz, fmt):
    data, info = write_npz(np.ones(1))
    with pytest.raises(ValidationError, match="no read option 'lazy'"):
        fmt.read(BytesSource(data, info=info), lazy=True)
    with pytest.raises(ValidationError, match="'mmap' must be bool"):
        fmt.read_lazy(BytesSource(data, info=info), mmap="r")


def test_accepts_by_type_name_only(fmt):
    assert fmt.accepts(np.ones(1))
    assert fmt.accepts({})
    assert not fmt.accepts([np.ones(1)])


def test_format_attributes(fmt):
    assert fmt.name == "npz"
    assert fmt.extensions == (".npz",)
    assert fmt.writes == ("numpy.ndarray", "builtins.dict")
    assert fmt.lazy is True
    assert fmt.requires_trust is False
    assert fmt.description
