"""The experiment registry: named sweeps, model sets, groups, selection and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from experiments_helpers import Lasso, Ridge, TrainConfig, train

import capsa
from capsa.errors import ConfigError
from capsa.experiments import (
    load_experiment_registry,
    resolve_registry_experiment,
    run_sweep,
)

REGISTRY = """
schema_version = 1
config_type = "experiments_helpers:TrainConfig"
step = "experiments_helpers:train"
results_root = "results"

[models.ridge]
"model" = { type = "ridge", alpha = 1.0 }

[models.lasso]
"model" = { type = "lasso", alpha = 0.1 }

[models.strong_ridge]
"model" = { type = "ridge", alpha = 50.0 }

[model_sets.linear]
models = ["ridge", "lasso"]
description = "linear baselines"

[experiments.grid]
sweep = "sweeps/grid.toml"
model_sets = ["linear"]
models = ["strong_ridge"]
groups = ["paper"]
description = "the main grid"

[experiments.grid.overrides.linear]
epochs = 7

[experiments.grid.overrides.lasso]
"model.max_iter" = 9

[experiments.smoke]
groups = ["smoke", "paper"]

[experiments.smoke.sweep]
base = "sweeps/base.toml"
overrides = { epochs = 1 }

[experiments.single]
sweep = { axes = [] }
"""

SWEEP = """
name = "ignored-the-experiment-names-it"
base = "base.toml"
[[axes]]
path = "seed"
values = [1, 2]
"""


@pytest.fixture
def registry_path(tmp_path: Path) -> Path:
    (tmp_path / "sweeps").mkdir()
    (tmp_path / "sweeps" / "grid.toml").write_text(SWEEP)
    (tmp_path / "sweeps" / "base.toml").write_text("epochs = 2\n")
    path = tmp_path / "experiments.toml"
    path.write_text(REGISTRY)
    return path


def test_registry_loads_names_groups_and_model_sets(registry_path: Path) -> None:
    registry = load_experiment_registry(registry_path)
    assert registry.names() == ("grid", "smoke", "single")
    assert registry.groups() == ("paper", "linear", "smoke")
    grid = registry.require("grid")
    assert grid.groups == ("paper", "linear")  # model sets count as groups
    assert grid.sweep.name == "grid" and grid.description == "the main grid"
    assert registry.model_set("linear").models == ("ridge", "lasso")
    assert registry.config_type() is TrainConfig
    assert registry.step() is train
    assert registry.results_root == str(registry_path.parent / "results")


def test_experiments_expand_per_model_with_scoped_overrides(registry_path: Path) -> None:
    registry = load_experiment_registry(registry_path)
    resolved = registry.resolve("grid")
    names = [r.concrete_name for r in resolved.runs]
    assert names == [
        "grid__model=strong_ridge__seed=1",
        "grid__model=strong_ridge__seed=2",
        "grid__model=ridge__seed=1",
        "grid__model=ridge__seed=2",
        "grid__model=lasso__seed=1",
        "grid__model=lasso__seed=2",
    ]
    assert [r.index for r in resolved.runs] == list(range(6))
    by_name = {r.concrete_name: r for r in resolved.runs}
    strong = by_name["grid__model=strong_ridge__seed=1"]
    assert strong.config.model == Ridge(alpha=50.0) and strong.config.epochs == 2
    ridge = by_name["grid__model=ridge__seed=2"]
    assert ridge.config.model == Ridge(alpha=1.0) and ridge.config.epochs == 7
    lasso = by_name["grid__model=lasso__seed=1"]
    assert lasso.config.model == Lasso(alpha=0.1, max_iter=9) and lasso.config.epochs == 7
    assert lasso.model == "lasso" and lasso.groups == ("paper", "linear")
    assert list(lasso.applied_overrides) == ["model", "epochs", "model.max_iter", "seed"]
    assert lasso.source == str(registry_path.parent / "sweeps" / "grid.toml")
    smoke = registry.resolve("smoke").run
    assert smoke.config.epochs == 1 and smoke.concrete_name == "smoke"
    assert smoke.source == str(registry_path)
    with pytest.raises(ConfigError, match=r"expands to 6 runs, not one"):
        _ = resolved.run
    # Seed 002's names for the same things.
    assert registry.resolve_experiment("smoke").bundle == smoke
    assert resolved.bundles == resolved.runs


def test_selection_by_names_and_groups(registry_path: Path) -> None:
    registry = load_experiment_registry(registry_path)
    names = lambda **kw: [e.name for e in registry.select(**kw)]  # noqa: E731
    assert names() == ["grid", "smoke", "single"]
    assert names(names=["single"]) == ["single"]
    assert names(groups=["paper"]) == ["grid", "smoke"]
    assert names(groups=["smoke"], names=["single"]) == ["smoke", "single"]
    assert names(groups=["linear"]) == ["grid"]
    runs = registry.expand(groups=["smoke"], names=["single"])
    assert [r.name for r in runs] == ["smoke", "single"]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"names": ["gird"]}, r"unknown experiment 'gird'; known experiments: grid, smoke, single"),
        ({"groups": ["papers"]}, r"unknown group 'papers'; known groups: paper, linear, smoke"),
        ({"names": "grid"}, r"lists of strings"),
    ],
)
def test_unknown_names_and_groups_list_the_known_ones(
    registry_path: Path, kwargs: dict[str, object], words: str
) -> None:
    registry = load_experiment_registry(registry_path)
    with pytest.raises(ConfigError, match=words) as info:
        registry.select(**kwargs)  # type: ignore[arg-type]
    if "names" in kwargs and kwargs["names"] != "grid":
        assert info.value.source == str(registry_path)
    with pytest.raises(ConfigError, match=r"unknown model set 'nope'; known model sets: linear"):
        registry.model_set("nope")


def test_registry_runs_land_under_the_experiment_name(registry_path: Path) -> None:
    registry = load_experiment_registry(registry_path)
    runs = registry.expand(names=["smoke", "single"])
    summary = run_sweep(runs, registry.step(), root=registry.results_root, echo=False)
    assert summary.succeeded == 2 and summary.label == "smoke, single"
    store = capsa.open_store(registry.results_root)
    keys = sorted(i.key.split("/")[0] for i in store.list(kind="experiment.run"))
    assert keys == ["single", "smoke"]
    art = store.load(summary.outcomes[0].key or "")
    assert art.meta["groups"] == ["smoke", "paper"]


def test_resolve_registry_experiment_helper(registry_path: Path) -> None:
    resolved = resolve_registry_experiment("single", registry_path=registry_path)
    assert resolved.run.config == TrainConfig()


BAD_CASES = [
    ("[experiments.a]\nmodels = []\n", "experiments.a", r"missing required field `sweep`"),
    (
        "[experiments.a]\nsweep = {}\nmodels = ['svm']\n",
        "experiments.a.models.0",
        r"unknown model 'svm'; known models: m",
    ),
    (
        "[experiments.a]\nsweep = {}\nmodel_sets = ['s']\n",
        "experiments.a.model_sets.0",
        r"unknown model set 's'; known model sets: \(none\)",
    ),
    ("[model_sets.s]\nmodels = ['x']\n", "model_sets.s.models.0", r"unknown model 'x'"),
    ("[model_sets.s]\nmodels = ['m', 'm']\n", "model_sets.s.models.1", r"listed twice"),
    (
        "[experiments.a]\nsweep = {}\nmodels = ['m']\n[experiments.a.overrides.other]\nseed = 1\n",
        "experiments.a.overrides.other",
        r"'other' is neither \(they are: m\)",
    ),
    ("[experiments.a]\nsweep = {name = 'x'}\n", "experiments.a.sweep", r"remove 'name'"),
    (
        "[experiments.a]\nsweep = {max_workers = 0}\n",
        "experiments.a.sweep.max_workers",
        r"positive int",
    ),
    ("[experiments.a]\nsweep = 'missing.toml'\n", None, r"does not exist"),
    ("[experiments.'a/b']\nsweep = {}\n", "experiments.a/b", r"must not contain '/'"),
    ("[experiments.a]\nsweep = {}\ngroups = ['']\n", "experiments.a.groups.0", r"non-empty"),
    ("[experiments.a]\nsweep = {}\ncolour = 'red'\n", "experiments.a.colour", r"unknown key"),
    ("[models.q]\n'a..b' = 1\n", "models.q.a..b", r"empty segment"),
    ("schema_version = 9\n", "schema_version", r"newer than this capsa"),
    ("experiments = 3\n", "experiments", r"Expected `object`"),
]


@pytest.mark.parametrize(("text", "key", "words"), BAD_CASES)
def test_bad_registries_name_file_and_key(
    tmp_path: Path, text: str, key: str | None, words: str
) -> None:
    path = tmp_path / "experiments.toml"
    path.write_text(text + "\n[models.m]\nseed = 3\n")
    with pytest.raises(ConfigError, match=words) as info:
        load_experiment_registry(path)
    assert info.value.key == key, str(info.value)
    if key is not None:
        assert info.value.source == str(path)


def test_bad_configs_surface_at_resolve_time(tmp_path: Path) -> None:
    path = tmp_path / "experiments.toml"
    path.write_text(
        "[models.bad]\n'model.alpha' = 'high'\n"
        "[models.twin]\nseed = 0\n"
        "[experiments.a]\nsweep = {}\nmodels = ['bad']\n"
        "[experiments.b]\nsweep = {}\nmodels = ['twin']\n"
        "[experiments.b.overrides.twin]\n'seed' = 'x'\n"
        "[experiments.c]\nsweep = {overrides = {seed = 0}}\nmodels = ['twin']\n"
        "[models.zero]\nseed = 0\n"
        "[experiments.d]\nsweep = {}\nmodels = ['twin', 'zero']\n"
    )
    registry = load_experiment_registry(path)
    with pytest.raises(ConfigError, match=r"models.bad sets 'model.alpha' = 'high'"):
        registry.resolve("a", config_type=TrainConfig)
    with pytest.raises(ConfigError, match=r"experiments.b.overrides.twin sets 'seed' = 'x'"):
        registry.resolve("b", config_type=TrainConfig)
    assert registry.resolve("c", config_type=TrainConfig).run.config.seed == 0
    with pytest.raises(ConfigError, match=r"two models of the experiment are identical"):
        registry.resolve("d", config_type=TrainConfig)
    with pytest.raises(ConfigError, match=r"names no config_type"):
        registry.resolve("a")
    with pytest.raises(ConfigError, match=r"names no step"):
        registry.step()


def test_bad_import_references(tmp_path: Path) -> None:
    path = tmp_path / "experiments.toml"
    path.write_text(
        "config_type = 'experiments_helpers:score'\nstep = 'experiments_helpers:Ridge.alpha'\n"
        "[experiments.a]\nsweep = {}\n"
    )
    registry = load_experiment_registry(path)
    with pytest.raises(ConfigError, match=r"is not a class") as info:
        registry.config_type()
    assert info.value.key == "config_type"
    with pytest.raises(ConfigError, match=r"is not callable"):
        registry.step()
