"""Benchmarks of capsa-dimred's runs inventory against the seed's rewrite-the-JSON upsert.

The seed's ``update_runs`` loads the JSON list, replaces or appends the
record, sorts, and writes the whole list back (``json.dumps(indent=2)``, no
lock, no fsync: concurrent writers lose records). capsa-dimred's writes the
same bytes, but through a version chain of create-only puts (fsynced), so
no concurrent upsert is lost, and it re-encodes only the new record.

For inventories of 1k and 10k records, the time of ``UPSERTS`` upserts of
new records (each side starting from the same inventory) is compared:

1. ``update_runs(..., mirror=False)``: the inventory alone;
2. ``update_runs(...)``: plus the ``dimred.run`` artifact each upsert commits
   for catalogs.

``ratio`` = baseline_s / capsa_s (higher is better). Run with
``python bench/run.py dimred``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from common import throughput_row as _row
from common import timed as _time

UPSERTS = 20
REPEATS = 2
KEYS = ("scope", "condition", "unit", "method", "n_components")


def _record(i: int) -> dict[str, Any]:
    return {
        "scope": "subject",
        "condition": f"c{i % 17}",
        "unit": "all",
        "method": "pca",
        "n_components": i,
        "artifact_stem": f"pca_{i}",
        "artifact_path": f"fits/pca_{i}",
        "trustworthiness": 0.9,
        "continuity": 0.95,
        "knn_preservation": float("nan"),
        "status": "success",
        "error": None,
    }


def _order(record: dict[str, Any]) -> tuple[Any, ...]:
    """capsa-dimred's order for these records (the seed sorts by str(), so 10 < 2)."""
    return tuple(record[f] for f in KEYS)


def seed_update_runs(path: Path, record: dict[str, Any], key_fields: tuple[str, ...]) -> None:
    """The seed's upsert as its documentation describes it."""
    runs = json.loads(path.read_text()) if path.exists() else []
    key = tuple(record[f] for f in key_fields)
    runs = [r for r in runs if tuple(r.get(f) for f in key_fields) != key]
    runs.append(record)
    runs.sort(key=lambda r: tuple(str(r.get(f, "")) for f in key_fields))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(runs, indent=2))


def run(workdir: Path) -> list[dict[str, Any]]:
    """Run the inventory benchmarks in ``workdir``."""
    from capsa_dimred import update_runs

    workdir = Path(workdir)
    rows: list[dict[str, Any]] = []
    for size in (1_000, 10_000):
        base = [_record(i) for i in range(size)]
        for mirror in (False, True):
            base_s, capsa_s = [], []
            for rep in range(REPEATS):
                seed_path = workdir / f"seed-{size}-{mirror}-{rep}" / "fit_runs.json"
                seed_path.parent.mkdir(parents=True)
                seed_path.write_text(json.dumps(base, indent=2))
                capsa_path = workdir / f"capsa-{size}-{mirror}-{rep}" / "fit_runs.json"
                capsa_path.parent.mkdir(parents=True)
                capsa_path.write_text(json.dumps(base, indent=2))  # a seed file to start from
                update_runs(capsa_path, base[0], KEYS, mirror=False)  # adopted as version 0
                assert len(json.loads(capsa_path.read_text())) == size
                new = [_record(size + i) for i in range(UPSERTS)]

                def seed_side(path: Path = seed_path, new: list[dict[str, Any]] = new) -> None:
                    for rec in new:
                        seed_update_runs(path, rec, KEYS)

                def capsa_side(
                    path: Path = capsa_path, new: list[dict[str, Any]] = new, m: bool = mirror
                ) -> None:
                    for rec in new:
                        update_runs(path, rec, KEYS, mirror=m)

                base_s.append(_time(seed_side) / UPSERTS)
                capsa_s.append(_time(capsa_side) / UPSERTS)
                assert (
                    capsa_path.read_bytes()
                    == json.dumps(
                        sorted(json.loads(seed_path.read_text()), key=_order), indent=2
                    ).encode()
                ), "both sides must hold the same records"
                shutil.rmtree(seed_path.parent)
                shutil.rmtree(capsa_path.parent)
            what = "+ dimred.run artifact" if mirror else "inventory only"
            rows.append(
                _row(
                    f"dimred upsert, {size // 1000}k records ({what})",
                    "seed: load, upsert, sort, dump",
                    base_s,
                    capsa_s,
                    0.5 if mirror else 1.0,
                )
            )
    return rows
