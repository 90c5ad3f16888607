"""The experiment registry: named experiments (each a sweep), groups and reusable model sets.

A registry is one TOML file (seed 002's registry, with capsa's sweeps)::

    schema_version = 1
    config_type = "mylab.config:TrainConfig"   # the config Struct ("module:name")
    step = "mylab.train:train"                 # the step, for `capsa experiments run`
    results_root = "results"                   # default root of the run directories

    [models.ridge]                             # a model = fixed overrides
    "model" = { type = "ridge", alpha = 1.0 }

    [models.lasso]
    "model" = { type = "lasso", alpha = 0.1 }

    [model_sets.linear]                        # a reusable list of models
    models = ["ridge", "lasso"]
    description = "linear baselines"

    [experiments.grid]
    sweep = "sweeps/grid.toml"                 # a sweep file, or an inline table
    model_sets = ["linear"]
    models = []
    groups = ["paper"]
    description = "the main grid"

    [experiments.grid.overrides.ridge]         # per model or model set
    "model.alpha" = 0.5

An experiment without models is its sweep. With models, the sweep is
expanded once per model (inline ``models`` first, then each set's, without
repeats): the model's overrides, then the experiment's overrides for the
model's set and for the model itself, are applied after the sweep's fixed
overrides and before its axes; ``concrete_name`` starts with
``model=<name>``. All runs of an experiment go to ``<root>/<experiment>/``.

An experiment's groups are its ``groups`` plus the names of the model sets
it uses. :meth:`ExperimentRegistry.select` picks experiments by names and/or
groups; an unknown name or group is a :class:`~capsa.errors.ConfigError`
that lists the known ones. Relative paths (sweep files, a sweep's ``base``)
are relative to the registry file.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from capsa.errors import ConfigError
from capsa.experiments.configs import config_from_table, import_object, read_toml
from capsa.experiments.overrides import Override, check_paths
from capsa.experiments.sweeps import ConcreteRun, Sweep, check_name, expand_sweep, load_sweep

REGISTRY_VERSION = 1
"""The newest registry ``schema_version`` this capsa reads."""


class ModelSetTable(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[model_sets.<name>]`` in a registry file.

    :ivar models: names of models of the ``[models]`` table, in order.
    :ivar description: free text.
    """

    models: list[str]
    description: str | None = None


class ExperimentTable(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[experiments.<name>]`` in a registry file.

    :ivar sweep: the experiment's sweep: the path of a sweep file (relative to
        the registry file) or an inline sweep table.
    :ivar models: models (names from ``[models]``) the sweep is expanded for.
    :ivar model_sets: model sets (names from ``[model_sets]``) whose models the
        sweep is expanded for; each set's name is also one of the experiment's
        groups.
    :ivar groups: group names, for selecting experiments by group.
    :ivar overrides: per model or model set name, dotted path -> value, applied
        after the model's own overrides.
    :ivar description: free text.
    """

    sweep: str | dict[str, Any]
    models: list[str] = msgspec.field(default_factory=list)
    model_sets: list[str] = msgspec.field(default_factory=list)
    groups: list[str] = msgspec.field(default_factory=list)
    overrides: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)
    description: str | None = None


class RegistryFile(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The whole registry file, as decoded.

    :ivar schema_version: registry-file schema version.
    :ivar config_type: ``"module:name"`` of the config type the runs decode to.
    :ivar step: ``"module:name"`` of the step ``capsa experiments run`` calls.
    :ivar results_root: default root of the run directories (a path, relative
        to the registry file, or a capsa URL).
    :ivar models: model name -> its fixed overrides (dotted path -> value).
    :ivar model_sets: named, reusable lists of models.
    :ivar experiments: the named experiments, each a sweep.
    """

    schema_version: int = REGISTRY_VERSION
    config_type: str | None = None
    step: str | None = None
    results_root: str | None = None
    models: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)
    model_sets: dict[str, ModelSetTable] = msgspec.field(default_factory=dict)
    experiments: dict[str, ExperimentTable] = msgspec.field(default_factory=dict)


@dataclass(frozen=True)
class ModelSetDefinition:
    """A named, reusable list of models.

    :ivar name: the set's name.
    :ivar models: model names, in order.
    :ivar description: free text.
    """

    name: str
    models: tuple[str, ...]
    description: str | None = None


