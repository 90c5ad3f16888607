"""``capsa demo`` end to end: a local folder and loopback S3, switched by one config line.

See :mod:`e2e_scenario` for the steps. These tests hold the product's main
promise: the same commands give the same artifacts, byte for byte, on any
backend, and gc takes exactly the garbage.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from capsa_cloud.servers import LoopbackS3
from e2e_scenario import both, write_config

EVERY_KIND = {
    "dimred.fit",
    "dimred.eval",
    "optim.run",
    "optim.plots",
    "optim.experiment",
    "table",
    "table.tsv",
    "zarr.array",
    "arrays",
    "exports",
    "step.artifacts",
    "bundle",
    "json",
    "text",
}


@pytest.fixture(scope="module")
def inventories(
    seaweedfs: LoopbackS3, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], dict[str, Any], str]:
    project = tmp_path_factory.mktemp("project")
    return both(project, seaweedfs.url("e2e"), seaweedfs.options)


def test_switching_the_store_is_one_config_line(inventories: tuple[Any, Any, str]) -> None:
    _, _, diff = inventories
    assert diff == '-store = "local"\n+store = "s3"\n'


def test_local_and_s3_inventories_match(inventories: tuple[Any, Any, str]) -> None:
    local, remote, _ = inventories
    if local != remote:
        a = json.dumps(local, indent=1, sort_keys=True).splitlines()
        b = json.dumps(remote, indent=1, sort_keys=True).splitlines()
        import difflib

        pytest.fail("inventories differ:\n" + "\n".join(difflib.unified_diff(a, b, n=2)))


def test_every_kind_is_written_listed_verified_and_reloaded(
    inventories: tuple[Any, Any, str],
) -> None:
    for inventory in inventories[:2]:
        demo = inventory["demo"]
        saved = {row["key"]: row for row in demo["inventory"]}
        assert {row["kind"] for row in saved.values()} >= EVERY_KIND
        assert demo["verify_ok"] and demo["mode"] == "development"
        assert sorted(demo["listed"]) == sorted(saved) == sorted(demo["reloaded"])
        assert sorted(k for k, _, _ in inventory["ls"]) == sorted(saved)
        assert inventory["verify"]["problems"] == []
        assert inventory["verify"]["artifacts"] == len(saved)
        assert inventory["verify"]["members"] == sum(len(r["members"]) for r in saved.values())
        # Hashes are compared for every member whose bytes do not record wall-clock time.
        hashed = [m for r in saved.values() for m in r["members"] if "sha256" in m]
        assert len(hashed) > 0.7 * inventory["verify"]["members"]


def test_deduplicated_objects_and_exports(inventories: tuple[Any, Any, str]) -> None:
    for inventory in inventories[:2]:
        demo = inventory["demo"]
        saved = {row["key"]: row for row in demo["inventory"]}
        # Two model versions, one object; the step's artifact is stored by reference too.
        weights = [
            m["object"]
            for key in ("demo/models/ridge-v1", "demo/models/ridge-v2")
            for m in saved[key]["members"]
            if m["file"] == "weights.bin"
        ]
        assert len(weights) == 2 and weights[0] == weights[1]
        assert demo["objects"] == {
            "references": 3,
            "distinct": 2,
            "referenced_bytes": demo["objects"]["referenced_bytes"],
        }
        exports = saved["exports/demo"]
        assert {m["file"] for m in exports["members"]} == {"report.md", "scaler_summary.csv"}
        assert not any(m["by_reference"] for m in exports["members"])
        assert all(m["by_reference"] for m in saved["artifacts/demo"]["members"])


def test_gc_takes_the_garbage_and_nothing_else(inventories: tuple[Any, Any, str]) -> None:
    for inventory in inventories[:2]:
        # With everything live, gc (no grace period) only finds the expired pins of the
        # by-reference saves; every artifact still reloads verified afterwards.
        assert inventory["gc_with_everything_live"] == {"pins": 3}
        assert sorted(inventory["reloaded_after_gc"]) == sorted(inventory["demo"]["listed"])
        assert inventory["verify_after_gc"] == {
            "ok": True,
            "artifacts": len(inventory["demo"]["listed"]),
        }
        # Once every artifact is deleted, gc collects the two content-addressed objects
        # and the store root is empty.
        assert inventory["gc_after_delete"] == {"objects": 2}
        assert inventory["left_in_root"] == []
        assert inventory["listed_after_delete"] == []


def test_demo_on_a_missing_bucket_fails_cleanly(seaweedfs: LoopbackS3, tmp_path: Path) -> None:
    options = dict(seaweedfs.options, max_retries=0)
    config = write_config(
        tmp_path, {"url": "s3://no-such-bucket/e2e", "options": options}, store="s3"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "capsa", "demo", "--session", "e2e"],
        cwd=config.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 5, proc.stderr
    assert "no-such-bucket" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "capsa-store").exists()  # nothing went to the local store
