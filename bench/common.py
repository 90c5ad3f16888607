"""Helpers shared by the benchmark modules (timing and result rows)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def timed(fn: Callable[[], Any]) -> float:
    """Seconds taken by one call of ``fn``."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def throughput_row(
    name: str, baseline: str, base: list[float], capsa: list[float], target: float
) -> dict[str, Any]:
    """A result row comparing best-of-N times; ratio = baseline time / capsa time."""
    b, c = min(base), min(capsa)
    return {
        "name": name,
        "baseline": baseline,
        "baseline_s": round(b, 4),
        "capsa_s": round(c, 4),
        "ratio": round(b / c, 3),
        "target": target,
        "higher_is_better": True,
    }
