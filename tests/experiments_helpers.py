"""Config types and steps shared by the experiments tests (importable by worker processes)."""

from __future__ import annotations

import logging
import os
from typing import Annotated, Any, Literal

import msgspec

from capsa.errors import ConfigError
from capsa.experiments.context import RunContext


class Ridge(msgspec.Struct, tag="ridge", tag_field="type", forbid_unknown_fields=True):
    """A ridge model."""

    alpha: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    fit_intercept: bool = True


class Lasso(msgspec.Struct, tag="lasso", tag_field="type", forbid_unknown_fields=True):
    """A lasso model."""

    alpha: float = 0.1
    max_iter: int = 100


class Optimizer(msgspec.Struct, forbid_unknown_fields=True):
    """Optimizer settings."""

    lr: float = 0.01
    schedule: Literal["constant", "cosine"] = "constant"


class TrainConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The config type the tests sweep over."""

    model: Ridge | Lasso = msgspec.field(default_factory=Ridge)
    optimizer: Optimizer = msgspec.field(default_factory=Optimizer)
    epochs: int = 3
    seed: int = 0
    tags: dict[str, str] = msgspec.field(default_factory=dict)
    layers: list[int] = msgspec.field(default_factory=lambda: [8, 4])
    warmup: Optimizer | None = None
    fail: bool = False
    partial: bool = False

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ConfigError("must be at least 1", key="epochs")


def score(config: TrainConfig) -> float:
    """A deterministic fake metric."""
    return round(config.model.alpha * 10 + config.optimizer.lr + config.epochs, 6)


def train(ctx: RunContext[TrainConfig]) -> dict[str, Any]:
    """A step: logs, writes predictions and an extra file, fails or ends partial on demand."""
    config = ctx.config
    ctx.log(f"alpha={config.model.alpha}")
    logging.getLogger("experiments_helpers").warning("root-logger warning from the step")
    if config.fail:
        raise RuntimeError(f"boom at alpha={config.model.alpha}")
    ctx.write_predictions([{"id": i, "score": i * config.model.alpha} for i in range(3)])
    ctx.write("weights.json", {"w": list(config.layers)})
    if config.partial:
        ctx.mark_partial("no test split")
    return {"score": score(config), "epochs": config.epochs, "pid": os.getpid()}
