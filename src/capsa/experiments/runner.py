"""The sweep runner: execute concrete runs in parallel, record each one, summarise.

:func:`run_sweep` takes a :class:`~capsa.experiments.sweeps.Sweep` (or
concrete runs already expanded) and a step function, and for every run:

1. decides, from what the store already holds, whether to skip it (a
   successful attempt exists and ``resume`` is on) or which attempt it is;
2. opens a store transaction on its run directory
   (:mod:`capsa.experiments.rundirs`), writes ``config.json`` and
   ``environment.json``, and calls ``step(ctx)``;
3. records the outcome: ``status.json``, ``run.log``,
   ``dataset_manifest.json``, ``metrics.json`` (the step's return value and
   :meth:`~capsa.experiments.context.RunContext.update_metrics`), then
   commits. A step that raises is recorded as ``failed`` with its traceback
   in ``status.json`` and ``run.log``; one failing run never stops the others.

Everything that can be checked is checked before the first run starts
(configs, worker count, environment allowlist, the store, the plan). Runs go
through ``max_workers`` threads (``"auto"`` = min(runs, CPUs)) or, with
``executor="process"``, processes (the step and the config type must then be
importable, and the store reachable from another process: not
``memory://``). A progress bar counts runs on a terminal, and a one-line
summary of succeeded / partial / failed / skipped runs is printed to stderr
at the end (``echo=False`` silences it).
"""

from __future__ import annotations

import logging
import os
import pickle
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from capsa.errors import CapsaError, ConfigError
from capsa.experiments.context import RunContext, RunLog, utc_now
from capsa.experiments.environment import (
    DEFAULT_ENV_ALLOWLIST,
    EnvironmentInfo,
    capture_environment,
)
from capsa.experiments.fingerprint import FingerprintError, canonical_payload
from capsa.experiments.kind import RUN_KIND
from capsa.experiments.records import (
    DatasetManifest,
    MetricsRecord,
    RunConfigRecord,
    RunError,
    RunStatus,
)
from capsa.experiments.rundirs import RecordedRun, RunPaths, recorded_runs
from capsa.experiments.sweeps import ConcreteRun, Sweep, WorkerCount, check_workers

if TYPE_CHECKING:
    from capsa.store.store import Store

StepFunction = Callable[[RunContext[Any]], Mapping[str, Any] | None]
"""A step: receives the run's context, returns metrics (a mapping) or None."""

OutcomeStatus = Literal["success", "partial", "failed", "skipped"]
"""What happened to one run in this sweep."""


class RunOutcome(msgspec.Struct, kw_only=True):
    """The result of one run in a sweep.

    :ivar name: sweep / experiment name.
    :ivar concrete_name: the run's label.
    :ivar fingerprint: config fingerprint.
    :ivar status: ``success``, ``partial``, ``failed`` or ``skipped``
        (already successful, not run again).
    :ivar key: the run directory's key (the successful one for skipped runs).
    :ivar attempt: the attempt number.
    :ivar recorded: whether a run directory was committed for this outcome.
    :ivar duration_seconds: wall time of the step (0 for skipped runs).
    :ivar error: ``"TypeName: message"`` for failed runs.
    :ivar metrics: the metrics recorded.
    """

    name: str
    concrete_name: str
    fingerprint: str
    status: OutcomeStatus
    key: str | None = None
    attempt: int | None = None
    recorded: bool = False
    duration_seconds: float = 0.0
    error: str | None = None
    metrics: dict[str, Any] = msgspec.field(default_factory=dict)


