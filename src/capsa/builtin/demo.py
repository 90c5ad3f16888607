"""The core's contribution to ``capsa demo``: metrics, a log and a run bundle."""

from __future__ import annotations

import platform
from collections.abc import Callable

from capsa.cli.demo import DemoArtifact
from capsa.markers import hookimpl


def _metrics() -> dict[str, object]:
    return {"loss": 0.0421, "accuracy": 0.9473, "epochs": 12, "lr": 0.001}


def _bundle() -> dict[str, object]:
    return {
        "config.json": {"model": "ridge", "alpha": 0.5, "seed": 7},
        "events.jsonl": [{"step": i, "loss": round(1.0 / (i + 1), 4)} for i in range(5)],
        "README.md": "# demo run\n\nSaved by `capsa demo`.\n",
    }


@hookimpl
def capsa_demo_artifacts(register: Callable[[DemoArtifact], None]) -> None:
    """Register the core demo artifacts."""
    register(DemoArtifact("demo/metrics", "json", _metrics, "metrics as one JSON document"))
    register(
        DemoArtifact(
            "demo/log",
            "text",
            lambda: f"demo run on Python {platform.python_version()}\n",
            "a text log",
        )
    )
    register(DemoArtifact("demo/run", "bundle", _bundle, "config, events and notes in one commit"))
