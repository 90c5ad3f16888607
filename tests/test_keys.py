"""Keys that could escape the store root are refused before anything is written."""

from __future__ import annotations

import pytest
from core_helpers import all_object_keys

from capsa.errors import InvalidKeyError
from capsa.store.keys import validate_key, validate_member_file
from capsa.store.store import Store

BAD_KEYS = [
    "",
    "/abs/path",
    "../escape",
    "a/../../b",
    "a/./b",
    "a//b",
    "a/",
    "a\\b",
    "a\x00b",
    "a\nb",
    "C:/windows",
    ".capsa/staging/x",
    "a/_SUCCESS",
    " a",
    "a/b ",
    "x" * 1100,
    "a/b.capsa-tmp-123",
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_refused_and_nothing_is_written(store: Store, key: str) -> None:
    with pytest.raises(InvalidKeyError):
        store.save(key, "json", {"x": 1})
    assert all_object_keys(store) == []


@pytest.mark.parametrize("key", [None, 3, b"bytes"])
def test_non_string_keys_are_refused(key: object) -> None:
    with pytest.raises(InvalidKeyError, match="must be a string"):
        validate_key(key)


@pytest.mark.parametrize(
    "key", ["a", "exp1/run-3/fit", "chr1/scores_v2.parquet", "ünïcode/ключ", "a b/c"]
)
def test_good_keys_round_trip(store: Store, key: str) -> None:
    store.save(key, "json", {"k": key})
    assert store.load(key)["data"] == {"k": key}
    assert [i.key for i in store.list()] == [key]


def test_error_message_names_the_key() -> None:
    with pytest.raises(InvalidKeyError, match=r"'\.\./x'"):
        validate_key("../x")


@pytest.mark.parametrize("name", ["../x.json", "/x.json", "_SUCCESS", "a/_SUCCESS", "a\\b.json"])
def test_bad_member_names_are_refused(store: Store, name: str) -> None:
    with pytest.raises(InvalidKeyError, match="artifact 'k'"):
        store.save("k", "bundle", {name: {"x": 1}})
    assert all_object_keys(store) == []


def test_member_name_validator_names_artifact() -> None:
    with pytest.raises(InvalidKeyError, match="artifact 'run'"):
        validate_member_file("..", key="run")


@pytest.mark.parametrize("key", ["dev/x", "tests/y"])
def test_reserved_namespaces_refused_in_production(store: Store, key: str) -> None:
    with pytest.raises(InvalidKeyError, match="namespaces"):
        store.save(key, "json", {})
