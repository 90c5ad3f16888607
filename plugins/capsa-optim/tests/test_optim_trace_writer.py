"""TraceWriter: streamed steps, npz or zarr storage, checkpoints on the fly, atomicity."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from capsa_optim import (
    RunArtifacts,
    TraceWriter,
    load_checkpoint,
    load_diag_steps,
    load_grads,
    load_summary,
    load_trace,
    locate_run,
)
from capsa_optim import trace_writer as tw_module
from optim_helpers import ByteCounter, all_object_keys, make_meta

from capsa.errors import ArtifactExistsError, ArtifactNotFoundError, CapsaError, ValidationError


def stream(writer: TraceWriter, steps: int, dim: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    loss = rng.random(steps) + np.linspace(2, 0, steps)
    theta = rng.normal(size=(steps, dim))
    gnorm = rng.random(steps)
    for t in range(steps):
        writer.append(loss=loss[t], theta=theta[t], grad_norm=gnorm[t])
    return {"loss": loss, "theta": theta, "grad_norm": gnorm}


def test_short_run_is_written_as_npz_with_checkpoints(root_url: str) -> None:
    run = f"{root_url}/short"
    with TraceWriter(run, meta=make_meta(dim=6)) as writer:
        data = stream(writer, 50, 6)
        writer.log_diag(10, lr=0.1)
        writer.log_grad(20, np.ones(6))
    summary = load_summary(run)
    assert summary.trace_storage == "npz" and summary.num_steps_completed == 50
    assert summary.has_checkpoint_best and summary.has_checkpoint_final
    assert summary.has_diag_steps and summary.has_grads
    assert summary.runtime_total_s is not None and summary.runtime_total_s >= 0
    trace = load_trace(run)
    for name, values in data.items():
        np.testing.assert_array_equal(trace[name], values)
    best = int(np.argmin(data["loss"]))
    ck = load_checkpoint(run, "best")
    assert ck.step == best == summary.best_step and ck.loss == data["loss"][best]
    np.testing.assert_array_equal(ck.theta, data["theta"][best])
    final = load_checkpoint(run, "final")
    assert final.step == 49 and final.loss == data["loss"][-1]
    np.testing.assert_array_equal(final.theta, data["theta"][-1])
    assert load_diag_steps(run) == [{"step": 10, "lr": 0.1}]
    assert load_grads(run)["step"].tolist() == [20]


def test_long_run_switches_to_zarr_and_matches(root_url: str) -> None:
    pytest.importorskip("capsa_zarr")
    run = f"{root_url}/long"
    with TraceWriter(run, meta=make_meta(dim=40), zarr_threshold_bytes=64 << 10) as writer:
        data = stream(writer, 3000, 40)
        assert writer.trace_storage == "zarr"
    run_h = RunArtifacts(run)
    assert run_h.summary.trace_storage == "zarr" and "trace.zarr" in run_h.members
    trace = run_h.trace
    for name, values in data.items():
        np.testing.assert_array_equal(np.asarray(trace[name][...]), values)
    np.testing.assert_array_equal(trace.theta[:, 7], data["theta"][:, 7])
    final = run_h.checkpoint("final")
    np.testing.assert_array_equal(final.theta, data["theta"][-1])
    assert run_h.verify() == []


def test_expected_steps_hint_starts_with_zarr(tmp_path: Path) -> None:
    pytest.importorskip("capsa_zarr")
    writer = TraceWriter("runs/hint", meta=make_meta(dim=4), expected_steps=10**7)
    writer.append(loss=1.0, theta=np.zeros(4))
    assert writer.trace_storage == "zarr"
    writer.close()
    assert load_summary("runs/hint").trace_storage == "zarr"


def test_column_of_a_long_trace_reads_little(tmp_path: Path) -> None:
    pytest.importorskip("capsa_zarr")
    steps, dim = 2000, 256
    location = locate_run(str(tmp_path / "runs" / "col"))
    with TraceWriter(
        location, meta=make_meta(dim=dim), storage="zarr", zarr_theta_chunks=(250, 32)
    ) as writer:
        data = stream(writer, steps, dim)
    counter = ByteCounter(location.store.backend)
    trace = load_trace(location)
    before = counter.bytes
    column = trace.theta[:, 100]
    column_bytes = counter.bytes - before
    np.testing.assert_array_equal(column, data["theta"][:, 100])
    before = counter.bytes
    np.asarray(trace.theta[...])
    full_bytes = counter.bytes - before
    assert full_bytes >= steps * dim * 8
    assert column_bytes <= full_bytes / 6


def test_without_zarr_long_runs_spill_to_disk_and_stay_npz(
    root_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tw_module, "zarr_available", lambda: False)
    run = f"{root_url}/spill"
    with TraceWriter(run, meta=make_meta(dim=16), zarr_threshold_bytes=16 << 10) as writer:
        data = stream(writer, 2000, 16)
        assert writer._mode == "spill"
        spill_dir = writer._spill_dir
        assert spill_dir is not None and spill_dir.exists()
    assert not spill_dir.exists()
    assert load_summary(run).trace_storage == "npz"
    np.testing.assert_array_equal(load_trace(run).theta, data["theta"])


def test_explicit_npz_never_uses_zarr(tmp_path: Path) -> None:
    with TraceWriter(
        "runs/npz", meta=make_meta(dim=8), storage="npz", zarr_threshold_bytes=1024
    ) as writer:
        stream(writer, 500, 8)
    assert load_summary("runs/npz").trace_storage == "npz"


def test_exception_leaves_no_run(root_url: str) -> None:
    location = locate_run(f"{root_url}/boom")
    writer = TraceWriter(location, meta=make_meta(dim=5), zarr_threshold_bytes=4096)
    with pytest.raises(RuntimeError, match=r"optimizer exploded"), writer:
        stream(writer, 300, 5)
        raise RuntimeError("optimizer exploded")
    with pytest.raises(ArtifactNotFoundError):
        load_summary(location)
    assert all_object_keys(location.store) == []
    with pytest.raises(CapsaError, match=r"aborted"):
        writer.append(loss=1.0, theta=np.zeros(5))


def test_bad_close_arguments_abort_the_run(root_url: str) -> None:
    location = locate_run(f"{root_url}/badclose")
    writer = TraceWriter(location, meta=make_meta(dim=3))
    writer.append(loss=1.0, theta=np.zeros(3))
    with pytest.raises(ValidationError, match=r"status must be one of"):
        writer.close(status="exploded")
    with pytest.raises(ArtifactNotFoundError):
        load_summary(location)


def test_killed_process_leaves_no_committed_run_and_gc_cleans(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os, numpy as np
        from capsa_optim import TraceWriter
        w = TraceWriter({str(tmp_path / "runs" / "killed")!r}, meta={{"theta": {{"dim": 64}}}},
                        zarr_threshold_bytes=32 << 10)
        for t in range(4000):
            w.append(loss=1.0 / (t + 1), theta=np.full(64, float(t)))
        assert w.trace_storage == "zarr"
        os._exit(3)   # killed mid-run: no close, no abort
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPSA_")}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert proc.returncode == 3, proc.stderr
    location = locate_run(str(tmp_path / "runs" / "killed"))
    with pytest.raises(ArtifactNotFoundError):
        load_trace(location)
    assert location.store.list() == []
    debris = location.store.gc(dry_run=True, older_than=0)
    assert debris.objects  # the chunks written before the kill
    location.store.gc(dry_run=False, older_than=0)
    assert [i.key for i in location.store.backend.list("")] == []


def test_production_run_taken_fails_before_any_step(tmp_path: Path) -> None:
    with TraceWriter("runs/taken", meta=make_meta(dim=2)) as writer:
        writer.append(loss=1.0, theta=np.zeros(2))
    with pytest.raises(ArtifactExistsError):
        TraceWriter("runs/taken", meta=make_meta(dim=2))


def test_status_summary_and_signals_at_close(root_url: str) -> None:
    from capsa.estimators import Signal

    run = f"{root_url}/failed"
    writer = TraceWriter(run, meta=make_meta(dim=2))
    writer.append(loss=1.0, theta=np.zeros(2), step=0)
    writer.append(loss=float("nan"), theta=np.ones(2), step=5)
    writer.close(
        status="failed",
        message="NaN loss",
        summary={"metrics": {"rho": 0.5}},
        signals={"loss": Signal(values=np.array([1.0, 2.0]))},
    )
    summary = load_summary(run)
    assert summary.status == "failed" and summary.message == "NaN loss"
    assert summary.loss_final is None and summary.loss_best == 1.0 and summary.best_step == 0
    assert summary.metrics == {"rho": 0.5} and summary.has_signals
    assert load_checkpoint(run, "final").step == 5
    assert load_trace(run).steps.tolist() == [0, 5]


def test_empty_run_commits_an_empty_trace(tmp_path: Path) -> None:
    TraceWriter("runs/empty", meta=make_meta(dim=3)).close(status="failed")
    trace = load_trace("runs/empty")
    assert trace.theta.shape == (0, 3)
    summary = load_summary("runs/empty")
    assert summary.num_steps_completed == 0 and summary.loss_init is None
    assert not summary.has_checkpoint_final


@pytest.mark.parametrize(
    ("first", "second", "match"),
    [
        ({"loss": 1.0, "theta": np.zeros(4)}, None, r"theta has D = 4 but meta.theta.dim is 3"),
        ({"loss": 1.0, "theta": np.zeros((3, 1))}, None, r"theta must be a vector"),
        ({"loss": np.zeros(2), "theta": np.zeros(3)}, None, r"loss must be a scalar"),
        (
            {"loss": 1.0, "theta": np.zeros(3), "grad_norm": np.zeros(2)},
            None,
            r"grad_norm must be a scalar",
        ),
        (
            {"loss": 1.0, "theta": np.zeros(3)},
            {"loss": 1.0, "theta": np.zeros(3), "x": 1.0},
            r"channels \['loss', 'theta', 'x'\] differ",
        ),
        (
            {"loss": 1.0, "theta": np.zeros(3), "v": np.zeros(2)},
            {"loss": 1.0, "theta": np.zeros(3), "v": np.zeros(3)},
            r"v has shape \(3,\)",
        ),
        (
            {"loss": 1.0, "theta": np.zeros(3), "step": 4},
            {"loss": 1.0, "theta": np.zeros(3), "step": 4},
            r"step 4 is not after",
        ),
        ({"loss": 1.0, "theta": np.zeros(3), "step": 1.5}, None, r"step must be an int"),
        ({"loss": "x", "theta": np.zeros(3)}, None, r"must be real numbers"),
    ],
)
def test_bad_appends_are_refused(
    tmp_path: Path, first: dict, second: dict | None, match: str
) -> None:
    writer = TraceWriter("runs/bad", meta=make_meta(dim=3))
    with pytest.raises(ValidationError, match=match):
        writer.append(**first)
        if second is not None:
            writer.append(**second)
    writer.abort()


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"storage": "hdf5"}, r"storage must be one of"),
        ({"zarr_threshold_bytes": 1.5}, r"zarr_threshold_bytes must be an int"),
        ({"expected_steps": -1}, r"expected_steps must be an int >= 0"),
        ({"zarr_theta_chunks": (0, 4)}, r"zarr_theta_chunks must be"),
        ({"theta_dtype": "int32"}, r"theta_dtype must be a float dtype"),
        ({"meta": {"theta": {"dim": 3, "theta_space": "warped"}}}, r"theta_space"),
    ],
)
def test_bad_writer_options(tmp_path: Path, options: dict, match: str) -> None:
    kwargs = {"meta": make_meta(dim=3), **options}
    with pytest.raises(ValidationError, match=match):
        TraceWriter("runs/opts", **kwargs)
    assert not (tmp_path / "runs" / "opts").exists()


def test_log_grad_checks(tmp_path: Path) -> None:
    writer = TraceWriter("runs/g", meta=make_meta(dim=3))
    with pytest.raises(ValidationError, match=r"grad must have shape \(3,\)"):
        writer.log_grad(0, np.zeros(2))
    with pytest.raises(ValidationError, match=r"step must be an int >= 0"):
        writer.log_grad(-1, np.zeros(3))
    with pytest.raises(ValidationError, match=r"needs an int 'step'"):
        writer.log_diag("x", lr=1.0)  # type: ignore[arg-type]
    writer.abort()


def test_float32_theta_is_kept(tmp_path: Path) -> None:
    with TraceWriter("runs/f32", meta=make_meta(dim=3)) as writer:
        writer.append(loss=1.0, theta=np.zeros(3, dtype=np.float32))
    assert load_trace("runs/f32").theta.dtype == np.float32
