"""The sweep runner: run directories committed through the store, failures, resume, workers."""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from pathlib import Path
from typing import Any

import msgspec
import pytest
from core_helpers import all_object_keys
from experiments_helpers import TrainConfig, score, train

import capsa
from capsa.errors import ConfigError, ValidationError
from capsa.experiments import (
    ResultPaths,
    RunContext,
    RunPaths,
    Sweep,
    SweepAxis,
    load_run,
    prepare_result_paths,
    recorded_runs,
    run_key,
    run_sweep,
    stable_fingerprint,
    successful_run,
)
from capsa.experiments.records import RunStatus
from capsa.experiments.runner import resolve_workers

MEMBERS = {
    "config.json",
    "environment.json",
    "status.json",
    "run.log",
    "dataset_manifest.json",
}


def alpha_sweep(*values: float, **extra: Any) -> Sweep:
    return Sweep(name="grid", axes=[SweepAxis(path="model.alpha", values=list(values))], **extra)


def test_run_directories_hold_every_documented_file(backend_url: str, tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_bytes(b"x,y\n1,2\n")

    def step(ctx: RunContext[TrainConfig]) -> dict[str, Any]:
        ctx.add_input(data, role="train")
        ctx.add_dataset_details(rows=1)
        ctx.logger.info("via the run logger")
        return train(ctx)

    sweep = alpha_sweep(0.5, 2.0)
    summary = run_sweep(sweep, step, config_type=TrainConfig, root=backend_url, echo=False)
    assert (summary.total, summary.succeeded, summary.failed) == (2, 2, 0) and summary.ok
    store = capsa.open_store(backend_url)
    runs = sweep.expand(TrainConfig)
    for run, outcome in zip(runs, summary.outcomes, strict=True):
        key = run_key("grid", run.fingerprint, 1)
        assert outcome.key == key and outcome.attempt == 1 and outcome.recorded
        art = load_run(store, key, verify=True)
        assert art.kind == "experiment.run"
        assert {m.file for m in art.manifest.members} == MEMBERS | {
            "metrics.json",
            "predictions.jsonl",
            "weights.json",
        }
        config = art["config.json"]
        assert config["schema"] == "capsa.experiment.config" and config["schema_version"] == 1
        assert config["fingerprint"] == run.fingerprint == stable_fingerprint(config["config"])
        assert config["concrete_name"] == run.concrete_name
        assert config["applied_overrides"] == run.applied_overrides
        assert config["config_type"] == "experiments_helpers.TrainConfig"
        assert msgspec.convert(config["config"], TrainConfig) == run.config
        status = msgspec.convert(art["status.json"], RunStatus)
        assert status.status == "success" and status.attempt == 1 and status.error is None
        assert art["metrics.json"]["metrics"]["score"] == score(run.config)
        assert list(art["predictions.jsonl"])[2] == {"id": 2, "score": 2 * run.config.model.alpha}
        env = art["environment.json"]
        assert env["schema"] == "capsa.experiment.environment" and env["capsa"] == capsa.__version__
        manifest = art["dataset_manifest.json"]
        (record,) = manifest["inputs"]
        assert record["sha256"] == hashlib.sha256(b"x,y\n1,2\n").hexdigest()
        assert record["role"] == "train" and manifest["details"] == {"rows": 1}
        log = art["run.log"]
        assert f"alpha={run.config.model.alpha}" in log
        assert "WARNING experiments_helpers: root-logger warning from the step" in log
        assert "INFO capsa.run.grid: via the run logger" in log
        meta = art.meta
        assert meta["status"] == "success" and meta["fingerprint"] == run.fingerprint
        assert meta["experiment"] == "grid" and meta["metrics"]["score"] == score(run.config)
        assert meta["concrete_name"] == run.concrete_name
        paths = RunPaths.for_run(run, store, attempt=1)
        assert ResultPaths.for_bundle(run, store=store, run_attempt=1) == paths
        assert prepare_result_paths(run, store=store, run_attempt=1) == paths
        assert paths.run_dir == key and paths.run_root == run_key("grid", run.fingerprint)
        if paths.local_dir is not None:  # readable without capsa
            assert paths.config_path == str(paths.local_dir / "config.json")
            assert json.loads(Path(paths.config_path).read_text())["fingerprint"] == run.fingerprint
            assert Path(paths.run_log_path).read_text() == log
        else:
            assert paths.metrics_path.startswith("memory://")


def test_one_failing_run_does_not_stop_the_others(tmp_path: Path) -> None:
    sweep = Sweep(
        name="mixed",
        axes=[SweepAxis(path="fail", values=[False, True]), SweepAxis(path="seed", values=[1, 2])],
    )
    summary = run_sweep(sweep, train, config_type=TrainConfig, root=tmp_path / "s", echo=False)
    assert (summary.succeeded, summary.failed, summary.partial) == (2, 2, 0)
    assert not summary.ok
    assert [o.status for o in summary.outcomes] == ["success", "success", "failed", "failed"]
    failed = summary.outcomes[2]
    assert failed.recorded and failed.error == "RuntimeError: boom at alpha=1.0"
    store = capsa.open_store(str(tmp_path / "s"))
    art = load_run(store, failed.key or "")
    assert "metrics.json" not in art and "predictions.jsonl" not in art
    status = art["status.json"]
    assert status["status"] == "failed"
    assert status["error"]["type"] == "RuntimeError"
    assert 'raise RuntimeError(f"boom' in status["error"]["traceback"]
    assert "Traceback (most recent call last)" in art["run.log"]
    assert art.meta["status"] == "failed"


def test_resume_skips_successes_and_retries_failures_as_the_next_attempt() -> None:
    url = "memory://resume"
    flaky: set[float] = {1.0}
    calls: list[float] = []

    def step(ctx: RunContext[TrainConfig]) -> dict[str, float]:
        alpha = ctx.config.model.alpha
        calls.append(alpha)
        if alpha in flaky:
            flaky.discard(alpha)
            raise OSError("transient")
        return {"alpha": alpha}

    sweep = alpha_sweep(0.5, 1.0)
    first = run_sweep(sweep, step, config_type=TrainConfig, root=url, echo=False)
    assert [o.status for o in first.outcomes] == ["success", "failed"]
    second = run_sweep(sweep, step, config_type=TrainConfig, root=url, echo=False)
    assert [o.status for o in second.outcomes] == ["skipped", "success"]
    assert second.outcomes[0].key == first.outcomes[0].key
    assert second.outcomes[1].attempt == 2
    assert calls == [0.5, 1.0, 1.0]
    store = capsa.open_store(url)
    run = sweep.expand(TrainConfig)[1]
    history = recorded_runs(store, "grid", run.fingerprint)
    assert [(r.attempt, r.status) for r in history] == [(1, "failed"), (2, "success")]
    found = successful_run(store, "grid", run.fingerprint)
    assert found is not None and found.attempt == 2
    third = run_sweep(sweep, step, config_type=TrainConfig, root=url, echo=False)
    assert third.skipped == 2 and calls == [0.5, 1.0, 1.0]
    again = run_sweep(sweep, step, config_type=TrainConfig, root=url, resume=False, echo=False)
    assert [o.attempt for o in again.outcomes] == [2, 3]
    assert calls == [0.5, 1.0, 1.0, 0.5, 1.0]


def test_partial_runs_are_recorded_and_counted(tmp_path: Path) -> None:
    sweep = Sweep(name="p", axes=[SweepAxis(path="partial", values=[False, True])])
    summary = run_sweep(sweep, train, config_type=TrainConfig, root=tmp_path, echo=False)
    assert (summary.succeeded, summary.partial, summary.failed) == (1, 1, 0)
    assert not summary.ok
    outcome = summary.outcomes[1]
    assert outcome.status == "partial" and outcome.error == "no test split"
    art = load_run(capsa.open_store(str(tmp_path)), outcome.key or "")
    assert art["status.json"]["partial_reasons"] == ["no test split"]
    assert "metrics.json" in art
    # A partial run is not a success: resume runs it again.
    again = run_sweep(sweep, train, config_type=TrainConfig, root=tmp_path, echo=False)
    assert [o.status for o in again.outcomes] == ["skipped", "partial"]
    assert again.outcomes[1].attempt == 2


def test_without_attempts_the_fingerprint_folder_is_the_run(tmp_path: Path) -> None:
    sweep = Sweep(name="direct", axes=[SweepAxis(path="fail", values=[False, True])])
    runs = sweep.expand(TrainConfig)
    root = tmp_path / "prod"
    first = run_sweep(runs, train, root=root, attempts=False, echo=False)
    assert [o.key for o in first.outcomes] == [run_key("direct", r.fingerprint) for r in runs]
    assert (root / "direct" / runs[0].fingerprint / "config.json").is_file()
    # Production is immutable: the failed run cannot be retried without attempts.
    second = run_sweep(runs, train, root=root, attempts=False, echo=False)
    assert [o.status for o in second.outcomes] == ["skipped", "failed"]
    assert not second.outcomes[1].recorded
    assert "immutable" in (second.outcomes[1].error or "")
    # Mixing the two layouts on one run is refused, not nested.
    mixed = run_sweep(runs, train, root=root, attempts=True, echo=False)
    assert "stored without attempts" in (mixed.outcomes[1].error or "")
    # In development mode the failed directory is replaced.
    dev = capsa.open_store(str(tmp_path / "dev"), mode="development", session="s")
    run_sweep(runs, train, root=dev, attempts=False, echo=False)
    redo = run_sweep(runs, train, root=dev, attempts=False, echo=False)
    assert [o.status for o in redo.outcomes] == ["skipped", "failed"]
    assert redo.outcomes[1].recorded
    with_attempts = capsa.open_store(str(tmp_path / "dev2"), mode="development", session="s")
    run_sweep(runs, train, root=with_attempts, echo=False)
    mixed = run_sweep(runs, train, root=with_attempts, attempts=False, echo=False)
    assert "holds attempts" in (mixed.outcomes[1].error or "")


def test_runs_really_execute_in_parallel_threads() -> None:
    barrier = threading.Barrier(2, timeout=20)
    threads: list[str] = []

    def step(ctx: RunContext[TrainConfig]) -> None:
        threads.append(threading.current_thread().name)
        barrier.wait()  # only passes when two runs are in flight at once

    summary = run_sweep(
        alpha_sweep(1.0, 2.0, 3.0, 4.0),
        step,
        config_type=TrainConfig,
        root="memory://parallel",
        max_workers=2,
        echo=False,
    )
    assert summary.succeeded == 4, summary.render()
    assert all(name.startswith("capsa-run") for name in threads)


def test_max_workers_resolution() -> None:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert resolve_workers("auto", 3) == min(3, cpus or 1)
    assert resolve_workers("auto", 1000) == cpus
    assert resolve_workers(8, 2) == 2 and resolve_workers(1, 5) == 1
    for bad in (0, -1, "some", 1.5, True):
        with pytest.raises(ConfigError, match=r"positive int or 'auto'"):
            resolve_workers(bad, 3)  # type: ignore[arg-type]


def test_sweep_level_progress_bar_and_summary(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import capsa.progress

    bars: list[dict[str, Any]] = []
    original = capsa.progress.progress_bar

    def recording(total: int | None, desc: str, **kwargs: Any) -> capsa.progress.Progress:
        record: dict[str, Any] = {"total": total, "desc": desc, "updates": 0, **kwargs}
        bars.append(record)
        bar = original(total, desc, enabled=False)

        def update(n: int = 1) -> None:
            record["updates"] += n

        bar.update = update  # type: ignore[method-assign]
        return bar

    monkeypatch.setattr(capsa.progress, "progress_bar", recording)
    sweep = Sweep(name="bar", axes=[SweepAxis(path="fail", values=[False, True])])
    run_sweep(sweep, train, config_type=TrainConfig, root="memory://bar")
    (bar,) = bars
    assert (bar["total"], bar["unit"], bar["updates"]) == (2, "run", 2)
    assert "bar" in bar["desc"]
    err = capsys.readouterr().err
    assert "sweep bar: 1 succeeded, 0 partial, 1 failed, 0 skipped (of 2 runs)" in err
    assert "failed: bar__fail=true" in err and "RuntimeError: boom" in err
    run_sweep(sweep, train, config_type=TrainConfig, root="memory://bar", echo=False)
    assert capsys.readouterr().err == ""


def test_commits_fire_the_committed_event(tmp_path: Path) -> None:
    from capsa.markers import hookimpl
    from capsa.plugins import register_plugin, unregister_plugin

    events: list[Any] = []

    class Listener:
        @hookimpl
        def capsa_artifact_committed(self, event: Any) -> None:
            events.append(event)

    register_plugin(Listener(), "test-experiments-listener")
    try:
        summary = run_sweep(
            alpha_sweep(1.0, 2.0), train, config_type=TrainConfig, root=tmp_path, echo=False
        )
    finally:
        unregister_plugin("test-experiments-listener")
    runs = [e for e in events if e.manifest.kind == "experiment.run"]
    assert sorted(e.key for e in runs) == sorted(o.key for o in summary.outcomes)
    assert {e.manifest.meta["status"] for e in runs} == {"success"}


def test_process_executor_runs_in_other_processes(tmp_path: Path) -> None:
    summary = run_sweep(
        alpha_sweep(1.0, 2.0),
        train,
        config_type=TrainConfig,
        root=tmp_path / "store",
        max_workers=2,
        executor="process",
        echo=False,
    )
    assert summary.succeeded == 2, summary.render()
    pids = {o.metrics["pid"] for o in summary.outcomes}
    assert os.getpid() not in pids
    store = capsa.open_store(str(tmp_path / "store"))
    assert len(store.list("grid/", kind="experiment.run")) == 2


def test_bad_settings_fail_before_any_run(tmp_path: Path) -> None:
    calls: list[int] = []

    def step(ctx: RunContext[TrainConfig]) -> None:
        calls.append(1)

    url = "memory://nothing-written"
    store = capsa.open_store(url)
    sweep = alpha_sweep(1.0)
    runs = sweep.expand(TrainConfig)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"runs": sweep}, r"needs config_type"),
        ({"runs": [], "root": url}, r"nothing to run"),
        ({"runs": runs + runs, "root": url}, r"same config"),
        ({"runs": runs, "root": url, "max_workers": 0}, r"positive int"),
        ({"runs": runs, "root": url, "executor": "gpu"}, r"'thread' or 'process'"),
        ({"runs": runs, "root": url, "env_allowlist": ["API_TOKEN"]}, r"looks like a secret"),
        ({"runs": runs, "root": url, "packages": [""]}, r"package name"),
        ({"runs": runs}, r"no root"),
        ({"runs": runs, "root": url, "executor": "process"}, r"lives in this process only"),
        ({"runs": runs, "root": tmp_path / "p", "executor": "process"}, r"importable step"),
        ({"runs": runs, "root": store, "mode": "development"}, r"production mode"),
        ({"runs": [object()], "root": url}, r"expected concrete runs"),
    ]
    for kwargs, words in cases:
        runs_arg = kwargs.pop("runs")
        with pytest.raises(ConfigError, match=words):
            run_sweep(
                runs_arg, step, config_type=kwargs.pop("config_type", None), echo=False, **kwargs
            )
    with pytest.raises(ConfigError, match=r"Expected `float`"):
        run_sweep(
            Sweep(name="g", axes=[SweepAxis(path="model.alpha", values=[1.0, "x"])]),
            step,
            config_type=TrainConfig,
            root=url,
        )
    assert calls == [] and all_object_keys(store) == []
    assert not (tmp_path / "p").exists() or list((tmp_path / "p").rglob("_SUCCESS")) == []


