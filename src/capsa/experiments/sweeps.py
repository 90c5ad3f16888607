"""Sweeps: a base config, fixed overrides and Cartesian axes, expanded into concrete runs.

A sweep file (TOML)::

    name = "ridge-grid"
    base = "base.toml"          # a TOML file of the config, or an inline [base] table
    max_workers = "auto"        # or a positive int; "auto" = min(runs, CPUs)

    [overrides]                 # fixed: applied to every run, in order
    epochs = 5

    [[axes]]                    # Cartesian product, last axis varies fastest
    path = "model.alpha"
    values = [0.1, 1.0, 10.0]

:func:`expand_sweep` turns it into :class:`ConcreteRun` objects, each with a
deterministic ``concrete_name``, its ``applied_overrides`` (fixed then axis
values, by dotted path), the decoded config and the config's
:func:`~capsa.experiments.fingerprint.stable_fingerprint`. Everything is
validated first: a path the config type does not have, a value of the wrong
type, a duplicate axis value or two runs with the same config are
:class:`~capsa.errors.ConfigError` errors raised before any run starts.

Path rules: no two axes may share a path or lie one under the other; an axis
may not replace a fixed override (same path, or the axis above it); a fixed
override may lie under an earlier one (``"model"`` then ``"model.alpha"``)
but not above it.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import msgspec

from capsa.errors import ConfigError, InvalidKeyError
from capsa.experiments.configs import config_from_table, read_toml, serialise_config
from capsa.experiments.fingerprint import FingerprintError, canonical_json, stable_fingerprint
from capsa.experiments.overrides import Override, apply_overrides, check_paths
from capsa.experiments.paths import to_tree
from capsa.store.keys import validate_key

C = TypeVar("C")

SWEEP_VERSION = 1
"""The newest sweep-file ``schema_version`` this capsa reads."""

WorkerCount = int | Literal["auto"]
"""``max_workers``: a positive int, or ``"auto"`` (min(runs, CPUs))."""

_BARE = re.compile(r"^[A-Za-z0-9_.+\-]+$")


def check_name(name: object, *, key: str = "name") -> str:
    """A sweep or experiment name: one valid store-key segment (no ``/``)."""
    if not isinstance(name, str) or not name:
        raise ConfigError(f"expected a non-empty name, got {name!r}", key=key)
    if "/" in name:
        raise ConfigError(f"name {name!r} must not contain '/'", key=key)
    try:
        validate_key(name)
    except InvalidKeyError as exc:
        raise ConfigError(str(exc), key=key) from None
    return name


def check_workers(value: object, *, key: str = "max_workers") -> None:
    """``max_workers`` must be a positive int or ``"auto"``."""
    if value == "auto":
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"expected a positive int or 'auto', got {value!r}", key=key)


class SweepAxis(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One Cartesian-product axis.

    :ivar path: dotted override path (``"model.alpha"``).
    :ivar values: the values the path takes, at least one, no duplicates.
    """

    path: str
    values: list[Any]

    def __post_init__(self) -> None:
        """Check the path's shape and that values are present, canonical and distinct."""
        check_paths([(self.path, "path")])
        if not self.values:
            raise ConfigError("an axis needs at least one value", key="values")
        seen: dict[bytes, int] = {}
        for i, value in enumerate(self.values):
            try:
                encoded = canonical_json(value)
            except FingerprintError as exc:
                raise ConfigError(str(exc), key=f"values.{i}") from None
            if encoded in seen:
                raise ConfigError(
                    f"value {value!r} appears twice (positions {seen[encoded]} and {i})",
                    key=f"values.{i}",
                )
            seen[encoded] = i


