"""The plugin: discovery without numpy, registered kinds, the capsa CLI, the demos."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from capsa_dimred import (
    FIT_RUN_KEY_FIELDS,
    load_eval_artifact,
    load_fit_artifact,
    save_eval_artifact,
    save_fit_artifact,
    update_runs,
)
from dimred_helpers import join, run_record, sample_fit, save_args

import capsa
from capsa.cli.main import main as capsa_main
from capsa.plugins.known import install_hint
from capsa.plugins.manager import get_registry


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CAPSA_")}


def test_importing_and_discovering_does_not_import_numpy() -> None:
    code = (
        "import sys\n"
        "import capsa_dimred, capsa_dimred.plugin\n"
        "from capsa_dimred import FIT_METRIC_COLUMNS, FIT_RUN_KEY_FIELDS, SEPARATION_METRIC_KEY\n"
        "kinds = []\n"
        "capsa_dimred.plugin.capsa_register_artifact_kinds(kinds.append)\n"
        "from capsa.plugins.manager import get_registry\n"
        "get_registry().kind('dimred.fit')\n"
        "capsa_dimred.update_runs, capsa_dimred.load_fit_runs, capsa_dimred.StoreLocation\n"
        "assert [k.name for k in kinds] == ['dimred.fit', 'dimred.eval', 'dimred.run'], kinds\n"
        "bad = sorted(m for m in sys.modules if m == 'numpy' or m.startswith('numpy.'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=_env())


def test_kinds_are_registered_with_their_members() -> None:
    registry = get_registry()
    fit, ev, run = (registry.kind(n) for n in ("dimred.fit", "dimred.eval", "dimred.run"))
    assert [m.file for m in fit.members] == ["fit.npz", "fit.json"]
    assert [m.file for m in ev.members] == ["eval.json"]
    assert [m.file for m in run.members] == ["record.json"]
    assert "metrics.*" in run.catalog_fields and "key.*" in run.catalog_fields


def test_known_names_point_at_the_distribution() -> None:
    for kind in ("dimred.fit", "dimred.eval", "dimred.run"):
        assert "pip install capsa-dimred" in install_hint("kind", kind)


def test_lazy_attribute_errors() -> None:
    import capsa_dimred

    with pytest.raises(AttributeError, match=r"no attribute 'nope'"):
        capsa_dimred.nope  # noqa: B018
    assert "update_runs" in dir(capsa_dimred)


def _cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = capsa_main(list(args))
    return code, out.getvalue()


def test_capsa_ls_show_verify_gc_understand_dimred(local_root: str) -> None:
    fit = join(local_root, "fits", "pca_k2")
    save_fit_artifact(fit, *save_args(sample_fit()))
    save_eval_artifact(join(local_root, "evals", "pca_k2_class"), {"metrics": {"silhouette": 0.4}})
    update_runs(join(local_root, "fit_runs.json"), run_record(0, 2), FIT_RUN_KEY_FIELDS)
    code, out = _cli("ls", "--store", local_root, "--json")
    assert code == 0
    kinds = {item["key"]: item["kind"] for item in json.loads(out)["artifacts"]}
    assert kinds.pop("fits/pca_k2") == "dimred.fit"
    assert kinds.pop("evals/pca_k2_class") == "dimred.eval"
    ((run_key, run_kind),) = kinds.items()
    assert run_key.startswith("fit_runs.records/") and run_kind == "dimred.run"
    code, out = _cli("show", "--store", local_root, "fits/pca_k2")
    assert code == 0 and "dimred.fit (version 1)" in out and "fit.npz" in out
    assert _cli("verify", "--store", local_root)[0] == 0
    code, out = _cli("gc", "--store", local_root, "--older-than", "0", "--json")
    assert json.loads(out)["objects"] == []  # the seed-format file is kept (gc_keep)
    (Path(fit) / "fit.npz").write_bytes(b"corrupt")
    code, out = _cli("verify", "--store", local_root)
    assert code == 1 and "fits/pca_k2" in out and "fit.npz" in out


def test_capsa_demo_includes_the_dimred_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import capsa.cli.demo as demo_cli

    everything = demo_cli.collect_demos
    monkeypatch.setattr(
        demo_cli, "collect_demos", lambda: [d for d in everything() if d[0] == "dimred"]
    )
    store = capsa.open_store(str(tmp_path / "demo"), mode="development", session="t")
    assert demo_cli.run_demo(store) == 0
    captured = capsys.readouterr()
    # dimred's 7, plus the core's step output (artifacts/demo and exports/demo)
    assert "verified 9 artifact(s)" in captured.out, captured
    listed = [line.split()[:2] for line in captured.out.splitlines() if line.startswith("demo/")]
    assert ["demo/dimred/fits/pca_k2", "dimred.fit"] in listed
    assert ["demo/dimred/evals/pca_k2_class", "dimred.eval"] in listed
    assert "eval_runs.json" in captured.err and "run status: partial" in captured.err, captured
    art = store.load("demo/dimred/fits/pca_k3", verify=True)
    assert art.meta["shape"] == [240, 3] and art.meta["demo"] is True
    bundle = store.load("demo/dimred/run")
    assert [r["n_components"] for r in bundle["fit_runs.json"]] == [2, 3, 5]
    assert bundle["run_summary.json"]["status"] == "partial"
    assert bundle["availability.json"][0]["skipped_components"] == [16]
    from capsa_dimred import StoreLocation

    loaded = load_fit_artifact(StoreLocation(store, "demo/dimred/fits/pca_k5"))
    assert loaded["embedding_container"].components == ("PC1", "PC2", "PC3", "PC4", "PC5")
    assert load_eval_artifact(StoreLocation(store, "demo/dimred/evals/pca_k2_class"))["metrics"]


def test_python_m_capsa_dimred_demo(root: str, capsys: pytest.CaptureFixture[str]) -> None:
    from capsa_dimred.cli import main

    assert main(["demo", root]) == 0
    out = capsys.readouterr().out
    assert "run status: partial (_RUN_PARTIAL)" in out
    assert "skipped [16]" in out
    assert main(["demo", root]) == 5  # production: the fits exist already
    assert "ArtifactExistsError" in capsys.readouterr().out
