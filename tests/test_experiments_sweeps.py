"""Sweep expansion: deterministic names, overrides and fingerprints; every bad override refused."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from experiments_helpers import Lasso, Optimizer, Ridge, TrainConfig

from capsa.errors import ConfigError
from capsa.experiments import (
    Sweep,
    SweepAxis,
    expand_sweep,
    expand_sweep_file,
    load_sweep,
    stable_fingerprint,
)
from capsa.experiments.sweeps import label_value


def grid(**extra: Any) -> Sweep:
    return Sweep(
        name="grid",
        base={"epochs": 2},
        overrides={"optimizer.lr": 0.5},
        axes=[
            SweepAxis(path="model.alpha", values=[0.1, 1.0, 10.0]),
            SweepAxis(path="seed", values=[0, 1]),
        ],
        **extra,
    )


def test_cartesian_expansion_in_a_deterministic_order() -> None:
    runs = grid().expand(TrainConfig)
    assert len(runs) == grid().size == 6
    assert [r.concrete_name for r in runs] == [
        "grid__alpha=0.1__seed=0",
        "grid__alpha=0.1__seed=1",
        "grid__alpha=1.0__seed=0",
        "grid__alpha=1.0__seed=1",
        "grid__alpha=10.0__seed=0",
        "grid__alpha=10.0__seed=1",
    ]
    assert [r.index for r in runs] == list(range(6))
    third = runs[3]
    assert third.applied_overrides == {"optimizer.lr": 0.5, "model.alpha": 1.0, "seed": 1}
    assert third.config == TrainConfig(
        model=Ridge(alpha=1.0), optimizer=Optimizer(lr=0.5), epochs=2, seed=1
    )
    assert third.fingerprint == stable_fingerprint(third.config)
    assert third.fingerprint == stable_fingerprint(third.normalized_config())
    assert third.normalized_config()["model"] == {
        "type": "ridge",
        "alpha": 1.0,
        "fit_intercept": True,
    }
    assert len({r.fingerprint for r in runs}) == 6
    assert third.config_type == "experiments_helpers.TrainConfig"


def test_same_config_same_fingerprint_whatever_the_route() -> None:
    """A run's fingerprint depends on its resolved config only, not on how it was reached."""
    a = grid().expand(TrainConfig)[0]
    b = Sweep(
        name="other",
        base=TrainConfig(model=Ridge(alpha=0.1), optimizer=Optimizer(lr=0.5), epochs=2),
    ).expand(TrainConfig)[0]
    assert b.concrete_name == "other"
    assert a.fingerprint == b.fingerprint
    again = grid().expand(TrainConfig)
    assert [r.fingerprint for r in again] == [r.fingerprint for r in grid().expand(TrainConfig)]


def test_a_sweep_without_axes_is_one_run_and_tables_switch_variants() -> None:
    (only,) = Sweep(name="one").expand(TrainConfig)
    assert only.concrete_name == "one" and only.applied_overrides == {}
    runs = Sweep(
        name="models",
        axes=[SweepAxis(path="model", values=[{"type": "ridge"}, {"type": "lasso", "alpha": 0.5}])],
    ).expand(TrainConfig)
    assert [r.config.model for r in runs] == [Ridge(), Lasso(alpha=0.5)]
    assert runs[1].concrete_name == 'models__model={"alpha":0.5,"type":"lasso"}'


def test_fixed_table_then_dotted_override_and_list_index() -> None:
    (run,) = Sweep(
        name="s",
        overrides={"model": {"type": "lasso"}, "model.max_iter": 7, "layers.1": 3, "tags.k": "v"},
    ).expand(TrainConfig)
    assert run.config.model == Lasso(max_iter=7)
    assert run.config.layers == [8, 3]
    assert run.config.tags == {"k": "v"}


def test_labels_are_short_and_unambiguous() -> None:
    assert label_value("adam") == "adam"
    assert label_value("1") == '"1"'
    assert label_value("true") == '"true"'
    assert label_value("with space") == '"with space"'
    assert label_value(1) == "1" and label_value(1.5) == "1.5" and label_value(True) == "true"
    long = {"k": "x" * 60}
    assert label_value(long) == f"#{stable_fingerprint(long)[:12]}"
    runs = Sweep(
        name="s",
        axes=[
            SweepAxis(path="optimizer.lr", values=[0.1]),
            SweepAxis(path="warmup", values=[None, {"lr": 0.2}]),
            SweepAxis(path="model.alpha", values=[2.0]),
        ],
    ).expand(TrainConfig)
    assert runs[0].concrete_name == "s__lr=0.1__warmup=null__alpha=2.0"
    runs = Sweep(
        name="s",
        axes=[
            SweepAxis(path="optimizer.lr", values=[0.1]),
            SweepAxis(path="warmup.lr", values=[0.3]),
        ],
        base={"warmup": {}},
    ).expand(TrainConfig)
    assert runs[0].concrete_name == "s__optimizer.lr=0.1__warmup.lr=0.3"


