"""Fuzzing configuration decoding (hypothesis): TOML files, tables and environment variables.

Fed to :func:`capsa.config.loader.load_config` and
:func:`~capsa.config.loader.decode_config`: random TOML documents built from
strategies (known and unknown keys, wrong types, nested tables, dates, NaN,
huge and negative numbers, as ``capsa.toml`` and as ``[tool.capsa]`` /
``tool = ...`` in ``pyproject.toml``), random bytes, invalid UTF-8, truncated
and deeply nested TOML, and random ``CAPSA_*`` variables. What must hold:

* the only exception is :class:`~capsa.errors.ConfigError`, naming the file
  (or ``environment``) and, when a key is at fault, a key that is in the
  input; anything else fails the test;
* an accepted config holds exactly the values written, with the schema's
  types, no unknown key slipped through, and a usable ``gc_grace_seconds``
  (a number >= 0, never NaN); the configured store resolves to a URL or a
  ``ConfigError``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capsa.config.loader import ENV_VARS, decode_config, load_config
from capsa.config.schema import MODES, CapsaConfig, PluginsConfig, StoreConfig
from capsa.errors import CapsaError, ConfigError

# Each example rewrites the config file in the test's own folder (where the
# autouse ``_clean_env`` fixture chdirs) and resets the variables it sets.
FUZZ = settings(
    deadline=None, max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

TOP_KEYS = sorted(CapsaConfig.__struct_fields__)
STORE_KEYS = sorted(StoreConfig.__struct_fields__)
PLUGIN_KEYS = sorted(PluginsConfig.__struct_fields__)

# -- TOML values and a small writer (no TOML writer is a dependency) ------------

toml_scalars = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["production", "development", "test", "memory://fuzz", "./store", "~x/y"]),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),  # NaN and infinities included: TOML has them
    st.booleans(),
    st.dates(),
    st.datetimes(timezones=st.none() | st.just(dt.UTC)).map(lambda d: d.replace(fold=0)),
    st.times().map(lambda t: t.replace(fold=0)),  # TOML has no fold: it cannot round-trip
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def _toml_string(text: str) -> str:
    # JSON escapes are valid TOML basic-string escapes; TOML also wants DEL escaped.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def to_toml_value(value: Any) -> str:
    """One TOML value (inline tables and arrays for nesting)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(to_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{_toml_string(k)} = {to_toml_value(v)}" for k, v in value.items())
            + "}"
        )
    raise AssertionError(f"no TOML for {value!r}")


def to_toml(table: dict[str, Any]) -> str:
    return "".join(f"{_toml_string(k)} = {to_toml_value(v)}\n" for k, v in table.items())


# -- config tables: mostly right, some wrong ------------------------------------

good_values: dict[str, st.SearchStrategy[Any]] = {
    "store": st.sampled_from(["memory://fuzz", "./data/store", "lab", "local", "s3://b/p"]),
    "mode": st.sampled_from(MODES),
    "session": st.text(min_size=1, max_size=8),
    "test_name": st.text(min_size=1, max_size=8),
    "gc_grace_seconds": st.floats(min_value=0, max_value=1e9) | st.integers(0, 10**6),
    "stores": st.dictionaries(
        st.text(min_size=1, max_size=6),
        st.fixed_dictionaries(
            {
                "url": st.sampled_from(
                    ["memory://x", "./s", "s3://b/p", "~/s", "~nosuchuser-fuzz/s"]
                )
            },
            optional={
                "mode": st.sampled_from(MODES),
                "options": st.dictionaries(st.text(max_size=6), toml_scalars, max_size=2),
            },
        ),
        max_size=3,
    ),
    "plugins": st.fixed_dictionaries(
        {},
        optional={
            "load": st.lists(st.text(max_size=8), max_size=3),
            "strict": st.booleans(),
        },
    ),
}


@st.composite
def config_tables(draw: st.DrawFn) -> dict[str, Any]:
    """A capsa table: right keys with right or wrong values, and some unknown keys."""
    table: dict[str, Any] = {}
    for key in draw(st.lists(st.sampled_from(TOP_KEYS), unique=True, max_size=len(TOP_KEYS))):
        wrong = draw(st.integers(0, 4)) == 0
        table[key] = draw(toml_values if wrong else good_values[key])
    if draw(st.integers(0, 5)) == 0:
        table[draw(st.text(max_size=8))] = draw(toml_values)
    stores = table.get("stores")
    if isinstance(stores, dict) and stores and draw(st.integers(0, 3)) == 0:
        entry = stores[draw(st.sampled_from(sorted(stores)))]
        if isinstance(entry, dict):
            key = draw(st.sampled_from([*STORE_KEYS, "uri", "region"]))
            entry[key] = draw(toml_values)
    named = isinstance(table.get("store"), str) and isinstance(stores, dict) and stores
    if named and draw(st.booleans()):
        table["store"] = draw(st.sampled_from(sorted(stores)))
    return table


