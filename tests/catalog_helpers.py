"""Helpers for the catalog tests: experiment runs saved directly, and memory catalogs."""

from __future__ import annotations

import hashlib
from typing import Any

from capsa.store.artifact import ArtifactRef
from capsa.store.store import Store


def fingerprint(name: str) -> str:
    """A stable fake config fingerprint."""
    return hashlib.sha256(name.encode()).hexdigest()


def save_run(
    store: Store,
    key: str,
    *,
    loss: float,
    status: str = "success",
    model: str = "ridge",
    extra: dict[str, Any] | None = None,
    by_reference: bool = False,
) -> ArtifactRef:
    """Save an ``experiment.run`` artifact the way the runner records one."""
    metrics = {"loss": loss, "converged": loss < 0.6, "optimizer": "adam", **dict(extra or {})}
    return store.save(
        key,
        "experiment.run",
        {
            "config.json": {"alpha": loss},
            "environment.json": {"python": "3"},
            "status.json": {"status": status},
            "run.log": f"loss {loss}\n",
            "dataset_manifest.json": {"inputs": []},
            "metrics.json": {"metrics": metrics},
            "model.bin": b"weights-" + model.encode(),
        },
        meta={
            "experiment": key.split("/")[0],
            "concrete_name": key.replace("/", "__"),
            "fingerprint": fingerprint(key),
            "attempt": 1,
            "status": status,
            "groups": ["smoke"],
            "model": model,
            "duration_seconds": 0.25,
            "metrics": metrics,
        },
        by_reference=["model.bin"] if by_reference else False,
    )
