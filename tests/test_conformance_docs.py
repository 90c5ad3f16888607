"""The worked example of docs/testing-backends.md runs: the sqlite backend of the plugin guide
passes capsa.testing's conformance suite."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from core_helpers import subprocess_env

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _block(text: str, title: str) -> str:
    match = re.search(rf'```python title="{re.escape(title)}"\n(.*?)```', text, re.S)
    assert match is not None, title
    return match.group(1)


def test_worked_example_passes_the_conformance_suite(tmp_path: Path) -> None:
    guide = (DOCS / "plugins" / "backends.md").read_text()
    package = tmp_path / "capsa_sqlite"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in ("backend.py", "plugin.py"):
        (package / name).write_text(_block(guide, f"src/capsa_sqlite/{name}"))
    example = _block((DOCS / "testing-backends.md").read_text(), "tests/test_sqlite_conformance.py")
    (tmp_path / "test_sqlite_conformance.py").write_text(example)
    out = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x"),
            tmp_path.name,
        ],
        cwd=tmp_path.parent,
        capture_output=True,
        text=True,
        env=subprocess_env(PYTHONPATH=str(tmp_path)),
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert re.search(r"\b\d+ passed\b", out.stdout) and "failed" not in out.stdout, out.stdout