def test_a_foreign_artifact_under_the_run_root_is_refused() -> None:
    url = "memory://foreign"
    store = capsa.open_store(url)
    (run,) = alpha_sweep(1.0).expand(TrainConfig)
    store.save(run_key("grid", run.fingerprint), "json", {"not": "a run"})
    with pytest.raises(capsa.CapsaError, match=r"not an 'experiment.run' run directory"):
        run_sweep([run], train, root=url, echo=False)


@pytest.mark.parametrize(
    ("step_body", "words"),
    [
        ("return {'loss': float('nan')}", r"metrics: cannot fingerprint the value at \$.loss"),
        ("return [1, 2]", r"TypeError: the step returned list"),
        ("ctx.write('metrics.json', {})", r"is written by capsa"),
        ("ctx.write_predictions([]); ctx.write_predictions([])", r"already written"),
        ("ctx.update_metrics({1: 2})", r"metric names must be strings"),
        ("ctx.add_input('/no/such/file')", r"is not a file"),
        ("ctx.write('../escape.json', {})", r"InvalidKeyError"),
    ],
)
def test_step_misuse_is_recorded_as_a_failed_run(step_body: str, words: str) -> None:
    namespace: dict[str, Any] = {}
    exec(f"def step(ctx):\n    {step_body}\n", namespace)
    summary = run_sweep(
        alpha_sweep(1.0),
        namespace["step"],
        config_type=TrainConfig,
        root="memory://misuse",
        echo=False,
    )
    (outcome,) = summary.outcomes
    assert outcome.status == "failed" and outcome.recorded
    assert outcome.error is not None
    assert re.search(words, outcome.error), outcome.error
    status = load_run(capsa.open_store("memory://misuse"), outcome.key or "")["status.json"]
    assert status["status"] == "failed"