@dataclass(frozen=True)
class RegisteredExperiment:
    """One logical experiment of the registry.

    :ivar name: the experiment's name (``<name>`` of its run directories).
    :ivar sweep: its sweep (named after the experiment).
    :ivar sweep_file: the file the sweep was read from (the registry for an
        inline sweep).
    :ivar models: models named directly on the experiment.
    :ivar model_sets: model sets it uses.
    :ivar groups: its groups, model-set names included.
    :ivar overrides: per model or model set: dotted path -> value.
    :ivar description: free text.
    """

    name: str
    sweep: Sweep
    sweep_file: str
    models: tuple[str, ...] = ()
    model_sets: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    description: str | None = None


@dataclass(frozen=True)
class ResolvedRegistryExperiment:
    """A registry experiment and its concrete runs.

    :ivar experiment: the registry entry.
    :ivar runs: its concrete runs, in expansion order.
    """

    experiment: RegisteredExperiment
    runs: tuple[ConcreteRun[Any], ...]

    @property
    def run(self) -> ConcreteRun[Any]:
        """The only run, when the experiment expands to exactly one (seed 002's ``bundle``)."""
        if len(self.runs) != 1:
            raise ConfigError(
                f"experiment {self.experiment.name!r} expands to {len(self.runs)} runs, not one",
                key=f"experiments.{self.experiment.name}",
            )
        return self.runs[0]

    @property
    def bundles(self) -> tuple[ConcreteRun[Any], ...]:
        """Seed 002's name for :attr:`runs`."""
        return self.runs

    @property
    def bundle(self) -> ConcreteRun[Any]:
        """Seed 002's name for :attr:`run`."""
        return self.run


def _unknown(what: str, name: str, known: Sequence[str]) -> str:
    listed = ", ".join(known) if known else "(none)"
    return f"unknown {what} {name!r}; known {what}s: {listed}"


