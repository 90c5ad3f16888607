"""Data builders and probes shared by the capsa-optim tests."""

from __future__ import annotations

from typing import Any

import numpy as np
from capsa_optim import IndexMap


def layout() -> IndexMap:
    """A small seed-like θ layout (D = 12)."""
    return IndexMap.from_shapes(
        [
            ("binary.x_position_as", (1,), "astrometry"),
            ("binary.y_position_as", (1,), "astrometry"),
            ("system.plate_scale", (1,), "system"),
            ("primary.zernike_coeffs_nm", (9,), "primary.zernikes"),
        ]
    )


def make_trace(steps: int = 40, dim: int = 12, seed: int = 0, **extra: Any) -> dict[str, Any]:
    """A trace with a decreasing-ish loss, a random walk θ and the generic channels."""
    rng = np.random.default_rng(seed)
    theta = np.cumsum(rng.normal(size=(steps, dim)), axis=0)
    loss = np.exp(-np.arange(steps) / 7.0) + 0.01 * rng.random(steps)
    return {
        "loss": loss,
        "theta": theta,
        "grad_norm": rng.random(steps),
        "step_norm": rng.random(steps),
        **extra,
    }


def make_meta(dim: int = 12, *, index_map: IndexMap | None = None, **extra: Any) -> dict[str, Any]:
    """A meta mapping for a trace of dimension ``dim``."""
    theta: dict[str, Any] = {"dim": dim, "theta_space": "primitive"}
    if index_map is not None:
        theta["index_map"] = index_map
    return {
        "theta": theta,
        "objective": {"name": "nll", "data_ids": {"frames": "sha256:abc"}},
        "optimizer": {"name": "simple_gd", "num_steps": 100, "base_lr": 0.1},
        **extra,
    }


def run_url(root: str, name: str) -> str:
    """``root/name`` for a path or a URL root."""
    return f"{root.rstrip('/')}/{name}"


def all_object_keys(store: Any) -> list[str]:
    """Every object in a store's backend, staging debris excluded."""
    return [i.key for i in store.backend.list("") if not i.key.startswith(".capsa/")]


class ByteCounter:
    """Counts the bytes a backend returns from ``get``, ``get_range`` and opened readers."""

    def __init__(self, backend: Any):
        self.bytes = 0
        get, get_range, open_reader = backend.get, backend.get_range, backend.open_reader

        def counted_get(key: str) -> bytes:
            data: bytes = get(key)
            self.bytes += len(data)
            return data

        def counted_range(key: str, start: int, end: int) -> bytes:
            data: bytes = get_range(key, start, end)
            self.bytes += len(data)
            return data

        counter = self

        def counted_open(key: str) -> Any:
            fh = open_reader(key)
            read = fh.read

            def counted_read(*args: Any) -> bytes:
                data: bytes = read(*args)
                counter.bytes += len(data)
                return data

            fh.read = counted_read
            return fh

        backend.get, backend.get_range, backend.open_reader = (
            counted_get,
            counted_range,
            counted_open,
        )
