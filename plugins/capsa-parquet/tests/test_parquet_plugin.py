"""Registration hooks, kinds, entry point, and no pyarrow/pandas/polars at discovery."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import capsa_parquet
import pytest
from capsa_parquet import (
    ArrowFormat,
    CsvFormat,
    FeatherFormat,
    ParquetFormat,
    TableKind,
    TsvFormat,
    TsvTableKind,
    plugin,
)

import capsa
from capsa.errors import ValidationError
from capsa.plugins.known import FIRST_PARTY

PLUGIN_ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pyarrow", "pandas", "polars", "numpy")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPSA_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


def test_importing_and_registering_imports_no_heavy_library():
    code = (
        "import sys, json\n"
        "import capsa_parquet, capsa_parquet.plugin as p\n"
        "formats, kinds = [], []\n"
        "p.capsa_register_formats(formats.append)\n"
        "p.capsa_register_artifact_kinds(kinds.append)\n"
        "demos = []\n"
        "p.capsa_demo_artifacts(demos.append)\n"
        "capsa_parquet.ParquetFormat, capsa_parquet.ParquetTable, capsa_parquet.to_pandas\n"
        "f = formats[0]\n"
        "ok = [f.accepts({}), f.accepts([1]), f.accepts(object())]\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(json.dumps({'formats': [x.name for x in formats],\n"
        "  'kinds': [k.name for k in kinds],\n"
        "  'demos': [d.key for d in demos], 'accepts': ok, 'heavy': heavy}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["formats"] == ["parquet", "csv", "tsv", "arrow", "feather"]
    assert result["kinds"] == ["table", "table.tsv"]
    assert result["demos"] == ["demo/scores", "demo/gene_manifest"]
    assert result["accepts"] == [True, False, False]
    assert result["heavy"] == []


def test_store_discovery_imports_no_heavy_library():
    code = (
        "import sys, capsa\n"
        "from capsa.plugins.manager import get_registry\n"
        "store = capsa.open_store('memory://x')\n"
        "r = get_registry()\n"
        "names = [r.format(n).name for n in ('parquet', 'csv', 'tsv', 'arrow', 'feather')]\n"
        "assert r.format_for_filename('x.feather').name == 'arrow', 'feather ext'\n"
        "assert r.kind('table').name == 'table'\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(names, heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=True
    )
    assert out.stdout.strip().splitlines()[-1] == (
        "['parquet', 'csv', 'tsv', 'arrow', 'feather'] []"
    )


def test_hooks_register_instances():
    formats: list[object] = []
    kinds: list[object] = []
    plugin.capsa_register_formats(formats.append)
    plugin.capsa_register_artifact_kinds(kinds.append)
    assert [type(f) for f in formats] == [
        ParquetFormat,
        CsvFormat,
        TsvFormat,
        ArrowFormat,
        FeatherFormat,
    ]
    assert [type(k) for k in kinds] == [TableKind, TsvTableKind]
    for hook in (
        plugin.capsa_register_formats,
        plugin.capsa_register_artifact_kinds,
        plugin.capsa_demo_artifacts,
    ):
        assert hasattr(hook, "capsa_impl"), hook.__name__


def test_names_match_the_cores_first_party_table():
    owned = {n for n, dist in FIRST_PARTY["format"].items() if dist == "capsa-parquet"}
    formats = [ParquetFormat(), CsvFormat(), TsvFormat(), ArrowFormat(), FeatherFormat()]
    provided = {f.name for f in formats} | {e for f in formats for e in f.extensions}
    assert owned <= provided
    kinds = {n for n, dist in FIRST_PARTY["kind"].items() if dist == "capsa-parquet"}
    assert kinds <= {TableKind.name, TsvTableKind.name}


def test_kinds():
    (spec,) = TableKind.members
    assert (spec.name, spec.file, spec.format) == ("table", "table.parquet", "parquet")
    (spec,) = TsvTableKind.members
    assert (spec.name, spec.file, spec.format) == ("table", "table.tsv", "tsv")
    kind = TableKind()
    assert kind.to_members({"a": [1]}) == {"table": {"a": [1]}}
    with pytest.raises(ValidationError, match="required member 'table'"):
        kind.validate({})


def test_public_names():
    assert set(capsa_parquet.__all__) == {
        "ArrowFormat",
        "CsvFormat",
        "FeatherFormat",
        "ParquetFormat",
        "ParquetTable",
        "TableKind",
        "TsvFormat",
        "TsvTableKind",
        "__version__",
        "to_pandas",
        "to_polars",
    }
    assert "ParquetTable" in dir(capsa_parquet)
    with pytest.raises(AttributeError):
        capsa_parquet.Nope  # noqa: B018


def test_pyproject_declares_entry_point():
    project = tomllib.loads((PLUGIN_ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "capsa-parquet"
    assert project["entry-points"]["capsa"] == {"parquet": "capsa_parquet.plugin"}
    assert "capsa" in project["dependencies"]
    assert any(d.startswith("pyarrow>=14") for d in project["dependencies"])
    assert {"pandas", "polars"} <= {
        d.split(">")[0].split("=")[0] for d in project["optional-dependencies"]["test"]
    }
    assert project["version"] == capsa_parquet.__version__
    assert (PLUGIN_ROOT / "src" / "capsa_parquet" / "py.typed").exists()


def test_installed_entry_point_resolves():
    eps = [ep for ep in metadata.entry_points(group="capsa") if ep.name == "parquet"]
    if not eps:
        pytest.skip("capsa-parquet is not installed (entry points unavailable)")
    assert eps[0].load() is plugin


def test_demo_artifacts_save_and_reload(tmp_path):
    demos: list = []
    plugin.capsa_demo_artifacts(demos.append)
    store = capsa.open_store(str(tmp_path / "s"), mode="development", session="demo")
    for demo in demos:
        store.save(demo.key, demo.kind, demo.make())
    scores = store.load("demo/scores", verify=True)["table"]
    assert scores.num_rows == 100_000
    assert scores.column_names == ["chromosome", "position", "donor_score", "acceptor_score"]
    chr2 = scores.read(filters=[("chromosome", "==", "chr2")])
    assert chr2.num_rows == 50_000
    genes = store.load("demo/gene_manifest", verify=True)["table"]
    assert genes.column("gene_id").to_pylist() == plugin.GENE_MANIFEST["gene_id"]
    text = (store.load("demo/gene_manifest").path("table") or Path()).read_text()
    assert text.startswith("gene_id\tchromosome\tstrand\tstart\tend\ttranscript_count\n")
