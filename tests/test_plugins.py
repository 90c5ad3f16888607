"""Plugin discovery: isolation of broken plugins, strict mode, allowlist, conflicts, hints."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, ClassVar

import pytest
from core_helpers import subprocess_env

import capsa
from capsa.errors import PluginConflictError, UnknownBackendError, UnknownFormatError
from capsa.formats.json import JsonFormat
from capsa.markers import hookimpl
from capsa.plugins.manager import get_registry, list_plugins, register_plugin, unregister_plugin


def make_dist(site: Path, dist: str, module: str, source: str, *, entry: str | None = None) -> None:
    """Create an installed-looking distribution (dist-info + module) under ``site``."""
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[capsa]\n{entry or dist} = {module}\n")


def run_python(code: str, site: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=subprocess_env(PYTHONPATH=str(site), **env),
        check=False,
    )


PROBE = """
import json, warnings
warnings.simplefilter("always")
import capsa
from capsa.plugins.manager import list_plugins
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    store = capsa.open_store("memory://x")
    store.save("k", "json", {"ok": True})
    plugins = {p.name: [p.status, p.error] for p in list_plugins()}
print(json.dumps({"plugins": plugins, "warnings": [str(w.message) for w in caught],
                  "loaded": store.load("k")["data"]}))
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    make_dist(site, "capsa-broken", "capsa_broken", "raise ImportError('needs libfoo 9')\n")
    make_dist(
        site,
        "capsa-badhook",
        "capsa_badhook",
        """
        from capsa import hookimpl

        @hookimpl
        def capsa_register_formats(register):
            raise RuntimeError('registration exploded')
        """,
    )
    return site


def test_broken_plugins_are_skipped_with_a_warning_naming_them(site: Path) -> None:
    out = run_python(PROBE, site)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["loaded"] == {"ok": True}  # the rest keeps working
    assert result["plugins"]["capsa-broken"][0] == "failed"
    assert "needs libfoo 9" in result["plugins"]["capsa-broken"][1]
    assert result["plugins"]["capsa-badhook"][0] == "failed"
    text = "\n".join(result["warnings"])
    assert "'capsa-broken'" in text and "ImportError: needs libfoo 9" in text
    assert "'capsa-badhook'" in text and "registration exploded" in text


def test_strict_mode_turns_a_broken_plugin_into_an_error(site: Path) -> None:
    out = run_python(PROBE, site, CAPSA_STRICT_PLUGINS="1")
    assert out.returncode != 0
    assert "PluginLoadError" in out.stderr
    assert "capsa-b" in out.stderr  # names the distribution


def test_allowlist_loads_only_named_plugins(site: Path) -> None:
    out = run_python(PROBE, site, CAPSA_LOAD_PLUGINS="capsa-badhook")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["plugins"]["capsa-broken"][0] == "not allowed"
    assert result["plugins"]["capsa-badhook"][0] == "failed"
    assert result["plugins"]["core-formats"][0] == "loaded"  # built-ins always load
    assert not any("capsa-broken" in w for w in result["warnings"])


def test_cli_plugins_lists_failures(site: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "capsa", "plugins", "--json"],
        capture_output=True,
        text=True,
        env=subprocess_env(PYTHONPATH=str(site)),
        check=False,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    status = {p["distribution"]: p["status"] for p in data["plugins"]}
    assert status["capsa-broken"] == "failed"
    assert all(not p["builtin"] for p in data["plugins"] if p["status"] == "loaded")
    full = subprocess.run(
        [sys.executable, "-m", "capsa", "plugins", "--all"],
        capture_output=True,
        text=True,
        env=subprocess_env(PYTHONPATH=str(site)),
        check=False,
    )
    assert "formats: bytes, folder, json, jsonl, pickle, text" in full.stdout
    assert "[failed]" in full.stdout and "needs libfoo 9" in full.stdout


class ShadowJson(JsonFormat):
    description: ClassVar[str] = "a second json"


class ShadowPlugin:
    @hookimpl
    def capsa_register_formats(self, register: Any) -> None:
        register(ShadowJson())


def test_conflicting_names_raise_naming_both_plugins() -> None:
    register_plugin(ShadowPlugin(), "shadow-json")
    try:
        registry = get_registry()
        with pytest.raises(
            PluginConflictError, match=r"'capsa' \(entry point 'core-formats'\) and 'shadow-json'"
        ):
            registry.format("json")
        assert registry.conflicts() == {"formats": {"json": ["core-formats", "shadow-json"]}}
        assert registry.format("text").name == "text"  # everything else still works
    finally:
        unregister_plugin("shadow-json")
    assert get_registry().format("json").name == "json"


