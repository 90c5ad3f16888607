"""Configs from TOML: tagged unions, __post_init__ checks, ConfigError naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from experiments_helpers import Lasso, Ridge, TrainConfig

from capsa.errors import ConfigError
from capsa.experiments.configs import (
    config_from_table,
    dotted_key,
    import_object,
    load_config_file,
    serialise_config,
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_toml_config_with_a_tagged_union(tmp_path: Path) -> None:
    path = write(
        tmp_path / "train.toml",
        'epochs = 5\nlayers = [16, 8]\n[model]\ntype = "lasso"\nalpha = 0.3\n'
        '[optimizer]\nlr = 0.5\nschedule = "cosine"\n',
    )
    config = load_config_file(path, TrainConfig)
    assert config.model == Lasso(alpha=0.3)
    assert (config.epochs, config.layers, config.optimizer.schedule) == (5, [16, 8], "cosine")
    default = load_config_file(write(tmp_path / "empty.toml", ""), TrainConfig)
    assert default.model == Ridge()


def test_a_sub_table_can_be_decoded(tmp_path: Path) -> None:
    path = write(tmp_path / "all.toml", "[experiment.train]\nepochs = 2\n[other]\nx = 1\n")
    assert load_config_file(path, TrainConfig, table="experiment.train").epochs == 2
    with pytest.raises(ConfigError, match=r"table not found") as info:
        load_config_file(path, TrainConfig, table="experiment.eval")
    assert info.value.key == "experiment.eval" and info.value.source == str(path)


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("epochs = 'many'\n", "epochs", r"Expected `int`, got `str`"),
        ("[optimizer]\nlr = true\n", "optimizer.lr", r"Expected `float`, got `bool`"),
        ("[optimizer]\nschedule = 'linear'\n", "optimizer.schedule", r"'constant', 'cosine'"),
        ("[model]\ntype = 'svm'\n", "model.type", r"Invalid value 'svm'"),
        ("[model]\nalpha = 1.0\n", "model", r"missing required field `type`"),
        ("[model]\ntype = 'ridge'\nalpha = -1.0\n", "model.alpha", r">= 0|> 0"),
        ("[model]\ntype = 'ridge'\nalhpa = 1.0\n", "model.alhpa", r"unknown key"),
        ("epoch = 3\n", "epoch", r"unknown key"),
        ("layers = [1, 'x']\n", "layers.1", r"Expected `int`, got `str`"),
        ("epochs = 0\n", "epochs", r"must be at least 1"),  # from __post_init__
        ("[tags]\na = 1\n", "tags", r"Expected `str`, got `int`"),
    ],
)
def test_bad_config_values_name_file_and_dotted_key(
    tmp_path: Path, text: str, key: str, words: str
) -> None:
    path = write(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError, match=words) as info:
        load_config_file(path, TrainConfig)
    assert info.value.source == str(path)
    assert info.value.key is not None and info.value.key.startswith(key)
    assert str(info.value).startswith(f"{path}: key {info.value.key!r}: ")
    assert isinstance(info.value, ValueError)


def test_missing_file_and_bad_toml_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not exist") as info:
        load_config_file(tmp_path / "nope.toml", TrainConfig)
    assert info.value.source == str(tmp_path / "nope.toml")
    bad = write(tmp_path / "bad.toml", "epochs = = 3\n")
    with pytest.raises(ConfigError, match=r"invalid TOML") as info:
        load_config_file(bad, TrainConfig)
    assert info.value.source == str(bad)


def test_prefix_is_prepended_to_keys() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_table({"epochs": "x"}, TrainConfig, source="reg.toml", prefix="experiments.a")
    assert info.value.key == "experiments.a.epochs"


def test_dotted_key_translation() -> None:
    assert dotted_key("$.a.b[0].c") == "a.b.0.c"
    assert dotted_key(".x") == "x"
    assert dotted_key("$") == ""


def test_serialise_config_is_the_canonical_mapping() -> None:
    config = TrainConfig(model=Lasso(alpha=0.2), epochs=4)
    tree = serialise_config(config)
    assert tree["model"] == {"type": "lasso", "alpha": 0.2, "max_iter": 100}
    assert tree["epochs"] == 4 and tree["warmup"] is None
    with pytest.raises(ConfigError, match=r"NaN"):
        serialise_config(TrainConfig(model=Ridge(alpha=float("nan"))))
    with pytest.raises(ConfigError, match=r"must be a table"):
        serialise_config([1, 2])


def test_import_object_errors() -> None:
    assert import_object("experiments_helpers:TrainConfig", source="s", key="k") is TrainConfig
    for ref, words in [
        ("no_colon", r"expected 'package.module:name'"),
        ("a:b:c", r"expected 'package.module:name'"),
        ("no_such_module_xyz:Thing", r"cannot import 'no_such_module_xyz'"),
        ("experiments_helpers:Nope", r"has no attribute 'Nope'"),
    ]:
        with pytest.raises(ConfigError, match=words) as info:
            import_object(ref, source="registry.toml", key="config_type")
        assert info.value.key == "config_type" and info.value.source == "registry.toml"
