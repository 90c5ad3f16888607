"""Importing capsa and discovering every plugin must not import heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys

from core_helpers import subprocess_env

HEAVY = ("numpy", "pyarrow", "zarr", "pandas", "polars", "obstore", "scipy")

PROBE = """
import json, sys
import capsa
before = sorted(m for m in {heavy!r} if m in sys.modules)
from capsa.plugins.manager import get_registry, list_plugins
registry = get_registry()
plugins = list_plugins()
after = sorted(m for m in {heavy!r} if m in sys.modules)
print(json.dumps({{
    "before": before,
    "after": after,
    "plugins": [p.distribution for p in plugins if p.status == "loaded"],
    "formats": registry.formats.names(),
}}))
"""


def test_import_and_discovery_do_not_import_heavy_libraries() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY)],
        capture_output=True,
        text=True,
        check=True,
        env=subprocess_env(),
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["before"] == []
    assert result["after"] == [], f"discovery imported {result['after']}"
    # The check is meaningful only if plugins were really discovered.
    assert "capsa" in result["plugins"]
    assert "json" in result["formats"]


def test_plugins_command_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys, io, contextlib\n"
        "from capsa.cli.main import main\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    rc = main(['plugins', '--all', '--json'])\n"
        f"print(rc, sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=subprocess_env(),
    )
    assert out.stdout.strip().splitlines()[-1] == "0 []"


def test_import_capsa_does_not_discover_plugins() -> None:
    code = "import capsa, sys\nimport capsa.plugins.manager as m\nprint(m._state is None)\n"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=subprocess_env(),
    )
    assert out.stdout.strip() == "True"
