"""The plugin as capsa sees it: cheap discovery, registrations, and the demo contribution."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import numpy as np
import pytest
from capsa_optim import RunArtifacts, RunLocation

import capsa
from capsa.plugins import get_registry, list_plugins

HEAVY = ("numpy", "zarr", "matplotlib", "pyarrow", "msgspec.structs")


def test_discovery_and_import_do_not_import_heavy_libraries() -> None:
    code = (
        "import sys, json\n"
        "import capsa_optim, capsa_optim.plugin\n"
        "from capsa.plugins import get_registry\n"
        "r = get_registry()\n"
        "names = (r.kinds.names(), r.estimators.names(), r.signal_builders.names())\n"
        f"print(json.dumps([sorted(m for m in {HEAVY[:4]!r} if m in sys.modules), names]))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPSA_")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    heavy, (kinds, estimators, builders) = json.loads(out.stdout.strip().splitlines()[-1])
    assert heavy == []
    assert {"optim.run", "optim.experiment", "optim.table", "optim.plots"} <= set(kinds)
    assert {"hutchinson", "exact_hessian_diag", "ema_grad2", "empirical_fisher", "gn_diag"} <= set(
        estimators
    )
    assert "optim.loss" in builders


def test_plugin_is_listed_with_what_it_provides() -> None:
    info = next(p for p in list_plugins() if p.distribution == "capsa-optim")
    assert info.status == "loaded"
    provided = get_registry().provided_by(info.name)
    assert provided["kinds"] == ["optim.experiment", "optim.plots", "optim.run", "optim.table"]
    assert len(provided["estimators"]) == 5 and len(provided["signal_builders"]) == 5


def test_public_names_resolve() -> None:
    import capsa_optim

    for name in capsa_optim.__all__:
        assert getattr(capsa_optim, name) is not None
    with pytest.raises(AttributeError):
        capsa_optim.nothing_here  # noqa: B018
    assert "save_run" in dir(capsa_optim)


def test_demo_contribution_saves_an_ensemble() -> None:
    from capsa_optim.demo import METHODS, SEEDS, demo_artifacts

    store = capsa.open_store(f"memory://demo-{uuid.uuid4().hex[:6]}", mode="development")
    demos = demo_artifacts()
    keys = [d.key for d in demos]
    assert keys[0] == "demo/optim/manifest" and "demo/optim/table" in keys
    assert sum(d.kind == "optim.run" for d in demos) == len(METHODS) * len(SEEDS)
    for demo in demos:
        store.save(demo.key, demo.kind, demo.make(), meta={"demo": True, **demo.meta})
    assert store.verify().ok
    final = {}
    for method in METHODS:
        run = RunArtifacts(RunLocation(store, f"demo/optim/runs/{method}-s0"))
        final[method] = run.summary.loss_final
        assert run.signals is not None and "binary.x_position_error_uas" in run.signals
    optimum = final["gn_gd"]
    assert final["hutchinson_gd"] < 1.01 * optimum
    assert final["simple_gd"] > 1e3 * optimum  # one learning rate is stuck (condition >= 1e4)
    if any(d.kind == "optim.plots" for d in demos):
        png = store.load("demo/optim/plots/hutchinson_gd-s0")["png"]
        assert png.startswith(b"\x89PNG")
    table_art = store.load("demo/optim/table")
    assert table_art.kind in ("table", "optim.table")
    assert np.isfinite(optimum)


def test_estimators_and_builders_are_imported_on_first_use() -> None:
    import json
    import subprocess
    import sys

    code = (
        "import json, sys\n"
        "from capsa.plugins.manager import get_registry\n"
        "r = get_registry()\n"
        "est, b = r.estimator('hutchinson'), r.signal_builder('optim.loss')\n"
        "before = [m for m in ('capsa_optim.curvature.hutchinson', 'capsa_optim.signals.builders')"
        " if m in sys.modules]\n"
        "import numpy as np\n"
        "d = est.estimate(np.zeros(3), hessian=np.diag([1.0, 2.0, 3.0]), probes=1, seed=0)\n"
        "print(json.dumps([before, d.diagonal.tolist(), 'capsa_optim.curvature.hutchinson' in"
        " sys.modules, est.name, b.name]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, diagonal, loaded, est_name, builder_name = json.loads(
        out.stdout.strip().splitlines()[-1]
    )
    assert before == []
    assert diagonal == [1.0, 2.0, 3.0] and loaded
    assert (est_name, builder_name) == ("hutchinson", "optim.loss")
