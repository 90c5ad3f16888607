"""``capsa runs`` and ``capsa reindex`` on the command line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from catalog_helpers import save_run

import capsa
from capsa.catalog.local import CATALOG_FILE
from capsa.cli.main import main


@pytest.fixture
def root(tmp_path: Path) -> str:
    store = capsa.open_store(str(tmp_path / "s"))
    for i, (loss, status) in enumerate([(0.4, "success"), (0.1, "success"), (0.3, "failed")]):
        save_run(store, f"grid/run{i}", loss=loss, status=status)
    return str(tmp_path / "s")


def test_runs_top_k_as_a_table_and_as_json(root: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["runs", "--store", root, "--kind", "experiment.run", "--where", "status=success"]
    assert main([*args, "--order-by", "loss", "--limit", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:5] == ["KEY", "KIND", "STATUS", "CREATED", "LOSS"]
    assert out[1].split()[0] == "grid/run1" and len(out) == 2
    assert main([*args, "--order-by", "loss", "--desc", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["key"] for r in data["rows"]] == ["grid/run0", "grid/run1"]
    assert data["rows"][0]["fields"]["loss"] == 0.4
    assert main(["runs", "--store", root, "--where", "loss>1"]) == 0
    assert "no catalogued artifacts match" in capsys.readouterr().out


def test_runs_exports_csv(root: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "runs.csv"
    assert main(["runs", "--store", root, "--order-by", "loss", "-o", str(out)]) == 0
    assert "wrote 3 row(s)" in capsys.readouterr().err
    with open(out, newline="") as fh:
        assert [r["key"] for r in csv.DictReader(fh)] == ["grid/run1", "grid/run2", "grid/run0"]


def test_reindex_rebuilds_a_deleted_catalog(root: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--store", root, "--json"]) == 0
    before = json.loads(capsys.readouterr().out)["rows"]
    for suffix in ("", "-wal", "-shm"):
        Path(root, CATALOG_FILE + suffix).unlink(missing_ok=True)
    from capsa.catalog.local import forget

    forget(Path(root, CATALOG_FILE))
    assert main(["reindex", "--store", root, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["artifacts"] == 3 and report["unreadable"] == []
    assert main(["runs", "--store", root, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == before
    Path(root, "broken").mkdir()
    Path(root, "broken", "_SUCCESS").write_text("{")
    assert main(["reindex", "--store", root]) == 1
    assert "unreadable marker" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (["--where", "loss"], 5, r"cannot read the filter"),
        (["--where", "loss<1", "-o", "x.xlsx"], 5, r"unknown format"),
        (["--limit", "-2"], 5, r"limit must be"),
    ],
)
def test_runs_bad_usage(
    root: str, capsys: pytest.CaptureFixture[str], extra: list[str], code: int, message: str
) -> None:
    assert main(["runs", "--store", root, *extra]) == code
    assert message.replace("\\", "") in capsys.readouterr().err


def test_runs_end_to_end_with_the_sweep_runner(tmp_path: Path) -> None:
    from experiments_helpers import TrainConfig, train

    from capsa.catalog import open_catalog
    from capsa.experiments import Sweep, SweepAxis, run_sweep

    store = capsa.open_store(str(tmp_path / "results"))
    open_catalog(store).enable()
    sweep = Sweep(name="grid", axes=[SweepAxis(path="model.alpha", values=[0.5, 2.0, 1.0])])
    summary = run_sweep(sweep.expand(TrainConfig), train, root=store, echo=False, progress=False)
    assert summary.succeeded == 3
    best = open_catalog(store).query(kind="experiment.run", order_by="score", limit=1)
    assert best[0].fields["experiment"] == "grid" and best[0].status == "success"
    assert best[0].fingerprint == summary.outcomes[0].fingerprint
