"""Registration hooks, the arrays kind, and the no-numpy-at-import guarantee."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import capsa_npz
import numpy as np
import pytest
from capsa_npz import ArraysKind, NpzArrays, NpzFormat, plugin

from capsa.errors import ValidationError
from capsa.formats.base import Format
from capsa.kinds.base import ArtifactKind

PLUGIN_ROOT = Path(__file__).resolve().parents[1]


def test_importing_plugin_does_not_import_numpy():
    code = (
        "import sys\n"
        "import capsa_npz, capsa_npz.plugin\n"
        "formats, kinds = [], []\n"
        "capsa_npz.plugin.capsa_register_formats(formats.append)\n"
        "capsa_npz.plugin.capsa_register_artifact_kinds(kinds.append)\n"
        "capsa_npz.NpzFormat, capsa_npz.ArraysKind, capsa_npz.NpzArrays\n"
        "assert [f.name for f in formats] == ['npz'], formats\n"
        "assert [k.name for k in kinds] == ['arrays'], kinds\n"
        "f = formats[0]\n"
        "assert not f.accepts([1]) and f.accepts({})\n"
        "f.validate({})\n"
        "bad = sorted(m for m in sys.modules if m == 'numpy' or m.startswith('numpy.'))\n"
        "assert not bad, bad\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr


def test_hooks_register_instances():
    formats: list[Format] = []
    kinds: list[ArtifactKind] = []
    plugin.capsa_register_formats(formats.append)
    plugin.capsa_register_artifact_kinds(kinds.append)
    assert len(formats) == 1 and isinstance(formats[0], NpzFormat)
    assert len(kinds) == 1 and isinstance(kinds[0], ArraysKind)


def test_hooks_are_marked_for_pluggy():
    for hook in (plugin.capsa_register_formats, plugin.capsa_register_artifact_kinds):
        assert hasattr(hook, "capsa_impl"), hook.__name__


def test_arrays_kind():
    kind = ArraysKind()
    assert kind.name == "arrays"
    assert kind.version == 1
    assert kind.description
    (spec,) = kind.members
    assert (spec.name, spec.file, spec.format, spec.required) == (
        "arrays",
        "arrays.npz",
        "npz",
        True,
    )
    assert kind.member("arrays.npz") is spec
    data = {"x": np.ones(2)}
    members = kind.to_members(data)
    assert members == {"arrays": data}
    kind.validate(members)
    with pytest.raises(ValidationError, match="required member 'arrays'"):
        kind.validate({})


def test_public_names():
    assert set(capsa_npz.__all__) == {"ArraysKind", "NpzArrays", "NpzFormat", "__version__"}
    assert NpzArrays.__module__ == "capsa_npz.reader"
    assert "NpzFormat" in dir(capsa_npz)
    with pytest.raises(AttributeError):
        capsa_npz.Nope  # noqa: B018


def test_pyproject_declares_entry_point():
    project = tomllib.loads((PLUGIN_ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "capsa-npz"
    assert project["entry-points"]["capsa"] == {"npz": "capsa_npz.plugin"}
    assert "capsa" in project["dependencies"]
    assert project["version"] == capsa_npz.__version__
    assert (PLUGIN_ROOT / "src" / "capsa_npz" / "py.typed").exists()


def test_installed_entry_point_resolves_when_installed():
    eps = [ep for ep in metadata.entry_points(group="capsa") if ep.name == "npz"]
    if not eps:
        pytest.skip("capsa-npz is not installed (entry points unavailable)")
    assert eps[0].load() is plugin