class SweepSummary(msgspec.Struct, kw_only=True):
    """Counts and outcomes of a sweep, in run order.

    :ivar label: the sweep name(s).
    :ivar store: URL of the store the run directories went to.
    :ivar total: number of concrete runs.
    :ivar succeeded: runs that succeeded now.
    :ivar partial: runs that finished but marked parts missing.
    :ivar failed: runs that raised (or could not be recorded).
    :ivar skipped: runs skipped because a successful attempt exists.
    :ivar duration_seconds: wall time of the whole sweep.
    :ivar outcomes: one per run, in expansion order.
    """

    label: str
    store: str
    total: int
    succeeded: int
    partial: int
    failed: int
    skipped: int
    duration_seconds: float
    outcomes: list[RunOutcome]

    @property
    def ok(self) -> bool:
        """True when no run failed or ended partial."""
        return self.failed == 0 and self.partial == 0

    def render(self) -> str:
        """A one-line summary, then one line per failed or partial run."""
        lines = [
            f"sweep {self.label}: {self.succeeded} succeeded, {self.partial} partial, "
            f"{self.failed} failed, {self.skipped} skipped (of {self.total} runs) "
            f"in {self.duration_seconds:.1f}s -> {self.store}"
        ]
        for outcome in self.outcomes:
            if outcome.status in ("failed", "partial"):
                where = f" [{outcome.key}]" if outcome.key and outcome.recorded else ""
                why = f": {outcome.error}" if outcome.error else ""
                lines.append(f"  {outcome.status}: {outcome.concrete_name}{where}{why}")
        return "\n".join(lines)


def resolve_workers(max_workers: WorkerCount, runs: int) -> int:
    """Threads/processes to use: ``"auto"`` = min(runs, usable CPUs), never more than ``runs``."""
    check_workers(max_workers)
    if max_workers == "auto":
        getter = getattr(os, "sched_getaffinity", None)
        cpus = len(getter(0)) if getter is not None else (os.cpu_count() or 1)
        return max(1, min(runs, cpus))
    assert isinstance(max_workers, int)
    return max(1, min(runs, max_workers))


@dataclass(frozen=True)
class PlannedRun:
    """What the runner will do with one run.

    :ivar run: the concrete run.
    :ivar attempt: the attempt to write (None without attempts).
    :ivar skip: the successful directory that makes it skippable, if any.
    :ivar blocked: why it cannot be run (an immutable failed directory ...).
    """

    run: ConcreteRun[Any]
    attempt: int | None
    skip: RecordedRun | None = None
    blocked: str | None = None


def plan_run(
    store: Store, run: ConcreteRun[Any], *, attempts: bool, resume: bool, prefix: str
) -> PlannedRun:
    """Decide whether ``run`` is skipped, blocked, or which attempt it is."""
    records = recorded_runs(store, run.name, run.fingerprint, prefix=prefix)
    success = next((r for r in records if r.status == "success"), None)
    if resume and success is not None:
        return PlannedRun(run=run, attempt=success.attempt, skip=success)
    if attempts:
        if any(r.attempt is None for r in records):
            return PlannedRun(
                run=run,
                attempt=None,
                blocked=f"{records[0].key} was stored without attempts; run with attempts=False",
            )
        return PlannedRun(run=run, attempt=max((r.attempt or 0 for r in records), default=0) + 1)
    if any(r.attempt is not None for r in records):
        return PlannedRun(
            run=run,
            attempt=None,
            blocked=f"{records[0].key} holds attempts; run with attempts=True",
        )
    if records and not store.overwrite:
        return PlannedRun(
            run=run,
            attempt=None,
            blocked=f"{records[0].key} is recorded as {records[0].status!r} and {store.mode} "
            "artifacts are immutable; use attempts=True to retry it",
        )
    return PlannedRun(run=run, attempt=None)


