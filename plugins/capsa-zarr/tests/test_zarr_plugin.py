"""Registration hooks, the zarr.array kind, the demo artifact, and no zarr/numpy at discovery."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata

import capsa_zarr
import numpy as np
import pytest
from capsa_zarr import ZarrArrayKind, ZarrFormat, plugin

import capsa
from capsa.errors import ValidationError
from capsa.formats.base import Format
from capsa.kinds.base import ArtifactKind


def _run(code: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env.update(extra_env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


def test_discovery_imports_neither_zarr_nor_numpy() -> None:
    code = (
        "import sys\n"
        "import capsa_zarr, capsa_zarr.plugin\n"
        "formats, kinds = [], []\n"
        "capsa_zarr.plugin.capsa_register_formats(formats.append)\n"
        "capsa_zarr.plugin.capsa_register_artifact_kinds(kinds.append)\n"
        "capsa_zarr.ZarrFormat, capsa_zarr.ZarrArrayKind\n"
        "assert [f.name for f in formats] == ['zarr'], formats\n"
        "assert [k.name for k in kinds] == ['zarr.array'], kinds\n"
        "assert formats[0].accepts({}) and not formats[0].accepts([1])\n"
        "import capsa\n"
        "from capsa.plugins.manager import list_plugins\n"
        "names = [p.name for p in list_plugins()]\n"
        "assert 'zarr' in names, names\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'zarr', 'numpy', 'numcodecs'})\n"
        "assert not heavy, heavy\n"
    )
    out = _run(code)
    assert out.returncode == 0, out.stderr


def test_registered_through_the_entry_point() -> None:
    eps = [ep for ep in metadata.entry_points(group="capsa") if ep.name == "zarr"]
    assert [ep.value for ep in eps] == ["capsa_zarr.plugin"]
    store = capsa.open_store("memory://zarr-plugin-check")
    assert store.registry.format("zarr").name == "zarr"
    assert store.registry.format_for_filename("x.zarr").name == "zarr"
    assert store.registry.kind("zarr.array").name == "zarr.array"


def test_hooks_register_instances() -> None:
    formats: list[Format] = []
    kinds: list[ArtifactKind] = []
    plugin.capsa_register_formats(formats.append)
    plugin.capsa_register_artifact_kinds(kinds.append)
    assert len(formats) == 1 and isinstance(formats[0], ZarrFormat)
    assert len(kinds) == 1 and isinstance(kinds[0], ZarrArrayKind)
    for hook in (
        plugin.capsa_register_formats,
        plugin.capsa_register_artifact_kinds,
        plugin.capsa_demo_artifacts,
    ):
        assert hasattr(hook, "capsa_impl"), hook.__name__


def test_format_attributes() -> None:
    fmt = ZarrFormat()
    assert fmt.name == "zarr"
    assert fmt.extensions == (".zarr",)
    assert fmt.directory and fmt.lazy and not fmt.requires_trust
    assert fmt.description


def test_kind() -> None:
    kind = ZarrArrayKind()
    assert (kind.name, kind.version) == ("zarr.array", 1)
    (spec,) = kind.members
    assert (spec.name, spec.file, spec.format, spec.required) == (
        "array",
        "array.zarr",
        "zarr",
        True,
    )
    assert kind.member("array.zarr") is spec
    assert kind.to_members(np.ones(2)).keys() == {"array"}
    with pytest.raises(ValidationError, match="required member 'array'"):
        kind.validate({})


def test_public_names_resolve_lazily() -> None:
    assert set(capsa_zarr.__all__) <= set(dir(capsa_zarr))
    for name in capsa_zarr.__all__:
        assert getattr(capsa_zarr, name) is not None
    with pytest.raises(AttributeError):
        capsa_zarr.nope  # noqa: B018


def test_demo_artifact_saves_and_reloads() -> None:
    from capsa.cli.demo import DemoArtifact

    demos: list[DemoArtifact] = []
    plugin.capsa_demo_artifacts(demos.append)
    (demo,) = demos
    assert (demo.key, demo.kind) == ("demo/trace", "zarr.array")
    store = capsa.open_store("memory://zarr-demo-check")
    store.save(demo.key, demo.kind, demo.make())
    art = store.load(demo.key, verify=True)
    trace = art["array"]
    assert trace["theta"].shape == (2000, 8)
    assert trace["loss"].shape == (2000,)
    assert trace["loss"].metadata.dimension_names == ("dim_0",)


def test_capsa_demo_command_includes_the_trace(tmp_path: object) -> None:
    out = _run(
        "import sys\n"
        "from capsa.cli.main import main\n"
        f"sys.exit(main(['demo', '--store', {str(tmp_path)!r} + '/demo-store']))\n",
        CAPSA_LOAD_PLUGINS="zarr",  # this plugin and the core's, whatever else is installed
        CAPSA_STRICT_PLUGINS="1",
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "demo/trace" in out.stdout
    assert "demo/metrics" in out.stdout