# -- what must hold -------------------------------------------------------------


def assert_names_input_key(exc: ConfigError, table: dict[str, Any], prefix: str = "") -> None:
    """A key named by the error is a dotted path into the input (or a missing required key)."""
    if exc.key is None:
        return
    key = exc.key
    if prefix:
        if key == prefix:
            return  # the table itself (an unknown key with an empty name)
        assert key.startswith(prefix + "."), key
        key = key[len(prefix) + 1 :]
    assert any(key == k or key.startswith(f"{k}.") for k in table), (
        f"error names {exc.key!r}, which is not in {sorted(table)}"
    )


def assert_matches_table(config: CapsaConfig, table: dict[str, Any]) -> None:
    """An accepted config holds exactly what the table says, with the schema's types."""
    assert set(table) <= set(TOP_KEYS), "an unknown key was accepted"
    assert config.mode in MODES
    assert config.mode == table.get("mode", "production")
    assert config.store == table.get("store")
    assert config.session == table.get("session")
    assert config.test_name == table.get("test_name")
    grace = config.gc_grace_seconds
    assert isinstance(grace, float) and grace >= 0 and not math.isnan(grace)
    assert grace == table.get("gc_grace_seconds", 3600.0)
    assert set(config.stores) == set(table.get("stores", {}))
    for name, entry in config.stores.items():
        written = table["stores"][name]
        assert entry.url == written["url"] and isinstance(entry.url, str)
        assert entry.mode == written.get("mode")
        assert repr(entry.options) == repr(written.get("options", {}))  # NaN == NaN here
    plugins = table.get("plugins", {})
    assert config.plugins.load == plugins.get("load")
    assert config.plugins.strict is plugins.get("strict", False)


def load_or_config_error(source: str) -> Any:
    """load_config(); a ConfigError names the source; anything else fails the test."""
    try:
        resolved = load_config()
    except CapsaError as exc:
        assert isinstance(exc, ConfigError)
        assert source in str(exc)
        return exc
    try:
        url, _entry, _origin = resolved.store_entry(None)
    except CapsaError as exc:
        assert isinstance(exc, ConfigError)
        assert exc.key is not None and exc.key.startswith("store")
    else:
        assert isinstance(url, str) and url
    return resolved


@FUZZ
@given(config_tables())
def test_decode_config_tables(table: dict[str, Any]) -> None:
    try:
        config = decode_config(table, source="fuzz.toml")
    except CapsaError as exc:
        assert isinstance(exc, ConfigError)
        assert "fuzz.toml" in str(exc)
        assert_names_input_key(exc, table)
        return
    assert_matches_table(config, table)


