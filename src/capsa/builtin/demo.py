"""The core's contribution to ``capsa demo``: metrics, a log, a run bundle, two model versions.

The two model versions hold the same weights, stored by reference: the store
keeps the bytes once, as one content-addressed object both manifests name.
"""

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


def _weights() -> bytes:
    """1 MiB of deterministic "model weights" (the same bytes on every run)."""
    import hashlib

    block = b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(1024))
    return block * 32


def _model(version: int) -> Callable[[], dict[str, object]]:
    def make() -> dict[str, object]:
        return {
            "weights.bin": _weights(),
            "params.json": {"model": "ridge", "alpha": 0.5, "version": version},
        }

    return make


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
    for version in (1, 2):
        register(
            DemoArtifact(
                f"demo/models/ridge-v{version}",
                "bundle",
                _model(version),
                "model weights stored by reference (both versions share one object)",
                by_reference=("weights.bin",),
            )
        )