def test_sweep_file_with_base_file(tmp_path: Path) -> None:
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "base.toml").write_text('epochs = 4\n[model]\ntype = "lasso"\n')
    path = tmp_path / "sweep.toml"
    path.write_text(
        'name = "file-sweep"\nbase = "configs/base.toml"\nmax_workers = "auto"\n'
        'description = "from a file"\nresults_root = "out"\n'
        '[overrides]\n"optimizer.schedule" = "cosine"\n'
        '[[axes]]\npath = "model.alpha"\nvalues = [0.2, 0.4]\n'
    )
    sweep = load_sweep(path)
    assert sweep.max_workers == "auto" and sweep.description == "from a file"
    assert sweep.results_root == str(tmp_path / "out")
    assert sweep.base == str(tmp_path / "configs" / "base.toml")
    runs = expand_sweep_file(path, TrainConfig)
    assert [r.config.model for r in runs] == [Lasso(alpha=0.2), Lasso(alpha=0.4)]
    assert all(r.config.epochs == 4 and r.source == str(path) for r in runs)


# -- every bad override is a ConfigError before anything runs ---------------------------


def expect_error(sweep_kwargs: dict[str, Any], key: str | None, words: str) -> ConfigError:
    with pytest.raises(ConfigError, match=words) as info:
        Sweep(name="bad", **sweep_kwargs).expand(TrainConfig, source="sweep.toml")
    if key is not None:
        assert info.value.key == key, str(info.value)
    return info.value


@pytest.mark.parametrize(
    ("axis_path", "values", "key", "words"),
    [
        # paths that do not exist in the config type
        ("learning_rate", [0.1], "learning_rate", r"TrainConfig has no field 'learning_rate'"),
        ("model.alhpa", [0.1], "model.alhpa", r"'model' \(Ridge\) has no field 'alhpa'"),
        ("optimizer.lr.value", [1], "optimizer.lr.value", r"'optimizer.lr' is a float"),
        ("epochs.x", [1], "epochs.x", r"'epochs' is an int"),
        ("layers.5", [1], "layers.5", r"list of 2 item\(s\); '5' is not an index"),
        ("layers.first", [1], "layers.first", r"'first' is not an index"),
        ("warmup.lr", [0.1], "warmup.lr", r"'warmup' is null in the config"),
        # values of the wrong type, constraints and __post_init__ checks
        ("model.alpha", [0.1, "big"], "model.alpha", r"axes\[0\] value 1 sets 'model.alpha'"),
        ("model.alpha", [-1.0], "model.alpha", r"Expected `float` > 0.0"),
        ("epochs", [3, 0], "epochs", r"must be at least 1"),
        ("epochs", [2.5], "epochs", r"Expected `int`, got `float`"),
        ("optimizer.schedule", ["linear"], "optimizer.schedule", r"'constant', 'cosine'"),
        ("model.type", ["svm"], "model.type", r"Invalid value 'svm'"),
        ("model", [{"alpha": 2.0}], "model", r"missing required field `type`.*replaces the whole"),
        ("model", [{"type": "ridge", "max_iter": 3}], "model.max_iter", r"unknown key"),
        ("tags", [["a"]], "tags", r"Expected `object`, got `array`"),
        ("layers", [[1, None]], "layers.1", r"Expected `int`, got `null`"),
    ],
)
def test_bad_axis_paths_and_values(axis_path: str, values: list[Any], key: str, words: str) -> None:
    error = expect_error({"axes": [SweepAxis(path=axis_path, values=values)]}, key, words)
    assert error.source == "sweep.toml"


@pytest.mark.parametrize(
    ("overrides", "key", "words"),
    [
        (
            {"optimizer.momentum": 0.9},
            "optimizer.momentum",
            r"overrides.optimizer.momentum: the path",
        ),
        ({"epochs": "ten"}, "epochs", r"overrides.epochs sets 'epochs' = 'ten'"),
        (
            {"model": {"type": "lasso"}, "model.fit_intercept": False},
            "model.fit_intercept",
            r"Lasso",
        ),
    ],
)
def test_bad_fixed_overrides(overrides: dict[str, Any], key: str, words: str) -> None:
    expect_error({"overrides": overrides, "axes": [SweepAxis(path="seed", values=[1])]}, key, words)
    expect_error({"overrides": overrides}, key, words)  # without axes too


