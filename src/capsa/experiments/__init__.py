"""Experiments: configs, sweeps, fingerprinted run directories, environment capture, a registry.

The experiment layer of seed 002, on top of the capsa store::

    from capsa.experiments import Sweep, SweepAxis, run_sweep

    sweep = Sweep(name="grid", base={"model": {"type": "ridge"}},
                  axes=[SweepAxis(path="model.alpha", values=[0.1, 1.0])])
    summary = run_sweep(sweep, train, config_type=TrainConfig, root="results")

Each run lands, atomically, in ``<root>/<name>/<fingerprint>/attempt-<n>/``
(an ``experiment.run`` artifact) with its normalised config, environment,
status, log, dataset manifest, metrics and predictions. See
``docs/experiments.md``.

Names are imported on first use, so that ``import capsa.experiments`` (done
by plugin discovery, for the ``experiment.run`` kind) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from capsa.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from capsa.experiments.configs import (
        config_from_table,
        load_config_file,
        serialise_config,
    )
    from capsa.experiments.context import RunContext
    from capsa.experiments.environment import (
        DEFAULT_ENV_ALLOWLIST,
        SECRET_MARKERS,
        EnvironmentInfo,
        capture_environment,
        is_secret_name,
    )
    from capsa.experiments.fingerprint import (
        FingerprintError,
        canonical_json,
        canonical_payload,
        sha256_for_file,
        stable_fingerprint,
    )
    from capsa.experiments.kind import RUN_KIND, ExperimentRunKind
    from capsa.experiments.registry import (
        ExperimentRegistry,
        ModelSetDefinition,
        RegisteredExperiment,
        ResolvedRegistryExperiment,
        load_experiment_registry,
        resolve_registry_experiment,
    )
    from capsa.experiments.rundirs import (
        RecordedRun,
        ResultPaths,
        RunPaths,
        load_run,
        prepare_result_paths,
        recorded_runs,
        run_key,
        successful_run,
    )
    from capsa.experiments.runner import RunOutcome, SweepSummary, run_sweep
    from capsa.experiments.sweeps import (
        ConcreteRun,
        Sweep,
        SweepAxis,
        expand_sweep,
        expand_sweep_file,
        load_sweep,
    )

_LAZY = {
    "config_from_table": ".configs",
    "load_config_file": ".configs",
    "serialise_config": ".configs",
    "RunContext": ".context",
    "DEFAULT_ENV_ALLOWLIST": ".environment",
    "SECRET_MARKERS": ".environment",
    "EnvironmentInfo": ".environment",
    "capture_environment": ".environment",
    "is_secret_name": ".environment",
    "FingerprintError": ".fingerprint",
    "canonical_json": ".fingerprint",
    "canonical_payload": ".fingerprint",
    "sha256_for_file": ".fingerprint",
    "stable_fingerprint": ".fingerprint",
    "RUN_KIND": ".kind",
    "ExperimentRunKind": ".kind",
    "ExperimentRegistry": ".registry",
    "ModelSetDefinition": ".registry",
    "RegisteredExperiment": ".registry",
    "ResolvedRegistryExperiment": ".registry",
    "load_experiment_registry": ".registry",
    "resolve_registry_experiment": ".registry",
    "RecordedRun": ".rundirs",
    "RunPaths": ".rundirs",
    "ResultPaths": ".rundirs",
    "prepare_result_paths": ".rundirs",
    "load_run": ".rundirs",
    "recorded_runs": ".rundirs",
    "run_key": ".rundirs",
    "successful_run": ".rundirs",
    "RunOutcome": ".runner",
    "SweepSummary": ".runner",
    "run_sweep": ".runner",
    "ConcreteRun": ".sweeps",
    "Sweep": ".sweeps",
    "SweepAxis": ".sweeps",
    "expand_sweep": ".sweeps",
    "expand_sweep_file": ".sweeps",
    "load_sweep": ".sweeps",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "DEFAULT_ENV_ALLOWLIST",
    "RUN_KIND",
    "SECRET_MARKERS",
    "ConcreteRun",
    "EnvironmentInfo",
    "ExperimentRegistry",
    "ExperimentRunKind",
    "FingerprintError",
    "ModelSetDefinition",
    "RecordedRun",
    "RegisteredExperiment",
    "ResolvedRegistryExperiment",
    "ResultPaths",
    "RunContext",
    "RunOutcome",
    "RunPaths",
    "Sweep",
    "SweepAxis",
    "SweepSummary",
    "canonical_json",
    "canonical_payload",
    "capture_environment",
    "config_from_table",
    "expand_sweep",
    "expand_sweep_file",
    "is_secret_name",
    "load_config_file",
    "load_experiment_registry",
    "load_run",
    "load_sweep",
    "prepare_result_paths",
    "recorded_runs",
    "resolve_registry_experiment",
    "run_key",
    "run_sweep",
    "serialise_config",
    "sha256_for_file",
    "stable_fingerprint",
    "successful_run",
]
