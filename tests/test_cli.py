"""The capsa command: every command, --json output and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from core_helpers import subprocess_env

from capsa.cli import exitcodes
from capsa.cli.main import main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def populated(tmp_path: Path) -> str:
    import capsa

    url = str(tmp_path / "store")
    store = capsa.open_store(url)
    store.save("exp/a", "json", {"loss": 0.1}, meta={"seed": 1})
    store.save("exp/b", "bundle", {"notes.txt": "hello", "cfg.json": {"lr": 1}})
    store.save("other", "text", "t")
    return url


def test_ls_text_and_json(populated: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["ls", "--store", populated], capsys)
    assert code == exitcodes.OK
    assert "exp/a" in out and "bundle" in out and "KEY" in out
    code, out, _ = run(["ls", "exp/", "--kind", "json", "--json", "--store", populated], capsys)
    data = json.loads(out)
    assert [a["key"] for a in data["artifacts"]] == ["exp/a"]
    assert data["mode"] == "production"


def test_show(populated: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["show", "exp/b", "--store", populated], capsys)
    assert code == 0 and "notes.txt" in out and "bundle" in out
    code, out, _ = run(["show", "exp/a", "--json", "--store", populated], capsys)
    manifest = json.loads(out)
    assert manifest["kind"] == "json" and manifest["meta"] == {"seed": 1}
    code, _, err = run(["show", "missing", "--store", populated], capsys)
    assert code == exitcodes.NOT_FOUND and "missing" in err


def test_verify_exit_codes(populated: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["verify", "--store", populated], capsys)
    assert code == exitcodes.OK and "3 artifact(s)" in out
    Path(populated, "exp", "b", "notes.txt").write_text("HELLO")
    code, out, _ = run(["verify", "--store", populated], capsys)
    assert code == exitcodes.PROBLEMS
    assert "CORRUPT exp/b :: notes.txt: sha256" in out
    code, out, _ = run(["verify", "exp/b", "--json", "--store", populated], capsys)
    data = json.loads(out)
    assert code == exitcodes.PROBLEMS and data["ok"] is False
    assert data["problems"][0]["member"] == "notes.txt"
    code, _, _ = run(["verify", "nope", "--store", populated], capsys)
    assert code == exitcodes.NOT_FOUND


def test_gc_dry_run_then_yes(populated: str, capsys: pytest.CaptureFixture[str]) -> None:
    debris = Path(populated, ".capsa", "staging", "1-x")
    debris.mkdir(parents=True)
    (debris / "m.json").write_text("{}")
    code, out, _ = run(["gc", "--older-than", "0", "--store", populated], capsys)
    assert code == 0 and "would remove" in out and debris.exists()
    code, out, _ = run(["gc", "--yes", "--older-than", "0", "--json", "--store", populated], capsys)
    data = json.loads(out)
    assert data["dry_run"] is False and data["objects"] == [".capsa/staging/1-x/m.json"]
    assert not (debris / "m.json").exists()


def test_config_json_reports_sources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "capsa.toml").write_text('mode = "development"\n')
    monkeypatch.setenv("CAPSA_STORE", "memory://cli")
    code, out, _ = run(["config", "--json"], capsys)
    data = json.loads(out)
    assert code == 0
    assert data["sources"]["mode"] == str(tmp_path / "capsa.toml")
    assert data["sources"]["store"] == "env:CAPSA_STORE"
    assert data["store_url"] == "memory://cli"
    code, out, _ = run(["config"], capsys)
    assert "mode = 'development'" in out and "env:CAPSA_STORE" in out


def test_config_error_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "capsa.toml").write_text("mode = 5\n")
    code, _, err = run(["ls"], capsys)
    assert code == exitcodes.CONFIG and "capsa.toml" in err and "'mode'" in err


def test_unknown_backend_exit_code(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from capsa.plugins.known import FIRST_PARTY

    # A first-party scheme that is surely not installed (capsa-cloud may be).
    monkeypatch.setitem(FIRST_PARTY["backend"], "nosuch", "capsa-nosuch")
    code, _, err = run(["ls", "--store", "nosuch://bucket/x"], capsys)
    assert code == exitcodes.CONFIG and "pip install capsa-nosuch" in err


def test_usage_error_exit_code() -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == exitcodes.USAGE


def test_demo_runs_in_development_and_is_idempotent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = str(tmp_path / "demo-store")
    for session in ("one", "two"):
        code, out, _ = run(["demo", "--store", url, "--session", session, "--json"], capsys)
        assert code == 0
        data = json.loads(out)
        assert data["mode"] == "development" and data["namespace"] == f"dev/{session}"
        assert data["verify"]["problems"] == [] and data["verify"]["artifacts"] >= 3
        assert {"demo/metrics", "demo/run", "demo/log"} <= set(data["listed"])
    # Running again in the same session overwrites (development mode) instead of failing.
    code, out, _ = run(["demo", "--store", url, "--session", "two"], capsys)
    assert code == 0 and "all intact" in out


def test_help_for_every_command() -> None:
    for command in ("plugins", "ls", "show", "verify", "gc", "config", "demo"):
        out = subprocess.run(
            [sys.executable, "-m", "capsa", command, "--help"],
            capture_output=True,
            text=True,
            env=subprocess_env(),
            check=True,
        )
        assert "usage: capsa" in out.stdout and "--json" in out.stdout


def test_sessions_and_development_reads_need_a_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = str(tmp_path / "s")
    run(["demo", "--store", url, "--session", "alpha"], capsys)
    code, out, _ = run(["sessions", "--store", url, "--json"], capsys)
    assert code == 0 and json.loads(out) == {"development": ["alpha"], "test": []}
    code, _, err = run(["ls", "--store", url, "--mode", "development"], capsys)
    assert code == exitcodes.USAGE and "--session" in err and "alpha" in err
    code, out, _ = run(
        ["ls", "--store", url, "--mode", "development", "--session", "alpha"], capsys
    )
    assert code == 0 and "demo/metrics" in out


def test_config_shows_the_effective_mode_of_a_named_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "capsa.toml").write_text(
        'store = "scratch"\n[stores.scratch]\nurl = "memory://c"\nmode = "development"\n'
    )
    code, out, _ = run(["config", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["effective_mode"] == "development"
    assert data["effective_mode_origin"] == "named store"
    assert data["values"]["mode"] == "production"