def _scalars(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The top-level numbers, booleans and strings of the metrics (for the manifest's meta)."""
    return {k: v for k, v in metrics.items() if isinstance(v, str | int | float)}


def _type_name(exc: BaseException) -> str:
    cls = type(exc)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


class _ThreadCapture(logging.Handler):
    """Root-logger handler forwarding the records of one thread to a run's log."""

    def __init__(self, log: RunLog, thread: int) -> None:
        super().__init__(level=logging.DEBUG)
        self._log = log
        self._thread = thread

    def emit(self, record: logging.LogRecord) -> None:
        """Forward records emitted by the run's thread."""
        if record.thread == self._thread:
            self._log.handle(record)

    def __enter__(self) -> _ThreadCapture:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self)


def execute_run(
    run: ConcreteRun[Any],
    step: StepFunction,
    store: Store,
    *,
    attempt: int | None,
    environment: EnvironmentInfo,
    prefix: str = "",
) -> RunOutcome:
    """Run one step in its own transaction and record the outcome; never raises for step errors.

    ``KeyboardInterrupt`` and ``SystemExit`` abort the transaction and propagate.
    """
    paths = RunPaths.for_run(run, store, attempt=attempt, prefix=prefix)
    outcome = RunOutcome(
        name=run.name,
        concrete_name=run.concrete_name,
        fingerprint=run.fingerprint,
        status="failed",
        key=paths.run_dir,
        attempt=attempt,
    )
    try:
        tx = store.transaction(paths.run_dir, RUN_KIND)
    except CapsaError as exc:
        outcome.error = f"{_type_name(exc)}: {exc}"
        return outcome
    log = RunLog()
    ctx: RunContext[Any] = RunContext(run, tx, paths, log)
    started_at = utc_now()
    clock = time.perf_counter()
    error: RunError | None = None
    try:
        config_record = RunConfigRecord(
            name=run.name,
            concrete_name=run.concrete_name,
            fingerprint=run.fingerprint,
            config_type=run.config_type,
            applied_overrides=canonical_payload(run.applied_overrides),
            groups=list(run.groups),
            model=run.model,
            sweep_file=run.source,
            config=run.normalized_config(),
        )
        tx.write("config", msgspec.to_builtins(config_record))
        tx.write("environment", msgspec.to_builtins(environment))
        ctx.log(f"run {run.concrete_name} ({run.fingerprint[:12]}) attempt {attempt} started")
        with _ThreadCapture(log, threading.get_ident()):
            result = step(ctx)
        if result is not None:
            if not isinstance(result, Mapping):
                raise TypeError(
                    f"the step returned {type(result).__name__}; "
                    "return a mapping of metrics or None"
                )
            ctx.update_metrics(result)
    except Exception as exc:
        error = RunError(
            type=_type_name(exc),
            message=str(exc),
            traceback="".join(traceback.format_exception(exc)),
        )
        ctx.log(f"run failed: {error.type}: {error.message}")
        log.append(error.traceback.rstrip("\n"))
    except BaseException:
        tx.abort()
        raise
    duration = time.perf_counter() - clock
    metrics: dict[str, Any] = {}
    if ctx.metrics:
        try:
            metrics = canonical_payload(ctx.metrics)
        except FingerprintError as exc:
            if error is None:
                error = RunError(
                    type="capsa.errors.ValidationError", message=f"metrics: {exc}", traceback=""
                )
                ctx.log(f"run failed: metrics cannot be stored: {exc}")
    status: Literal["success", "partial", "failed"] = (
        "failed" if error is not None else "partial" if ctx.partial_reasons else "success"
    )
    ctx.log(f"run {status} in {duration:.3f}s")
    record = RunStatus(
        status=status,
        attempt=attempt,
        started_at=started_at,
        finished_at=utc_now(),
        duration_seconds=round(duration, 6),
        partial_reasons=list(ctx.partial_reasons),
        error=error,
    )
    try:
        if metrics:
            tx.write("metrics", msgspec.to_builtins(MetricsRecord(metrics=metrics)))
        manifest = DatasetManifest(inputs=list(ctx.inputs), details=dict(ctx.dataset_details))
        try:
            dataset = canonical_payload(msgspec.to_builtins(manifest))
        except FingerprintError as exc:
            ctx.log(f"dataset details dropped: {exc}")
            dataset = msgspec.to_builtins(DatasetManifest(inputs=list(ctx.inputs)))
        tx.write("dataset_manifest", dataset)
        tx.write("status", msgspec.to_builtins(record))
        tx.write("log", log.text())
        tx.meta.update(
            {
                "experiment": run.name,
                "concrete_name": run.concrete_name,
                "fingerprint": run.fingerprint,
                "attempt": attempt,
                "status": status,
                "groups": list(run.groups),
                "model": run.model,
                "duration_seconds": record.duration_seconds,
                "metrics": _scalars(metrics),
            }
        )
        tx.commit()
    except BaseException as exc:
        tx.abort()
        if not isinstance(exc, Exception):
            raise
        outcome.error = f"could not record the run: {_type_name(exc)}: {exc}"
        outcome.duration_seconds = record.duration_seconds
        return outcome
    outcome.status = status
    outcome.recorded = True
    outcome.duration_seconds = record.duration_seconds
    outcome.metrics = metrics
    if error is not None:
        outcome.error = f"{error.type}: {error.message}"
    elif ctx.partial_reasons:
        outcome.error = "; ".join(ctx.partial_reasons)
    return outcome


def _child(payload: tuple[Any, ...]) -> RunOutcome:
    """Entry point of a worker process: reopen the store, run one step."""
    url, mode, session, test_name, prefix, run, step, attempt, environment = payload
    from capsa.api import open_store

    store = open_store(url, mode=mode, session=session, test_name=test_name)
    return execute_run(run, step, store, attempt=attempt, environment=environment, prefix=prefix)


def _open_root(root: Any, mode: str | None) -> Store:
    from capsa.store.store import Store

    if isinstance(root, Store):
        if mode is not None and mode != root.mode:
            raise ConfigError(
                f"the store is in {root.mode} mode but mode={mode!r} was asked", key="mode"
            )
        return root
    if root is None:
        raise ConfigError(
            "no root for the run directories: pass root= (a path or capsa URL) or set "
            "results_root in the sweep",
            key="results_root",
        )
    from capsa.api import open_store

    return open_store(os.fspath(root), mode=mode)


def run_sweep(
    runs: Sweep | Sequence[ConcreteRun[Any]],
    step: StepFunction,
    *,
    root: str | os.PathLike[str] | Store | None = None,
    config_type: type[Any] | None = None,
    max_workers: WorkerCount | None = None,
    attempts: bool = True,
    resume: bool = True,
    prefix: str = "",
    mode: str | None = None,
    executor: Literal["thread", "process"] = "thread",
    packages: Iterable[str] = (),
    env_allowlist: Iterable[str] = DEFAULT_ENV_ALLOWLIST,
    progress: bool | None = None,
    echo: bool = True,
) -> SweepSummary:
    """Run every concrete run of a sweep and return the summary (see the module docs).

    :param runs: a :class:`Sweep` (expanded with ``config_type``) or concrete runs.
    :param step: ``step(ctx) -> metrics | None``.
    :param root: a path, a capsa URL or an open :class:`~capsa.store.store.Store`
        (default: the sweep's ``results_root``).
    :param max_workers: default: the sweep's ``max_workers``, else 1.
    :param attempts: keep every try under ``attempt-<n>/`` (default) or write
        ``<name>/<fingerprint>/`` directly.
    :param resume: skip runs that already have a successful directory.
    :param prefix: a key prefix inside the store for all run directories.
    :param mode: the store mode when ``root`` is a path or URL.
    :param executor: ``"thread"`` or ``"process"``.
    :param packages: distributions whose versions ``environment.json`` records.
    :param env_allowlist: environment variables it records (secrets refused).
    :param progress: ``False`` hides the progress bar (default: shown on a TTY).
    :param echo: print the summary to stderr at the end.
    :raises ConfigError: anything wrong with the sweep or the settings, before
        any run starts.
    """
    begin = time.perf_counter()
    if isinstance(runs, Sweep):
        if config_type is None:
            raise ConfigError("expanding a Sweep needs config_type=", key="config_type")
        sweep: Sweep | None = runs
        concrete = runs.expand(config_type)
    else:
        sweep = None
        concrete = list(runs)
    if not concrete:
        raise ConfigError("there is nothing to run (no concrete runs)")
    seen: dict[tuple[str, str], str] = {}
    for run in concrete:
        if not isinstance(run, ConcreteRun):
            raise ConfigError(f"expected concrete runs, got {type(run).__name__}")
        ident = (run.name, run.fingerprint)
        if ident in seen:
            raise ConfigError(
                f"runs {seen[ident]!r} and {run.concrete_name!r} of {run.name!r} have the "
                "same config; they would share a run directory"
            )
        seen[ident] = run.concrete_name
    if executor not in ("thread", "process"):
        raise ConfigError(f"expected 'thread' or 'process', got {executor!r}", key="executor")
    workers_setting: WorkerCount = (
        max_workers if max_workers is not None else (sweep.max_workers if sweep is not None else 1)
    )
    workers = resolve_workers(workers_setting, len(concrete))
    if prefix:
        from capsa.store.keys import validate_prefix

        validate_prefix(prefix)
    store = _open_root(root if root is not None else (sweep.results_root if sweep else None), mode)
    if executor == "process":
        if store.url.startswith("memory://"):
            raise ConfigError(
                "executor='process' needs a store other processes can reach; "
                f"{store.url} lives in this process only",
                key="executor",
            )
        try:
            pickle.dumps((step, concrete))
        except Exception as exc:
            raise ConfigError(
                f"executor='process' needs an importable step and config type: {exc}",
                key="executor",
            ) from None
    environment = capture_environment(packages=packages, env_allowlist=env_allowlist)
    plans = [
        plan_run(store, run, attempts=attempts, resume=resume, prefix=prefix) for run in concrete
    ]
    labels = list(dict.fromkeys(run.name for run in concrete))
    label = ", ".join(labels)
    outcomes: list[RunOutcome | None] = [None] * len(plans)
    todo: list[int] = []
    for i, plan in enumerate(plans):
        run = plan.run
        if plan.skip is not None:
            outcomes[i] = RunOutcome(
                name=run.name,
                concrete_name=run.concrete_name,
                fingerprint=run.fingerprint,
                status="skipped",
                key=plan.skip.key,
                attempt=plan.skip.attempt,
                recorded=True,
            )
        elif plan.blocked is not None:
            outcomes[i] = RunOutcome(
                name=run.name,
                concrete_name=run.concrete_name,
                fingerprint=run.fingerprint,
                status="failed",
                error=plan.blocked,
            )
        else:
            todo.append(i)

    from capsa.progress import progress_bar

    with progress_bar(len(plans), f"sweep {label}", unit="run", enabled=progress) as bar:
        bar.update(len(plans) - len(todo))
        if workers == 1 and executor == "thread":
            for i in todo:
                plan = plans[i]
                outcomes[i] = execute_run(
                    plan.run,
                    step,
                    store,
                    attempt=plan.attempt,
                    environment=environment,
                    prefix=prefix,
                )
                bar.update(1)
        elif todo:
            pool: Executor
            if executor == "process":
                import multiprocessing

                pool = ProcessPoolExecutor(
                    max_workers=workers, mp_context=multiprocessing.get_context("spawn")
                )
            else:
                pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="capsa-run")
            with pool:
                futures: dict[Future[RunOutcome], int] = {}
                for i in todo:
                    plan = plans[i]
                    if executor == "process":
                        payload = (
                            store.url,
                            store.mode,
                            store.session,
                            store.test_name,
                            prefix,
                            plan.run,
                            step,
                            plan.attempt,
                            environment,
                        )
                        futures[pool.submit(_child, payload)] = i
                    else:
                        futures[
                            pool.submit(
                                execute_run,
                                plan.run,
                                step,
                                store,
                                attempt=plan.attempt,
                                environment=environment,
                                prefix=prefix,
                            )
                        ] = i
                try:
                    from concurrent.futures import as_completed

                    for future in as_completed(futures):
                        i = futures[future]
                        run = plans[i].run
                        try:
                            outcomes[i] = future.result()
                        except Exception as exc:  # a worker process died, an unpicklable result
                            outcomes[i] = RunOutcome(
                                name=run.name,
                                concrete_name=run.concrete_name,
                                fingerprint=run.fingerprint,
                                status="failed",
                                attempt=plans[i].attempt,
                                error=f"{_type_name(exc)}: {exc}",
                            )
                        bar.update(1)
                except BaseException:
                    for future in futures:
                        future.cancel()
                    raise
    done = [o for o in outcomes if o is not None]
    summary = SweepSummary(
        label=label,
        store=store.url,
        total=len(done),
        succeeded=sum(o.status == "success" for o in done),
        partial=sum(o.status == "partial" for o in done),
        failed=sum(o.status == "failed" for o in done),
        skipped=sum(o.status == "skipped" for o in done),
        duration_seconds=round(time.perf_counter() - begin, 3),
        outcomes=done,
    )
    if echo:
        print(summary.render(), file=sys.stderr)
    return summary


__all__ = [
    "OutcomeStatus",
    "PlannedRun",
    "RunOutcome",
    "StepFunction",
    "SweepSummary",
    "execute_run",
    "plan_run",
    "resolve_workers",
    "run_sweep",
]