@dataclass(frozen=True)
class ExperimentRegistry:
    """A validated registry (see the module docs); build it with :func:`load_experiment_registry`.

    :ivar path: the registry file.
    :ivar experiments: experiments in file order.
    :ivar model_sets: model sets in file order.
    :ivar models: model name -> its overrides (dotted path -> value).
    :ivar config_type_ref: ``"module:name"`` of the config type, if given.
    :ivar step_ref: ``"module:name"`` of the step, if given.
    :ivar results_root: default root of the run directories (relative
        paths resolved against the registry's folder).
    """

    path: str
    experiments: tuple[RegisteredExperiment, ...]
    model_sets: tuple[ModelSetDefinition, ...] = ()
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    config_type_ref: str | None = None
    step_ref: str | None = None
    results_root: str | None = None

    def names(self) -> tuple[str, ...]:
        """Experiment names in registry order."""
        return tuple(e.name for e in self.experiments)

    def groups(self) -> tuple[str, ...]:
        """Every group name, in order of first appearance."""
        return tuple(dict.fromkeys(g for e in self.experiments for g in e.groups))

    def require(self, name: str) -> RegisteredExperiment:
        """The experiment called ``name``; unknown names list the known ones."""
        for experiment in self.experiments:
            if experiment.name == name:
                return experiment
        raise ConfigError(_unknown("experiment", name, self.names()), source=self.path)

    def model_set(self, name: str) -> ModelSetDefinition:
        """The model set called ``name``; unknown names list the known ones."""
        for model_set in self.model_sets:
            if model_set.name == name:
                return model_set
        known = [m.name for m in self.model_sets]
        raise ConfigError(_unknown("model set", name, known), source=self.path)

    def select(
        self, *, names: Sequence[str] = (), groups: Sequence[str] = ()
    ) -> tuple[RegisteredExperiment, ...]:
        """Experiments named in ``names`` or belonging to one of ``groups``, in registry order.

        With neither, every experiment. An unknown name or group raises a
        :class:`ConfigError` listing the known ones.
        """
        if isinstance(names, str) or isinstance(groups, str):
            raise ConfigError("names and groups must be lists of strings, not one string")
        for name in names:
            self.require(name)
        known_groups = self.groups()
        for group in groups:
            if group not in known_groups:
                raise ConfigError(_unknown("group", group, known_groups), source=self.path)
        if not names and not groups:
            return self.experiments
        wanted = set(names)
        wanted_groups = set(groups)
        return tuple(
            e for e in self.experiments if e.name in wanted or wanted_groups.intersection(e.groups)
        )

    def config_type(self) -> type[Any]:
        """Import the config type the registry names (``config_type = "module:name"``)."""
        if self.config_type_ref is None:
            raise ConfigError(
                "the registry names no config_type; pass config_type= explicitly",
                source=self.path,
                key="config_type",
            )
        obj = import_object(self.config_type_ref, source=self.path, key="config_type")
        if not isinstance(obj, type):
            raise ConfigError(
                f"{self.config_type_ref!r} is not a class", source=self.path, key="config_type"
            )
        return obj

    def step(self) -> Any:
        """Import the step function the registry names (``step = "module:name"``)."""
        if self.step_ref is None:
            raise ConfigError("the registry names no step", source=self.path, key="step")
        obj = import_object(self.step_ref, source=self.path, key="step")
        if not callable(obj):
            raise ConfigError(f"{self.step_ref!r} is not callable", source=self.path, key="step")
        return obj

    def resolve(
        self, name: str, *, config_type: type[Any] | None = None
    ) -> ResolvedRegistryExperiment:
        """Expand one experiment into its concrete runs (validated, nothing run)."""
        experiment = self.require(name)
        target = config_type if config_type is not None else self.config_type()
        runs: list[ConcreteRun[Any]] = []
        models = self.models_of(experiment)
        if not models:
            runs = expand_sweep(
                experiment.sweep, target, source=experiment.sweep_file, groups=experiment.groups
            )
        for model, model_set in models:
            fixed = [
                Override(p, v, f"{self.path}: models.{model}")
                for p, v in self.models[model].items()
            ]
            for scope in (model_set, model):
                if scope is not None and scope in experiment.overrides:
                    fixed += [
                        Override(p, v, f"{self.path}: experiments.{name}.overrides.{scope}")
                        for p, v in experiment.overrides[scope].items()
                    ]
            runs += expand_sweep(
                experiment.sweep,
                target,
                source=experiment.sweep_file,
                fixed=fixed,
                labels=[("model", model)],
                groups=experiment.groups,
                model=model,
            )
        seen: dict[str, str] = {}
        for run in runs:
            if run.fingerprint in seen:
                raise ConfigError(
                    f"runs {seen[run.fingerprint]!r} and {run.concrete_name!r} resolve to the "
                    "same config; two models of the experiment are identical",
                    source=self.path,
                    key=f"experiments.{name}",
                )
            seen[run.fingerprint] = run.concrete_name
        runs = [dataclasses.replace(run, index=i) for i, run in enumerate(runs)]
        return ResolvedRegistryExperiment(experiment=experiment, runs=tuple(runs))

    def resolve_experiment(
        self, name: str, *, config_type: type[Any] | None = None
    ) -> ResolvedRegistryExperiment:
        """Seed 002's name for :meth:`resolve`."""
        return self.resolve(name, config_type=config_type)

    def expand(
        self,
        *,
        names: Sequence[str] = (),
        groups: Sequence[str] = (),
        config_type: type[Any] | None = None,
    ) -> list[ConcreteRun[Any]]:
        """The concrete runs of the selected experiments, in registry order."""
        runs: list[ConcreteRun[Any]] = []
        for experiment in self.select(names=names, groups=groups):
            runs += self.resolve(experiment.name, config_type=config_type).runs
        return runs

    def models_of(self, experiment: RegisteredExperiment) -> list[tuple[str, str | None]]:
        """``(model, model set or None)`` of an experiment, inline models first, no repeats."""
        ordered: dict[str, str | None] = {model: None for model in experiment.models}
        for set_name in experiment.model_sets:
            for model in self.model_set(set_name).models:
                ordered.setdefault(model, set_name)
        return list(ordered.items())


