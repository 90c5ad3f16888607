"""Concurrent writers in several processes lose no catalog record (SQLite WAL)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from core_helpers import subprocess_env

import capsa
from capsa.catalog import open_catalog

HERE = Path(__file__).resolve().parent
WORKERS = 8
COMMITS = 200


def test_eight_processes_by_two_hundred_commits_lose_no_record(tmp_path: Path) -> None:
    root = str(tmp_path / "store")
    store = capsa.open_store(root)
    catalog = open_catalog(store)
    catalog.enable()
    procs = [
        subprocess.Popen(
            [sys.executable, str(HERE / "catalog_writer.py"), root, str(w), str(COMMITS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(),
        )
        for w in range(WORKERS)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0 and out.strip() == "done", err
    rows = catalog.query()
    assert len(rows) == WORKERS * COMMITS
    assert {row.key for row in rows} == {
        f"w{w}/c{i:04d}" for w in range(WORKERS) for i in range(COMMITS)
    }
    assert all(row.status == "success" for row in rows)
    recorded = [(r.key, r.txid, r.created_at) for r in rows]
    catalog.reindex(store)
    assert [(r.key, r.txid, r.created_at) for r in catalog.query()] == recorded