@FUZZ
@given(config_tables(), st.sampled_from(["capsa.toml", "pyproject.toml", "explicit"]))
def test_config_files(table: dict[str, Any], where: str) -> None:
    folder = Path.cwd()
    for name in ("capsa.toml", "pyproject.toml", "explicit.toml"):
        (folder / name).unlink(missing_ok=True)
    if where == "capsa.toml":
        path, text, prefix = folder / "capsa.toml", to_toml(table), ""
    elif where == "pyproject.toml":
        path, prefix = folder / "pyproject.toml", "tool.capsa"
        text = '[project]\nname = "x"\n\n[tool.capsa]\n' + to_toml(table)
    else:
        path, text, prefix = folder / "explicit.toml", to_toml(table), ""
    path.write_text(text, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        if where == "explicit":
            mp.setenv("CAPSA_CONFIG", str(path))
        got = load_or_config_error(str(path))
    if isinstance(got, ConfigError):
        assert_names_input_key(got, table, prefix)
        return
    assert got.file == path
    assert_matches_table(got.config, table)


@FUZZ
@given(toml_values, st.sampled_from(["tool", "tool.capsa"]), st.booleans())
def test_pyproject_tool_tables_of_any_type(value: Any, where: str, explicit: bool) -> None:
    """``tool`` or ``tool.capsa`` of any type: a ConfigError naming it, or a decoded table."""
    for name in ("capsa.toml", "pyproject.toml"):
        (Path.cwd() / name).unlink(missing_ok=True)
    path = Path.cwd() / "pyproject.toml"
    if where == "tool":
        path.write_text(f"tool = {to_toml_value(value)}\n", encoding="utf-8")
        capsa_table = value.get("capsa", {}) if isinstance(value, dict) else None
    else:
        path.write_text(f"tool = {{ capsa = {to_toml_value(value)} }}\n", encoding="utf-8")
        capsa_table = value
    with pytest.MonkeyPatch.context() as mp:
        if explicit:
            mp.setenv("CAPSA_CONFIG", str(path))
        got = load_or_config_error(str(path))
    if isinstance(got, ConfigError):
        assert got.key is not None and got.key.startswith("tool")
        return
    assert isinstance(capsa_table, dict), f"a non-table {where} was accepted"
    assert_matches_table(got.config, capsa_table)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_as_capsa_toml(raw: bytes) -> None:
    path = Path.cwd() / "capsa.toml"
    path.write_bytes(raw)
    load_or_config_error(str(path))


@FUZZ
@given(config_tables(), st.data())
def test_truncated_and_corrupted_toml(table: dict[str, Any], data: st.DataObject) -> None:
    raw = to_toml(table).encode()
    how = data.draw(st.sampled_from(["cut", "flip", "utf8", "nest"]))
    if how == "cut":
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    elif how == "flip" and raw:
        flipped = bytearray(raw)
        flipped[data.draw(st.integers(0, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
        raw = bytes(flipped)
    elif how == "utf8":
        at = data.draw(st.integers(0, len(raw)))
        raw = (
            raw[:at]
            + data.draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80"]))
            + raw[at:]
        )
    else:
        depth = data.draw(st.integers(1, 5000))
        opener, closer = data.draw(st.sampled_from([(b"[", b"]"), (b"{a=", b"}")]))
        raw += b"\nmeta = " + opener * depth + b"1" + closer * depth + b"\n"
    path = Path.cwd() / "capsa.toml"
    path.write_bytes(raw)
    load_or_config_error(str(path))


env_values = st.one_of(
    st.sampled_from(["nan", "NaN", "inf", "-inf", "-1", "0", "1e999", "1e-9", "3600", "", " 5 "]),
    st.sampled_from([*MODES, "staging", "PRODUCTION"]),
    st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=10),
)


@FUZZ
@given(st.dictionaries(st.sampled_from(sorted(ENV_VARS.values())), env_values, min_size=1))
def test_environment_variables(env: dict[str, str]) -> None:
    for name in ("capsa.toml", "pyproject.toml"):
        (Path.cwd() / name).unlink(missing_ok=True)
    with pytest.MonkeyPatch.context() as mp:
        for var, value in env.items():
            mp.setenv(var, value)
        got = load_or_config_error("environment")
    if isinstance(got, ConfigError):
        assert got.key in env
        return
    config = got.config
    grace = env.get("CAPSA_GC_GRACE_SECONDS", "")
    if grace:
        assert config.gc_grace_seconds == float(grace)
    assert config.gc_grace_seconds >= 0 and not math.isnan(config.gc_grace_seconds)
    mode = env.get("CAPSA_MODE", "")
    assert config.mode == (mode or "production")
    assert config.store == (env.get("CAPSA_STORE") or None)


# -- the escapes fuzzing found, pinned ------------------------------------------


@pytest.mark.parametrize(
    ("name", "raw", "match"),
    [
        ("capsa.toml", b'store = "\xff"\n', r"capsa\.toml: invalid TOML: not UTF-8"),
        ("capsa.toml", b"x = " + b"[" * 3000 + b"]" * 3000, r"capsa\.toml: invalid TOML: nested"),
        ("pyproject.toml", b"tool = 1\n", r"pyproject\.toml: key 'tool': must be a table"),
        (
            "pyproject.toml",
            b"tool = { capsa = [1] }\n",
            r"pyproject\.toml: key 'tool\.capsa': must be a table",
        ),
        ("capsa.toml", b"gc_grace_seconds = nan\n", r"key 'gc_grace_seconds'.*>= 0"),
        ("capsa.toml", b"gc_grace_seconds = -1.0\n", r"key 'gc_grace_seconds'.*>= 0"),
        (
            "capsa.toml",
            b'store = "~nosuchuser-fuzz/store"\n',
            r"capsa\.toml: key 'store'.*home folder",
        ),
    ],
    ids=[
        "invalid-utf8",
        "deep-nesting",
        "tool-not-a-table",
        "tool-capsa-not-a-table",
        "nan-grace",
        "negative-grace",
        "unknown-user-home",
    ],
)
@pytest.mark.parametrize("explicit", [False, True])
def test_config_escapes_found_by_fuzzing(
    monkeypatch: pytest.MonkeyPatch, name: str, raw: bytes, match: str, explicit: bool
) -> None:
    path = Path.cwd() / name
    path.write_bytes(raw)
    if explicit:
        monkeypatch.setenv("CAPSA_CONFIG", str(path))
    with pytest.raises(ConfigError, match=match):
        load_config().store_entry(None)


@pytest.mark.parametrize("value", ["nan", "-1", "-inf"])
def test_bad_grace_in_environment(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CAPSA_GC_GRACE_SECONDS", value)
    with pytest.raises(ConfigError, match=r"environment: key 'CAPSA_GC_GRACE_SECONDS'.*>= 0"):
        load_config()
