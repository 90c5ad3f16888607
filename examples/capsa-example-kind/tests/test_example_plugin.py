"""The example plugin is really pip-installed and found through its entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CAPSA_")}


@pytest.fixture(scope="module")
def installed() -> Iterator[None]:
    """pip-install the example (not editable) into the running environment, then remove it."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--force-reinstall",
            str(HERE),
        ],
        check=True,
        env=_env(),
    )
    yield
    subprocess.run(
        [sys.executable, "-m", "pip", "uninstall", "--quiet", "--yes", "capsa-example-kind"],
        check=True,
        env=_env(),
    )


def test_entry_point_is_discovered(installed: None) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "capsa", "plugins", "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=_env(),
    )
    plugins = {p["distribution"]: p for p in json.loads(out.stdout)["plugins"]}
    example = plugins["capsa-example-kind"]
    assert example["status"] == "loaded"
    assert example["name"] == "example-kind"
    assert example["provides"]["kinds"] == ["example.experiment"]


def test_installed_kind_saves_validates_and_loads(installed: None, tmp_path: Path) -> None:
    code = textwrap.dedent(
        f"""
        import json, capsa
        from capsa.errors import ValidationError
        store = capsa.open_store({str(tmp_path / "store")!r})
        try:
            store.save("bad", "example.experiment", {{"params": {{"lr": 1}}}})
        except ValidationError as exc:
            bad = str(exc)
        ref = store.save("exp/1", "example.experiment",
                         {{"params": {{"name": "baseline", "lr": 0.1}}, "log": "step 1\\n"}})
        art = store.load("exp/1", verify=True)
        print(json.dumps({{
            "bad": bad,
            "params": art["params"],
            "log": art["log"],
            "plugins": ref.manifest.producer.plugins,
            "listed": [i.key for i in store.list(kind="example.experiment")],
        }}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_env()
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert "non-empty 'name'" in result["bad"]
    assert result["params"] == {"name": "baseline", "lr": 0.1}
    assert result["log"] == "step 1\n"
    assert result["plugins"] == {"capsa-example-kind": "0.1.0"}  # provenance names the plugin
    assert result["listed"] == ["exp/1"]
