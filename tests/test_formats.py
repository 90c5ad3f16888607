"""Round trips and bad input for every core format, on both built-in backends."""

from __future__ import annotations

import math
from typing import Any

import msgspec
import pytest
from core_helpers import all_object_keys

from capsa.errors import (
    IntegrityError,
    UnknownFormatError,
    UntrustedSourceError,
    ValidationError,
)
from capsa.formats.base import BytesSource
from capsa.formats.json import JsonFormat
from capsa.formats.jsonl import JsonlFormat
from capsa.formats.raw import TextFormat
from capsa.plugins.registry import Registry
from capsa.store.store import Store


class Point(msgspec.Struct):
    x: int
    y: float


@pytest.mark.parametrize(
    "value",
    [
        {"a": 1, "b": [1.5, None, True], "c": {"nested": "ü"}},
        [1, 2, 3],
        "just a string",
        42,
        0.1,
        None,
        {},
    ],
)
def test_json_round_trip(store: Store, value: Any) -> None:
    store.save("doc", "json", value)
    assert store.load("doc")["data"] == value


def test_json_struct_and_numpy_scalars_encode(store: Store) -> None:
    store.save("s", "json", {"p": Point(1, 2.5)})
    assert store.load("s")["data"] == {"p": {"x": 1, "y": 2.5}}


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_json_refuses_nan_and_names_the_path(store: Store, bad: float) -> None:
    with pytest.raises(ValidationError, match=r"\$\.metrics\.loss") as info:
        store.save("m", "json", {"metrics": {"loss": bad}})
    assert "member 'data.json'" in str(info.value)
    assert all_object_keys(store) == []


def test_json_refuses_unserialisable_values(store: Store) -> None:
    with pytest.raises(ValidationError, match="not JSON-serialisable"):
        store.save("m", "json", {"f": object()})
    assert all_object_keys(store) == []


def test_json_unknown_option_refused(store: Store) -> None:
    with pytest.raises(ValidationError, match="no option"):
        store.save("m", "json", {"a": 1}, options={"data": {"compress": True}})


def test_jsonl_round_trip_and_lazy_iteration(store: Store) -> None:
    records = [{"step": i, "loss": 1.0 / (i + 1)} for i in range(1000)]
    store.save("log", "bundle", {"events.jsonl": records})
    art = store.load("log")
    lazy = art["events.jsonl"]
    assert not isinstance(lazy, list)  # streamed, not loaded whole
    assert next(iter(lazy)) == records[0]
    assert list(lazy) == records and list(art["events.jsonl"]) == records  # re-iterable
    assert art.read("events.jsonl") == records
    assert art.manifest.member("events.jsonl").info == {"records": 1000}  # type: ignore[union-attr]


def test_jsonl_refuses_nan_in_a_record(store: Store) -> None:
    with pytest.raises(ValidationError, match=r"\$\[1\]\.x"):
        store.save("log", "bundle", {"e.jsonl": [{"x": 1.0}, {"x": math.nan}]})


def test_jsonl_refuses_non_list(store: Store) -> None:
    with pytest.raises(ValidationError, match="cannot write"):
        store.save("log", "bundle", {"e.jsonl": {"not": "a list"}})


def test_bytes_and_text_round_trip(store: Store) -> None:
    blob = bytes(range(256)) * 1000
    store.save("b", "blob", blob)
    store.save("t", "text", "línea 1\nline 2\n")
    art = store.load("b")
    with art.open("blob") as fh:  # partial reads: a seekable file
        fh.seek(256)
        assert fh.read(3) == bytes([0, 1, 2])
    assert art["blob"] == art.read("blob") == blob
    assert store.load("t")["text"] == "línea 1\nline 2\n"


def test_text_refuses_bytes(store: Store) -> None:
    with pytest.raises(ValidationError, match=r"builtins\.str"):
        store.save("t", "text", b"raw")


def test_text_refuses_lone_surrogates(store: Store) -> None:
    with pytest.raises(ValidationError, match="UTF-8"):
        store.save("t", "text", "bad \ud800")


def test_pickle_is_refused_on_load_unless_trusted(store: Store) -> None:
    obj = {"weights": [1, 2, 3], "name": "model"}
    store.save("p", "pickle", obj)
    with pytest.raises(UntrustedSourceError, match="trusted=True"):
        store.load("p")["object"]
    assert store.load("p", trusted=True)["object"] == obj


def test_pickle_never_inferred_from_type(store: Store) -> None:
    # An arbitrary object in a bundle member without .pkl has no format.
    with pytest.raises(Exception, match="no installed format"):
        store.save("p", "bundle", {"model": object()})


def test_pickle_by_extension_is_explicit_opt_in(store: Store) -> None:
    store.save("p", "bundle", {"model.pkl": {"a": 1}})
    with pytest.raises(UntrustedSourceError):
        store.load("p")["model.pkl"]


def test_unpicklable_refused_before_write(store: Store) -> None:
    with pytest.raises(ValidationError, match="cannot be pickled"):
        store.save("p", "pickle", lambda: 1)
    assert all_object_keys(store) == []


def test_bundle_mixes_formats_by_extension(store: Store) -> None:
    data = {
        "config.json": {"lr": 0.1},
        "notes.md": "# notes",
        "raw.bin": b"\x00\x01",
        "events.jsonl": [{"a": 1}],
    }
    store.save("run", "bundle", data)
    art = store.load("run")
    assert sorted(art) == sorted(data)
    assert art["config.json"] == {"lr": 0.1}
    assert art["notes.md"] == "# notes"
    assert art.read("raw.bin") == b"\x00\x01"
    formats = {m.file: m.format for m in art.manifest.members}
    assert formats == {
        "config.json": "json",
        "notes.md": "text",
        "raw.bin": "bytes",
        "events.jsonl": "jsonl",
    }


def test_unknown_extension_is_refused_before_write(store: Store) -> None:
    with pytest.raises(UnknownFormatError, match=r"'x\.xyz'.*'\.xyz'"):
        store.save("run", "bundle", {"x.xyz": b"zz"})
    assert all_object_keys(store) == []


def test_first_party_extension_gets_an_install_hint() -> None:
    with pytest.raises(UnknownFormatError, match="pip install capsa-npz"):
        Registry().format_for_filename("fit.npz")


def test_corrupt_json_member_read_raises_integrity_error() -> None:
    with pytest.raises(IntegrityError, match=r"'m\.json'"):
        JsonFormat().read(BytesSource(b"{not json", name="m.json"))


def test_corrupt_jsonl_names_the_line() -> None:
    src = BytesSource(b'{"a": 1}\n{broken\n', name="e.jsonl")
    with pytest.raises(IntegrityError, match="line 2"):
        list(JsonlFormat().read_lazy(src))


def test_invalid_utf8_text_raises_integrity_error() -> None:
    with pytest.raises(IntegrityError, match="UTF-8"):
        TextFormat().read(BytesSource(b"\xff\xfe", name="t.txt"))