@pytest.mark.parametrize(
    ("build", "key", "words"),
    [
        (lambda: SweepAxis(path="", values=[1]), "path", r"the path is empty"),
        (lambda: SweepAxis(path="model..alpha", values=[1]), "path", r"empty segment"),
        (lambda: SweepAxis(path=" seed", values=[1]), "path", r"surrounding spaces"),
        (lambda: SweepAxis(path="seed", values=[]), "values", r"at least one value"),
        (lambda: SweepAxis(path="seed", values=[1, 2, 1]), "values.2", r"appears twice"),
        (lambda: SweepAxis(path="x", values=[float("nan")]), "values.0", r"NaN"),
        (lambda: SweepAxis(path="x", values=[{1, 2}]), "values.0", r"no order"),
        (
            lambda: Sweep(name="s", axes=[SweepAxis(path="seed", values=[1])] * 2),
            "axes.1.path",
            r"overlaps axis 0",
        ),
        (
            lambda: Sweep(
                name="s",
                axes=[
                    SweepAxis(path="model.alpha", values=[1.0]),
                    SweepAxis(path="model", values=[{"type": "ridge"}]),
                ],
            ),
            "axes.1.path",
            r"overlaps axis 0",
        ),
        (
            lambda: Sweep(
                name="s",
                overrides={"model.alpha": 2.0},
                axes=[SweepAxis(path="model", values=[{"type": "ridge"}])],
            ),
            "axes.0.path",
            r"would replace the fixed override 'model.alpha'",
        ),
        (
            lambda: Sweep(
                name="s",
                overrides={"seed": 2},
                axes=[SweepAxis(path="seed", values=[1])],
            ),
            "axes.0.path",
            r"would replace the fixed override 'seed'",
        ),
        (
            lambda: Sweep(name="s", overrides={"model.alpha": 2.0, "model": {"type": "lasso"}}),
            "overrides.model",
            r"would replace the earlier override 'model.alpha'",
        ),
        (lambda: Sweep(name="s", overrides={"a..b": 1}), "overrides.a..b", r"empty segment"),
        (lambda: Sweep(name=""), "name", r"non-empty name"),
        (lambda: Sweep(name="a/b"), "name", r"must not contain '/'"),
        (lambda: Sweep(name=".."), "name", r"'\.\.'"),
        (lambda: Sweep(name="s", max_workers=0), "max_workers", r"positive int or 'auto'"),
        (lambda: Sweep(name="s", max_workers="many"), "max_workers", r"positive int or 'auto'"),
        (lambda: Sweep(name="s", schema_version=99), "schema_version", r"newer than this capsa"),
    ],
)
def test_malformed_sweeps_and_axes(build: Any, key: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words) as info:
        build()
    assert info.value.key == key


def test_two_runs_with_the_same_config_are_refused() -> None:
    error = expect_error(
        {"axes": [SweepAxis(path="model.alpha", values=[1, 1.0])]}, "axes", r"same config"
    )
    assert "bad__alpha=1" in str(error) and "bad__alpha=1.0" in str(error)


def test_bad_base_configs() -> None:
    expect_error({"base": {"epochs": "x"}}, "base.epochs", r"Expected `int`")
    expect_error({"base": 42}, "base", r"expected a table, a TOML path")
    expect_error({"base": "missing/base.toml"}, None, r"does not exist")


def test_sweep_file_errors_name_the_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "sweep.toml"
    cases = [
        ('name = "s"\n[[axes]]\npath = "seed"\nvalues = []\n', "axes.0.values", "at least one"),
        ('name = "s"\n[[axes]]\npath = "seed"\nvalue = [1]\n', "axes.0.value", "unknown key"),
        ('name = "s"\nmax_workers = -2\n', "max_workers", "positive int"),
        ("max_workers = 2\n", None, "missing required field `name`"),
        ('name = "s"\naxes = [{path = "seed", values = [nan]}]\n', "axes.0.values.0", "NaN"),
    ]
    for text, key, words in cases:
        path.write_text(text)
        with pytest.raises(ConfigError, match=words) as info:
            load_sweep(path)
        assert info.value.source == str(path)
        assert info.value.key == key, str(info.value)
    path.write_text('name = "s"\n[[axes]]\npath = "model.alpha"\nvalues = [1.0, "x"]\n')
    with pytest.raises(ConfigError, match=r"axes\[0\] value 1") as info:
        expand_sweep_file(path, TrainConfig)
    assert info.value.source == str(path) and info.value.key == "model.alpha"


def test_registry_style_fixed_overrides_cannot_be_replaced_by_an_axis() -> None:
    from capsa.experiments.overrides import Override

    sweep = Sweep(name="s", axes=[SweepAxis(path="model", values=[{"type": "ridge"}])])
    with pytest.raises(ConfigError, match=r"would replace models.lasso sets 'model.alpha'"):
        expand_sweep(sweep, TrainConfig, fixed=[Override("model.alpha", 1.0, "models.lasso")])


@dataclasses.dataclass
class Inner:
    depth: int = 2


@dataclasses.dataclass
class Plain:
    inner: Inner = dataclasses.field(default_factory=Inner)
    name: str = "x"


def test_dataclass_configs_work_too() -> None:
    runs = Sweep(name="dc", axes=[SweepAxis(path="inner.depth", values=[3, 4])]).expand(Plain)
    assert [r.config for r in runs] == [Plain(Inner(3)), Plain(Inner(4))]
    assert runs[0].fingerprint == stable_fingerprint({"inner": {"depth": 3}, "name": "x"})
    with pytest.raises(ConfigError, match=r"'inner' \(Inner\) has no field 'width'"):
        Sweep(name="dc", axes=[SweepAxis(path="inner.width", values=[1])]).expand(Plain)