def test_unknown_scheme_names_the_plugin_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from capsa.plugins.known import FIRST_PARTY

    # A first-party scheme that is surely not installed (capsa-cloud may be).
    monkeypatch.setitem(FIRST_PARTY["backend"], "nosuch", "capsa-nosuch")
    with pytest.raises(UnknownBackendError, match=r"pip install capsa-nosuch"):
        capsa.open_store("nosuch://bucket/prefix")
    with pytest.raises(UnknownBackendError, match="'ftp'"):
        capsa.open_store("ftp://host/x")


def test_unknown_format_names_the_plugin_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from capsa.plugins.known import FIRST_PARTY

    # A first-party name that is surely not installed in the test environment.
    monkeypatch.setitem(FIRST_PARTY["format"], "nosuch", "capsa-nosuch")
    with pytest.raises(UnknownFormatError, match="pip install capsa-nosuch"):
        get_registry().format("nosuch")


def test_builtins_are_registered_through_entry_points() -> None:
    infos = {p.name: p for p in list_plugins()}
    for name in ("core-formats", "core-kinds", "core-backends", "core-demo"):
        assert infos[name].distribution == "capsa"
        assert infos[name].builtin and infos[name].status == "loaded"
    assert infos["core-backends"].provides["backends"] == ["<path>", "file", "memory"]


class HalfBroken:
    """Registers a format, then fails registering kinds: all of it must be dropped."""

    @hookimpl
    def capsa_register_formats(self, register: Any) -> None:
        class Half(JsonFormat):
            name: ClassVar[str] = "half-json"
            extensions: ClassVar[tuple[str, ...]] = (".half",)

        register(Half())

    @hookimpl
    def capsa_register_artifact_kinds(self, register: Any) -> None:
        raise RuntimeError("kinds exploded")


def test_a_plugin_registers_all_or_nothing() -> None:
    register_plugin(HalfBroken(), "half-broken")
    try:
        with pytest.warns(UserWarning, match="half-broken.*kinds exploded"):
            registry = get_registry()
        assert "half-json" not in registry.formats.names()
        info = {p.name: p for p in list_plugins()}["half-broken"]
        assert info.status == "failed" and info.provides == {}
    finally:
        unregister_plugin("half-broken")


def test_plugins_list_their_event_hooks() -> None:
    from test_store import Recorder

    register_plugin(Recorder(), "recorder-hooks")
    try:
        info = {p.name: p for p in list_plugins()}["recorder-hooks"]
        assert info.hooks == ["capsa_artifact_committed"]
        assert {p.name: p for p in list_plugins()}["core-demo"].hooks == ["capsa_demo_artifacts"]
    finally:
        unregister_plugin("recorder-hooks")


def test_excluded_first_party_plugin_gets_an_allow_hint(site: Path) -> None:
    make_dist(
        site,
        "capsa-npz",
        "fake_npz",
        """
        from capsa import hookimpl
        """,
        entry="npz",
    )
    code = """
    from capsa.plugins.manager import get_registry
    try:
        get_registry().format("npz")
    except Exception as exc:
        print(exc)
    """
    out = run_python(code, site, CAPSA_LOAD_PLUGINS="capsa-broken")
    assert "capsa-npz is installed but not loaded" in out.stdout
    assert "CAPSA_LOAD_PLUGINS" in out.stdout


def test_strict_message_does_not_claim_the_plugin_was_skipped(site: Path) -> None:
    out = run_python(PROBE, site, CAPSA_STRICT_PLUGINS="1")
    assert "CAPSA_STRICT_PLUGINS is on" in out.stderr and "skipped" not in out.stderr


def test_in_process_plugins_are_listed_by_module_or_class() -> None:
    import types

    module = types.ModuleType("my_lab.capsa_plugin")

    class ObjectPlugin:
        pass

    register_plugin(module, "as-module")
    register_plugin(ObjectPlugin(), "as-object")
    try:
        found = {p.name: p for p in list_plugins()}
        assert found["as-module"].module == "my_lab.capsa_plugin"
        assert found["as-module"].distribution == "(in-process) as-module"
        assert found["as-object"].module.endswith("ObjectPlugin")
    finally:
        unregister_plugin("as-module")
        unregister_plugin("as-object")
