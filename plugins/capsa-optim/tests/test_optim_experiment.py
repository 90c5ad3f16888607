"""Experiments: manifest, runs/<run_id>, aggregated tables (Parquet or CSV), the CLI."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from capsa_optim import Experiment, ExperimentManifest, RunLocation, build_table, load_summary
from capsa_optim.cli import main
from capsa_optim.table import SUMMARY_COLUMNS, RunTable
from optim_helpers import make_meta, make_trace

import capsa
from capsa.errors import ArtifactExistsError, ArtifactNotFoundError, ValidationError


def sweep(root: str, lrs: tuple[float, ...] = (0.1, 0.2, 0.4)) -> Experiment:
    exp = Experiment.create(
        root, {"kind": "sweep", "sweep": {"base_lr": list(lrs)}, "datasets": {"frames": "obs-7"}}
    )
    for i, lr in enumerate(lrs):
        meta = make_meta(optimizer={"name": "simple_gd", "base_lr": lr, "num_steps": 40})
        exp.save_run(f"lr{i}", make_trace(seed=i), meta, {"metrics": {"err_uas": 10.0 * i}})
    return exp


def test_layout_manifest_and_runs(tmp_path: Path) -> None:
    exp = sweep(str(tmp_path / "exp1"))
    assert (tmp_path / "exp1" / "manifest" / "manifest.json").is_file()
    assert (tmp_path / "exp1" / "runs" / "lr1" / "trace.npz").is_file()
    manifest = exp.manifest
    assert manifest.experiment_id == "exp1" and manifest.sweep == {"base_lr": [0.1, 0.2, 0.4]}
    assert manifest.schema == "capsa.optim.experiment" and manifest.schema_version == 1
    assert exp.run_ids() == ["lr0", "lr1", "lr2"]
    # The same run, by path, as save_run/load_* see it.
    assert load_summary(tmp_path / "exp1" / "runs" / "lr2").run_id == "lr2"
    assert [r.run_id for r in exp.runs()] == ["lr0", "lr1", "lr2"]
    with pytest.raises(ArtifactExistsError):
        Experiment.create(str(tmp_path / "exp1"), {"kind": "sweep"})


def test_table_rows_and_columns(tmp_path: Path) -> None:
    exp = sweep(str(tmp_path / "exp"))
    table = exp.table()
    assert len(table) == 3
    assert table.names[: len(SUMMARY_COLUMNS)] == list(SUMMARY_COLUMNS)
    assert table.column("run_id") == ["lr0", "lr1", "lr2"]
    assert table.column("optimizer.base_lr") == [0.1, 0.2, 0.4]
    assert table.column("metrics.err_uas") == [0.0, 10.0, 20.0]
    assert table.column("theta.dim") == [12, 12, 12]
    assert table.column("optimizer.preconditioning.method") == [None, None, None]
    losses = [make_trace(seed=i)["loss"][-1] for i in range(3)]
    assert table.column("loss_final") == losses
    custom = exp.table(meta_keys=("objective.data_ids",))
    assert custom.column("objective.data_ids") == ['{"frames":"sha256:abc"}'] * 3
    with pytest.raises(ValidationError, match=r"no column 'nope'"):
        table.column("nope")


def test_written_tables_parquet_and_csv(root_url: str) -> None:
    exp = sweep(root_url)
    ref = exp.write_table()
    has_parquet = True
    try:
        capsa.open_store("memory://probe").registry.kind("table")
    except capsa.UnknownNameError:
        has_parquet = False
    store = exp.location.store
    if has_parquet:
        assert [m.file for m in ref.manifest.members] == ["table.parquet"]
        arrow = store.load("table").read("table")
        assert arrow.column("run_id").to_pylist() == ["lr0", "lr1", "lr2"]
        assert arrow.column("optimizer.base_lr").to_pylist() == [0.1, 0.2, 0.4]
    ref_csv = exp.write_table(name="table_csv", table_format="csv")
    assert [m.file for m in ref_csv.manifest.members] == ["table.csv"]
    assert ref_csv.manifest.meta["schema"] == "capsa.optim.table"
    text = store.load("table_csv")["table"]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["run_id"] for r in rows] == ["lr0", "lr1", "lr2"]
    assert float(rows[1]["loss_final"]) == make_trace(seed=1)["loss"][-1]  # exact round trip
    assert rows[0]["optimizer.preconditioning.method"] == ""


def test_table_needs_runs_and_checks_format(tmp_path: Path) -> None:
    exp = Experiment.create(str(tmp_path / "empty"), {"kind": "ensemble"})
    with pytest.raises(ArtifactNotFoundError, match=r"no committed runs"):
        exp.write_table()
    exp.save_run("r", make_trace(), make_meta())
    with pytest.raises(ValidationError, match=r"format must be one of"):
        exp.write_table(table_format="xlsx")


def test_experiment_in_a_development_store(tmp_path: Path) -> None:
    store = capsa.open_store(str(tmp_path / "s"), mode="development", session="a")
    exp = Experiment.create(RunLocation(store, "projects/p1"), ExperimentManifest(kind="ensemble"))
    exp.save_run("r1", make_trace(), make_meta())
    exp.save_run("r1", make_trace(seed=3), make_meta())  # development: overwrite
    assert exp.run_ids() == ["r1"] and exp.manifest.experiment_id == "p1"


@pytest.mark.parametrize(
    ("manifest", "match"),
    [
        ({"kind": "grid"}, r"kind must be one of"),
        ({"sweep": {"lr": 0.1}}, r"Expected `array`"),
        ({"schema_version": 2}, r"schema must be 'capsa.optim.experiment' version 1"),
        ({"settings": {"x": float("nan")}}, r"manifest.settings.x is nan"),
        ("sweep", r"manifest must be an ExperimentManifest or a mapping"),
    ],
)
def test_bad_manifests(tmp_path: Path, manifest: object, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        Experiment.create(str(tmp_path / "bad"), manifest)  # type: ignore[arg-type]
    assert not (tmp_path / "bad" / "manifest").exists()


def test_bad_run_ids(tmp_path: Path) -> None:
    exp = Experiment(str(tmp_path / "e"))
    for bad in ("", "a/b", "..", 3):
        with pytest.raises((ValidationError, capsa.InvalidKeyError)):
            exp.run(bad)  # type: ignore[arg-type]


def test_build_table_from_paths(tmp_path: Path) -> None:
    sweep(str(tmp_path / "exp"))
    table = build_table([tmp_path / "exp" / "runs" / "lr0", str(tmp_path / "exp" / "runs" / "lr2")])
    assert table.column("run_id") == ["lr0", "lr2"]
    assert "run_id" in table.format_text()
    with pytest.raises(ValidationError, match=r"different lengths"):
        RunTable({"a": [1], "b": [1, 2]})
    mixed = RunTable({"m": [1, 2.5, None], "s": [1, "x", None], "b": [True, None, False]})
    assert mixed.column("m") == [1.0, 2.5, None] and mixed.column("s") == ["1", "x", None]


def test_cli_table_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep(str(tmp_path / "exp"))
    assert main(["table", str(tmp_path / "exp"), "--save"]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines()[0].split()[:3] == ["run_id", "status", "num_steps_completed"]
    assert "lr2" in out.out and "saved 3 row(s)" in out.err
    assert capsa.open_store(str(tmp_path / "exp")).exists("table")
    assert main(["table", str(tmp_path / "exp"), "--json", "--meta-key", "theta.dim"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["theta.dim"] for r in rows] == [12, 12, 12]
    assert main(["table", str(tmp_path / "nothing")]) == 3
    assert "no committed runs" in capsys.readouterr().err
    pytest.importorskip("matplotlib")
    assert (
        main(
            [
                "plot",
                str(tmp_path / "exp" / "runs" / "lr0"),
                "--out",
                str(tmp_path / "fig"),
                "--format",
                "png",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.strip() == str(tmp_path / "fig.png")
    assert (tmp_path / "fig.png").stat().st_size > 0
    assert main(["plot", str(tmp_path / "exp" / "runs" / "missing")]) == 3


def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "capsa_optim", "--help"], capture_output=True, text=True, check=True
    )
    assert "table" in out.stdout and "plot" in out.stdout


def test_mounted_on_the_capsa_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from capsa.cli.main import build_parser
    from capsa.cli.main import main as capsa_main

    assert "optim" in build_parser().format_help()
    sweep(str(tmp_path / "exp"))
    assert capsa_main(["optim", "table", str(tmp_path / "exp"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 3
    assert capsa_main(["optim", "table", str(tmp_path / "nothing")]) == 3
    assert "no committed runs" in capsys.readouterr().err
