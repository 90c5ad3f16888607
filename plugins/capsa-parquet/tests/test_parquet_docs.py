"""The Python examples of docs/tables.md run, in order, in a fresh folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "tables.md"
_BLOCK = re.compile(r"(<!-- skip -->\n)?```python\n(.*?)```", re.S)


def test_tables_page_examples_run(tmp_path, monkeypatch):
    if not DOC.exists():
        pytest.skip("docs/tables.md is not next to this plugin (installed elsewhere)")
    blocks = [code for skip, code in _BLOCK.findall(DOC.read_text()) if not skip]
    assert len(blocks) >= 3
    for var in ("CAPSA_STORE", "CAPSA_MODE", "CAPSA_CONFIG", "CAPSA_SESSION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    for code in blocks:
        exec(compile(code, str(DOC), "exec"), namespace)
    seed = (
        "gene_id\tchromosome\tstrand\tstart\tend\ttranscript_count\n"
        "ENSG00000000003\tchrX\t-\t100627108\t100639991\t3\n"
        "ENSG00000000005\tchrX\t+\t100584936\t100599885\t2\n"
    )
    assert namespace["g"].path("table").read_text() == seed