def _check_list(values: Sequence[str], *, source: str, key: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if not value.strip():
            raise ConfigError("expected a non-empty name", source=source, key=f"{key}.{i}")
        if value in seen:
            raise ConfigError(f"{value!r} is listed twice", source=source, key=f"{key}.{i}")
        seen.add(value)


def _sweep_of(
    name: str, table: ExperimentTable, *, base_dir: Path, source: str
) -> tuple[Sweep, str]:
    key = f"experiments.{name}.sweep"
    if isinstance(table.sweep, str):
        path = Path(table.sweep)
        if not path.is_absolute():
            path = base_dir / path
        sweep = load_sweep(path)
        return msgspec.structs.replace(sweep, name=name), str(path)
    if "name" in table.sweep:
        raise ConfigError(
            "an inline sweep takes the experiment's name; remove 'name'", source=source, key=key
        )
    sweep = config_from_table({**table.sweep, "name": name}, Sweep, source=source, prefix=key)
    return sweep, source


def load_experiment_registry(path: str | os.PathLike[str]) -> ExperimentRegistry:
    """Read and validate a registry file.

    Names, references (models, model sets, override scopes, sweep files)
    and override paths are checked here; configs are checked against the
    config type when experiments are resolved.

    :raises ConfigError: naming the file (registry or sweep) and the dotted key.
    """
    source = str(path)
    raw = read_toml(path)
    # Named tables are decoded one by one first, so that an error names the
    # entry (msgspec reports dict keys as "[...]").
    for section, entry_type in (("experiments", ExperimentTable), ("model_sets", ModelSetTable)):
        entries = raw.get(section)
        if isinstance(entries, dict):
            for entry_name, entry in entries.items():
                config_from_table(
                    entry, entry_type, source=source, prefix=f"{section}.{entry_name}"
                )
    data = config_from_table(raw, RegistryFile, source=source)
    if data.schema_version > REGISTRY_VERSION:
        raise ConfigError(
            f"schema_version {data.schema_version} is newer than this capsa reads "
            f"({REGISTRY_VERSION}); upgrade capsa",
            source=source,
            key="schema_version",
        )
    base_dir = Path(path).parent
    for model, overrides in data.models.items():
        check_paths(((p, f"models.{model}.{p}") for p in overrides), source=source)
    model_sets: list[ModelSetDefinition] = []
    for set_name, set_table in data.model_sets.items():
        _check_list(set_table.models, source=source, key=f"model_sets.{set_name}.models")
        for i, model in enumerate(set_table.models):
            if model not in data.models:
                raise ConfigError(
                    _unknown("model", model, list(data.models)),
                    source=source,
                    key=f"model_sets.{set_name}.models.{i}",
                )
        model_sets.append(
            ModelSetDefinition(set_name, tuple(set_table.models), set_table.description)
        )
    experiments: list[RegisteredExperiment] = []
    for name, table in data.experiments.items():
        prefix = f"experiments.{name}"
        try:
            check_name(name)
        except ConfigError as exc:
            raise ConfigError(str(exc).split(": ", 1)[-1], source=source, key=prefix) from None
        for field_name in ("models", "model_sets", "groups"):
            _check_list(getattr(table, field_name), source=source, key=f"{prefix}.{field_name}")
        for i, model in enumerate(table.models):
            if model not in data.models:
                raise ConfigError(
                    _unknown("model", model, list(data.models)),
                    source=source,
                    key=f"{prefix}.models.{i}",
                )
        for i, set_name in enumerate(table.model_sets):
            if set_name not in data.model_sets:
                raise ConfigError(
                    _unknown("model set", set_name, list(data.model_sets)),
                    source=source,
                    key=f"{prefix}.model_sets.{i}",
                )
        scopes = [*table.models, *table.model_sets]
        for set_name in table.model_sets:
            scopes += data.model_sets[set_name].models
        for scope, overrides in table.overrides.items():
            if scope not in scopes:
                allowed = ", ".join(dict.fromkeys(scopes)) or "none"
                raise ConfigError(
                    f"overrides are keyed by the experiment's models and model sets; "
                    f"{scope!r} is neither (they are: {allowed})",
                    source=source,
                    key=f"{prefix}.overrides.{scope}",
                )
            check_paths(((p, f"{prefix}.overrides.{scope}.{p}") for p in overrides), source=source)
        sweep, sweep_file = _sweep_of(name, table, base_dir=base_dir, source=source)
        groups = tuple(dict.fromkeys([*table.groups, *table.model_sets]))
        experiments.append(
            RegisteredExperiment(
                name=name,
                sweep=sweep,
                sweep_file=sweep_file,
                models=tuple(table.models),
                model_sets=tuple(table.model_sets),
                groups=groups,
                overrides=dict(table.overrides),
                description=table.description,
            )
        )
    results_root = data.results_root
    if results_root is not None and "://" not in results_root:
        root_path = Path(results_root).expanduser()
        results_root = str(root_path if root_path.is_absolute() else base_dir / root_path)
    return ExperimentRegistry(
        path=source,
        experiments=tuple(experiments),
        model_sets=tuple(model_sets),
        models=dict(data.models),
        config_type_ref=data.config_type,
        step_ref=data.step,
        results_root=results_root,
    )


def resolve_registry_experiment(
    name: str, *, registry_path: str | os.PathLike[str], config_type: type[Any] | None = None
) -> ResolvedRegistryExperiment:
    """Load a registry and resolve one experiment (seed 002's function of the same name)."""
    return load_experiment_registry(registry_path).resolve(name, config_type=config_type)


__all__ = [
    "REGISTRY_VERSION",
    "ExperimentRegistry",
    "ExperimentTable",
    "ModelSetDefinition",
    "ModelSetTable",
    "RegisteredExperiment",
    "RegistryFile",
    "ResolvedRegistryExperiment",
    "load_experiment_registry",
    "resolve_registry_experiment",
]
