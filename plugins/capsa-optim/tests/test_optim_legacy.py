"""Importing a run folder written by the seed's own code (no _SUCCESS)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from capsa_optim import RunArtifacts, import_legacy_run
from test_optim_schema import SEED_META

from capsa.errors import ArtifactNotFoundError, IntegrityError


def write_seed_run(folder: Path) -> dict[str, np.ndarray]:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    trace = {"loss": np.linspace(1, 0, 20), "theta": rng.normal(size=(20, 12))}
    np.savez(folder / "trace.npz", **trace)
    (folder / "meta.json").write_text(json.dumps(SEED_META))
    (folder / "summary.json").write_text(
        json.dumps(
            {
                "run_id": "run-0042",
                "status": "ok",
                "loss_final": 0.0,
                "has_precond": True,
                "has_signals": False,
            }
        )
    )
    np.savez(
        folder / "checkpoint_best.npz", theta_best=trace["theta"][-1], best_step=19, best_loss=0.0
    )
    np.savez(folder / "signals.npz", **{"binary.x_error_uas": np.arange(20.0)})
    (folder / "diag_steps.jsonl").write_text('{"step": 0, "lr": 0.3}\n{"step": 10, "lr": 0.3}\n')
    return trace


def test_seed_folder_is_imported_as_a_checked_run(tmp_path: Path) -> None:
    trace = write_seed_run(tmp_path / "old" / "run-0042")
    import_legacy_run(tmp_path / "old" / "run-0042", "runs/run-0042")
    run = RunArtifacts("runs/run-0042")
    np.testing.assert_array_equal(run.trace.theta, trace["theta"])
    assert run.meta.run_id == "run-0042" and run.meta.theta.theta_space == "eigen"
    summary = run.summary
    assert summary.has_precond is False  # recomputed, not trusted
    assert summary.has_checkpoint_best and summary.has_signals and summary.has_diag_steps
    assert run.checkpoint("best").step == 19
    assert run.signals is not None and run.signals["binary.x_error_uas"].unit == "uas"


def test_not_a_seed_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtifactNotFoundError, match=r"no trace.npz"):
        import_legacy_run(tmp_path / "empty", "runs/x")
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "trace.npz").write_bytes(b"not a zip")
    (folder / "meta.json").write_text("{}")
    with pytest.raises(IntegrityError, match=r"not a readable npz"):
        import_legacy_run(folder, "runs/y")
    np.savez(folder / "trace.npz", loss=np.zeros(2), theta=np.zeros((2, 2)))
    (folder / "meta.json").write_text("{oops")
    with pytest.raises(IntegrityError, match=r"not a readable JSON"):
        import_legacy_run(folder, "runs/y")