class Sweep(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A base config, fixed overrides and Cartesian axes (seed 002's ``SweepConfig``).

    A sweep with no axes is one concrete run.

    :ivar name: the sweep's name: the ``<name>`` of its run directories.
    :ivar base: the base config: a table, the path of a TOML file (relative to
        the sweep file), a config instance, or None (the config type's
        defaults).
    :ivar overrides: fixed overrides applied to every run, dotted path -> value.
    :ivar axes: the Cartesian axes.
    :ivar max_workers: concrete runs executed at once; ``"auto"`` caps it to
        the number of runs and of CPUs.
    :ivar description: free text.
    :ivar results_root: where run directories go when the runner is given no
        root (a path or a capsa URL).
    :ivar schema_version: sweep-file schema version.
    """

    name: str
    base: Any = None
    overrides: dict[str, Any] = msgspec.field(default_factory=dict)
    axes: list[SweepAxis] = msgspec.field(default_factory=list)
    max_workers: WorkerCount = 1
    description: str | None = None
    results_root: str | None = None
    schema_version: int = SWEEP_VERSION

    def __post_init__(self) -> None:
        """Check the name, worker count, schema version and that paths do not collide."""
        if self.schema_version > SWEEP_VERSION:
            raise ConfigError(
                f"schema_version {self.schema_version} is newer than this capsa reads "
                f"({SWEEP_VERSION}); upgrade capsa",
                key="schema_version",
            )
        check_name(self.name)
        check_workers(self.max_workers)
        check_paths((path, f"overrides.{path}") for path in self.overrides)
        fixed = [tuple(p.split(".")) for p in self.overrides]
        for i, later in enumerate(fixed):
            for earlier in fixed[:i]:
                if len(later) < len(earlier) and earlier[: len(later)] == later:
                    raise ConfigError(
                        f"override {'.'.join(later)!r} would replace the earlier override "
                        f"{'.'.join(earlier)!r}; put it first",
                        key=f"overrides.{'.'.join(later)}",
                    )
        axes = [tuple(a.path.split(".")) for a in self.axes]
        for i, axis in enumerate(axes):
            for j, other in enumerate(axes[:i]):
                n = min(len(axis), len(other))
                if axis[:n] == other[:n]:
                    raise ConfigError(
                        f"axis path {self.axes[i].path!r} overlaps axis {j} "
                        f"({self.axes[j].path!r}); axes must set disjoint paths",
                        key=f"axes.{i}.path",
                    )
            for path in fixed:
                if len(axis) <= len(path) and path[: len(axis)] == axis:
                    raise ConfigError(
                        f"axis path {self.axes[i].path!r} would replace the fixed override "
                        f"{'.'.join(path)!r}",
                        key=f"axes.{i}.path",
                    )

    @property
    def size(self) -> int:
        """How many concrete runs the sweep expands into."""
        total = 1
        for axis in self.axes:
            total *= len(axis.values)
        return total

    def expand(self, config_type: type[C], *, source: str | None = None) -> list[ConcreteRun[C]]:
        """Expand into concrete runs (see :func:`expand_sweep`)."""
        return expand_sweep(self, config_type, source=source)


@dataclass(frozen=True)
class ConcreteRun(Generic[C]):
    """One fully resolved run of a sweep (seed 002's ``ExperimentBundle``).

    :ivar name: the sweep or registry experiment name (``<name>`` in run paths).
    :ivar concrete_name: deterministic label of this run within the sweep
        (``"ridge-grid__alpha=0.1"``).
    :ivar index: position in the expansion order.
    :ivar config: the decoded, validated config.
    :ivar applied_overrides: every override applied, dotted path -> value,
        in order (fixed ones first).
    :ivar fingerprint: :func:`stable_fingerprint` of the normalised config.
    :ivar normalized: the normalised config (canonical JSON-like mapping).
    :ivar groups: registry groups the run belongs to.
    :ivar model: the registry model name, when the run came from one.
    :ivar source: the file the sweep was read from, if any.
    """

    name: str
    concrete_name: str
    index: int
    config: C
    applied_overrides: dict[str, Any]
    fingerprint: str
    normalized: dict[str, Any] = field(repr=False)
    groups: tuple[str, ...] = ()
    model: str | None = None
    source: str | None = None

    def normalized_config(self) -> dict[str, Any]:
        """A copy of the normalised config payload (what ``config.json`` holds)."""
        return copy.deepcopy(self.normalized)

    @property
    def config_type(self) -> str:
        """``module.QualName`` of the config's type."""
        cls = type(self.config)
        return f"{cls.__module__}.{cls.__qualname__}"


def label_value(value: Any) -> str:
    """How a value appears in a ``concrete_name``: short, deterministic, unambiguous."""
    if isinstance(value, str) and _BARE.match(value):
        try:
            json.loads(value)
        except ValueError:
            return value  # plain words stay bare; "1" or "true" get quoted below
    text = canonical_json(value).decode("ascii")
    if len(text) <= 40:
        return text
    return f"#{stable_fingerprint(value)[:12]}"


def _axis_labels(paths: Sequence[str]) -> list[str]:
    last = [p.rsplit(".", 1)[-1] for p in paths]
    return [
        short if last.count(short) == 1 else path for short, path in zip(last, paths, strict=True)
    ]


def _base_tree(sweep: Sweep, config_type: type[Any], source: str | None) -> tuple[Any, str | None]:
    base = sweep.base
    where: str | None = source
    prefix = "base"
    if isinstance(base, str):
        path = Path(base)
        if not path.is_absolute() and source is not None:
            path = Path(source).parent / path
        table: Any = read_toml(path)
        where, prefix = str(path), ""
    elif base is None:
        table = {}
    elif isinstance(base, config_type):
        table = to_tree(base)
    elif isinstance(base, Mapping):
        table = dict(base)
    else:
        raise ConfigError(
            f"expected a table, a TOML path or a {config_type.__qualname__}, got "
            f"{type(base).__name__}",
            source=source,
            key="base",
        )
    decoded = config_from_table(table, config_type, source=where or "base config", prefix=prefix)
    return to_tree(decoded), where


def expand_sweep(
    sweep: Sweep,
    config_type: type[C],
    *,
    source: str | None = None,
    fixed: Sequence[Override] = (),
    labels: Sequence[tuple[str, str]] = (),
    groups: Sequence[str] = (),
    model: str | None = None,
) -> list[ConcreteRun[C]]:
    """Expand ``sweep`` into validated concrete runs, in a deterministic order.

    :param config_type: the msgspec Struct (or dataclass) the configs decode to.
    :param source: the sweep's file, named in errors; relative ``base``
        paths are resolved against its folder.
    :param fixed: more fixed overrides, applied after the sweep's own (the
        registry's model overrides).
    :param labels: ``(key, value)`` pairs put first in ``concrete_name``.
    :param groups: registry groups recorded on each run.
    :param model: registry model name recorded on each run.
    :raises ConfigError: any bad path or value, duplicate configs; nothing
        has run yet.
    """
    base_tree, _ = _base_tree(sweep, config_type, source)
    fixed_overrides = [
        Override(path, value, f"overrides.{path}") for path, value in sweep.overrides.items()
    ]
    for extra in fixed:
        for i, axis in enumerate(sweep.axes):
            axis_parts = tuple(axis.path.split("."))
            if extra.parts[: len(axis_parts)] == axis_parts:
                raise ConfigError(
                    f"axis path {axis.path!r} would replace {extra.describe()}",
                    source=source,
                    key=f"axes.{i}.path",
                )
    fixed_overrides += list(fixed)
    # Each axis value alone first: the error names the axis and the value.
    for i, axis in enumerate(sweep.axes):
        for j, value in enumerate(axis.values):
            apply_overrides(
                config_type,
                base_tree,
                [*fixed_overrides, Override(axis.path, value, f"axes[{i}] value {j}")],
                source=source,
            )
    names = _axis_labels([axis.path for axis in sweep.axes])
    runs: list[ConcreteRun[C]] = []
    by_fingerprint: dict[str, str] = {}
    combos = itertools.product(*(list(enumerate(axis.values)) for axis in sweep.axes))
    for index, combo in enumerate(combos):
        axis_overrides = [
            Override(axis.path, value, f"axes[{i}] value {j}")
            for i, (axis, (j, value)) in enumerate(zip(sweep.axes, combo, strict=True))
        ]
        overrides = [*fixed_overrides, *axis_overrides]
        parts = [*labels, *((n, label_value(v)) for n, (_, v) in zip(names, combo, strict=True))]
        concrete = "__".join([sweep.name, *(f"{k}={v}" for k, v in parts)])
        config, _tree = apply_overrides(config_type, base_tree, overrides, source=source)
        try:
            normalized = serialise_config(config)
        except ConfigError as exc:
            raise ConfigError(f"run {concrete!r}: {exc}", source=source) from None
        fingerprint = stable_fingerprint(normalized)
        if fingerprint in by_fingerprint:
            raise ConfigError(
                f"runs {by_fingerprint[fingerprint]!r} and {concrete!r} resolve to the same "
                "config (e.g. axis values 1 and 1.0 for a float field); remove one",
                source=source,
                key="axes",
            )
        by_fingerprint[fingerprint] = concrete
        runs.append(
            ConcreteRun(
                name=sweep.name,
                concrete_name=concrete,
                index=index,
                config=config,
                applied_overrides={o.path: copy.deepcopy(o.value) for o in overrides},
                fingerprint=fingerprint,
                normalized=normalized,
                groups=tuple(groups),
                model=model,
                source=source,
            )
        )
    return runs


def load_sweep(path: str | Path) -> Sweep:
    """Read a sweep file; a bad key or value is a :class:`ConfigError` naming file and key.

    Relative paths in the file (``base``, a local ``results_root``) are
    resolved against the file's folder (and made absolute).
    """
    data = read_toml(path)
    sweep = config_from_table(data, Sweep, source=str(path))
    folder = Path(path).absolute().parent
    changes: dict[str, Any] = {}
    if isinstance(sweep.base, str) and not Path(sweep.base).is_absolute():
        changes["base"] = str(folder / sweep.base)
    root = sweep.results_root
    if root is not None and "://" not in root and not Path(root).expanduser().is_absolute():
        changes["results_root"] = str(folder / root)
    return msgspec.structs.replace(sweep, **changes) if changes else sweep


def expand_sweep_file(path: str | Path, config_type: type[C]) -> list[ConcreteRun[C]]:
    """Read a sweep file and expand it (relative ``base`` paths: next to the file)."""
    return expand_sweep(load_sweep(path), config_type, source=str(path))


__all__ = [
    "SWEEP_VERSION",
    "ConcreteRun",
    "Sweep",
    "SweepAxis",
    "WorkerCount",
    "check_name",
    "check_workers",
    "expand_sweep",
    "expand_sweep_file",
    "label_value",
    "load_sweep",
]
