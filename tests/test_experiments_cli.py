"""``capsa experiments list|expand|run``: output, --json and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import capsa
from capsa.cli import exitcodes
from capsa.cli.main import main
from capsa.experiments import load_experiment_registry

REGISTRY = """
config_type = "experiments_helpers:TrainConfig"
step = "experiments_helpers:train"
results_root = "results"

[models.ridge]
"model" = { type = "ridge", alpha = 2.0 }

[models.lasso]
"model" = { type = "lasso" }

[model_sets.linear]
models = ["ridge", "lasso"]

[experiments.grid]
model_sets = ["linear"]
groups = ["paper"]
description = "two models, two seeds"
[experiments.grid.sweep]
axes = [{ path = "seed", values = [1, 2] }]

[experiments.broken]
groups = ["fragile"]
[experiments.broken.sweep]
axes = [{ path = "fail", values = [false, true] }]
"""


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    path = tmp_path / "experiments.toml"
    path.write_text(REGISTRY)
    return path


def test_list(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["experiments", "list"], capsys)  # experiments.toml in the cwd
    assert code == exitcodes.OK
    assert "NAME" in out and "grid" in out and "two models, two seeds" in out
    code, out, _ = run(["experiments", "list", "--registry", str(registry), "--json"], capsys)
    data = json.loads(out)
    rows = {r["name"]: r for r in data["experiments"]}
    assert rows["grid"]["runs"] == 4 and rows["grid"]["models"] == ["ridge", "lasso"]
    assert rows["grid"]["groups"] == ["paper", "linear"]
    assert rows["broken"]["runs"] == 2
    code, out, _ = run(["experiments", "list", "--group", "fragile", "--json"], capsys)
    assert [r["name"] for r in json.loads(out)["experiments"]] == ["broken"]


def test_expand(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["experiments", "expand", "grid", "--json"], capsys)
    assert code == exitcodes.OK
    runs = json.loads(out)["runs"]
    expected = load_experiment_registry(registry).resolve("grid").runs
    assert [r["fingerprint"] for r in runs] == [r.fingerprint for r in expected]
    assert runs[0]["concrete_name"] == "grid__model=ridge__seed=1"
    assert runs[0]["config"]["model"] == {"type": "ridge", "alpha": 2.0, "fit_intercept": True}
    code, out, _ = run(["experiments", "expand", "grid"], capsys)
    assert "grid__model=lasso__seed=2" in out and expected[0].fingerprint[:12] in out


def test_run_and_resume(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["experiments", "run", "grid", "--no-progress"], capsys)
    assert code == exitcodes.OK, out
    assert "4 succeeded, 0 partial, 0 failed, 0 skipped" in out
    store = capsa.open_store(str(registry.parent / "results"))
    assert len(store.list("grid/", kind="experiment.run")) == 4
    code, out, _ = run(["experiments", "run", "grid", "--json", "--max-workers", "auto"], capsys)
    summary = json.loads(out)
    assert code == exitcodes.OK and summary["skipped"] == 4
    url = "memory://cli-runs"
    code, out, _ = run(
        ["experiments", "run", "--group", "fragile", "--store", url, "--json"], capsys
    )
    summary = json.loads(out)
    assert code == exitcodes.PROBLEMS
    assert (summary["succeeded"], summary["failed"]) == (1, 1)
    assert "boom" in summary["outcomes"][1]["error"]


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["experiments", "run"], exitcodes.USAGE, "--group, or pass --all"),
        (["experiments", "expand", "gird"], exitcodes.CONFIG, "unknown experiment 'gird'"),
        (["experiments", "list", "--group", "nope"], exitcodes.CONFIG, "known groups: paper"),
        (["experiments", "list", "--registry", "missing.toml"], exitcodes.CONFIG, "does not exist"),
        (
            ["experiments", "expand", "--config-type", "experiments_helpers:nope"],
            exitcodes.CONFIG,
            "has no attribute 'nope'",
        ),
    ],
)
def test_errors_and_exit_codes(
    registry: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int, words: str
) -> None:
    got, _, err = run(args, capsys)
    assert got == code and words in err


def test_bad_worker_count_is_a_usage_error(registry: Path) -> None:
    with pytest.raises(SystemExit) as info:
        main(["experiments", "run", "grid", "--max-workers", "0"])
    assert info.value.code == exitcodes.USAGE
