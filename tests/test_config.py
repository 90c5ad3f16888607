"""Configuration: files, environment, precedence, named stores and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import capsa
from capsa.config.loader import load_config
from capsa.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_without_any_config(tmp_path: Path) -> None:
    store = capsa.open_store()
    assert store.mode == "production"
    assert store.url == (tmp_path / "capsa-store").as_uri()
    resolved = load_config()
    assert resolved.file is None and resolved.sources["store"] == "default"


def test_capsa_toml_named_stores_swap_with_one_line(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "capsa.toml",
        """
store = "scratch"
mode = "development"
session = "fixed"

[stores.local]
url = "data/store"

[stores.scratch]
url = "memory://scratch-cfg"
mode = "test"
""",
    )
    store = capsa.open_store(test_name="t1")
    assert store.url == "memory://scratch-cfg"
    assert store.mode == "test"  # the named store's mode wins over the global one
    local = capsa.open_store("local")
    assert local.url == (cfg.parent / "data" / "store").as_uri()  # relative to the file
    assert local.mode == "development" and local.namespace == "dev/fixed"


def test_config_found_in_parent_folder_and_relative_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "capsa.toml", 'store = "./artifacts"\n')
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert capsa.open_store().url == (tmp_path / "artifacts").as_uri()


def test_pyproject_tool_capsa(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "x"\n\n[tool.capsa]\nstore = "memory://pp"\nmode = "development"\n',
    )
    store = capsa.open_store()
    assert store.url == "memory://pp" and store.mode == "development"
    assert load_config().sources["store"] == str(tmp_path / "pyproject.toml")


def test_capsa_toml_wins_over_pyproject_in_same_folder(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.capsa]\nstore = "memory://from-pyproject"\n')
    write(tmp_path / "capsa.toml", 'store = "memory://from-capsa-toml"\n')
    assert capsa.open_store().url == "memory://from-capsa-toml"


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "capsa.toml", 'store = "memory://file"\nmode = "production"\n')
    monkeypatch.setenv("CAPSA_STORE", "memory://env")
    monkeypatch.setenv("CAPSA_MODE", "development")
    monkeypatch.setenv("CAPSA_SESSION", "envsession")
    store = capsa.open_store()
    assert (store.url, store.mode) == ("memory://env", "development")
    assert store.namespace == "dev/envsession"
    sources = load_config().sources
    assert sources["store"] == "env:CAPSA_STORE" and sources["mode"] == "env:CAPSA_MODE"
    # Arguments beat everything.
    assert capsa.open_store("memory://arg", mode="production").url == "memory://arg"


def test_capsa_config_variable_points_at_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = write(tmp_path / "elsewhere" / "my.toml", 'store = "memory://explicit"\n')
    monkeypatch.setenv("CAPSA_CONFIG", str(cfg))
    assert capsa.open_store().url == "memory://explicit"
    monkeypatch.setenv("CAPSA_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="does not exist"):
        capsa.open_store()


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('mode = "prod"\n', "mode", "production"),
        ("store = 3\n", "store", "str"),
        ('stor = "x"\n', "stor", "unknown key"),
        ("[stores.a]\nurl = 5\n", "stores.a.url", "str"),
        ('[stores.a]\nurl = "x"\nregion = "eu"\n', "stores.a.region", "unknown key"),
        ('gc_grace_seconds = "soon"\n', "gc_grace_seconds", "float"),
        ('[plugins]\nload = "capsa-npz"\n', "plugins.load", "array"),
    ],
)
def test_bad_values_name_file_key_and_expectation(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    path = write(tmp_path / "capsa.toml", text)
    with pytest.raises(ConfigError) as info:
        capsa.open_store()
    message = str(info.value)
    assert str(path) in message
    assert f"key {key!r}" in message
    assert expected in message
    assert isinstance(info.value, ValueError) and info.value.key == key


def test_bad_key_in_pyproject_is_prefixed(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.capsa]\nmode = 1\n")
    with pytest.raises(ConfigError, match=r"key 'tool\.capsa\.mode'"):
        capsa.open_store()


def test_invalid_toml(tmp_path: Path) -> None:
    write(tmp_path / "capsa.toml", "store = \n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        capsa.open_store()


def test_bad_environment_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPSA_MODE", "staging")
    with pytest.raises(ConfigError, match=r"environment: key 'CAPSA_MODE'.*staging"):
        capsa.open_store()
    monkeypatch.setenv("CAPSA_MODE", "production")
    monkeypatch.setenv("CAPSA_GC_GRACE_SECONDS", "soon")
    with pytest.raises(ConfigError, match="CAPSA_GC_GRACE_SECONDS"):
        capsa.open_store()


def test_unknown_store_name_lists_the_named_ones(tmp_path: Path) -> None:
    write(tmp_path / "capsa.toml", '[stores.lab]\nurl = "memory://lab"\n')
    with pytest.raises(ConfigError, match=r"no store named 'labb'.*lab"):
        capsa.open_store("labb")


def test_plugins_table_applies_allowlist(tmp_path: Path) -> None:
    import subprocess
    import sys

    from core_helpers import subprocess_env

    write(tmp_path / "capsa.toml", "[plugins]\nload = []\nstrict = true\n")
    code = (
        "import capsa; from capsa.plugins.manager import list_plugins\n"
        "capsa.open_store('memory://p')\n"
        "print(sorted({p.status for p in list_plugins() if not p.builtin} or {'none'}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=subprocess_env(),
        check=True,
    )
    assert out.stdout.strip() in ("['not allowed']", "['none']")