def test_keyboard_interrupt_aborts_without_a_half_run(tmp_path: Path) -> None:
    def step(ctx: RunContext[TrainConfig]) -> None:
        ctx.write("partial.json", {"x": 1})
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(alpha_sweep(1.0), step, config_type=TrainConfig, root=tmp_path, echo=False)
    store = capsa.open_store(str(tmp_path))
    assert store.list() == []
    assert list(tmp_path.rglob("partial.json")) == []


def test_run_key_validation() -> None:
    fp = "a" * 64
    assert run_key("n", fp) == f"n/{fp}"
    assert run_key("n", fp, 3, prefix="results/") == f"results/n/{fp}/attempt-3"
    with pytest.raises(ConfigError, match=r"sha256 hex"):
        run_key("n", "abc")
    with pytest.raises(ConfigError, match=r"positive int"):
        run_key("n", fp, 0)
    with pytest.raises(ConfigError, match=r"must not contain '/'"):
        run_key("a/b", fp)


def test_validation_error_for_bad_status_through_save() -> None:
    store = capsa.open_store("memory://kind")
    with pytest.raises(ValidationError, match=r"status.json must hold status"):
        store.save(
            "x",
            "experiment.run",
            {
                "config.json": {},
                "environment.json": {},
                "status.json": {"status": "done"},
                "run.log": "",
                "dataset_manifest.json": {},
            },
        )
