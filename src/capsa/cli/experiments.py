"""``capsa experiments list|expand|run``: the experiments of a registry file.

::

    capsa experiments list                          # names, groups, models, run counts
    capsa experiments expand grid --json            # concrete runs and fingerprints
    capsa experiments run grid --group smoke        # run them; exit 1 if any failed

The registry is ``experiments.toml`` in the current folder unless
``--registry`` names another; its folder is put first on ``sys.path`` so that
its ``config_type`` and ``step`` references (``"module:name"``) import.
Run directories go to ``--store`` (a path or capsa URL), else the registry's
``results_root``, else the configured default store.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from capsa.cli import exitcodes
from capsa.cli.render import emit_json, table
from capsa.errors import ConfigError


class _Usage(Exception):
    """Raised for a command line that cannot work (turned into exit code 2)."""


def _registry(args: argparse.Namespace) -> Any:
    from capsa.experiments.registry import load_experiment_registry

    path = Path(args.registry)
    if not path.is_file():
        raise ConfigError("the registry file does not exist", source=str(path))
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return load_experiment_registry(path)


def _config_type(args: argparse.Namespace, registry: Any) -> type[Any]:
    if args.config_type:
        from capsa.experiments.configs import import_object

        obj = import_object(args.config_type, source="--config-type", key="config_type")
        if not isinstance(obj, type):
            raise ConfigError(f"{args.config_type!r} is not a class", source="--config-type")
        return obj
    config_type: type[Any] = registry.config_type()
    return config_type


def _list(args: argparse.Namespace, registry: Any) -> int:
    rows: list[dict[str, Any]] = []
    for experiment in registry.select(names=args.names, groups=args.group):
        models = registry.models_of(experiment)
        runs = experiment.sweep.size * max(1, len(models))
        rows.append(
            {
                "name": experiment.name,
                "groups": list(experiment.groups),
                "models": [m for m, _ in models],
                "runs": runs,
                "sweep_file": experiment.sweep_file,
                "description": experiment.description,
            }
        )
    if args.json:
        emit_json({"registry": registry.path, "experiments": rows})
        return exitcodes.OK
    if not rows:
        print(f"no experiments in {registry.path}")
        return exitcodes.OK
    print(
        table(
            [
                [
                    r["name"],
                    ",".join(r["groups"]) or "-",
                    ",".join(r["models"]) or "-",
                    str(r["runs"]),
                    r["description"] or "",
                ]
                for r in rows
            ],
            ["NAME", "GROUPS", "MODELS", "RUNS", "DESCRIPTION"],
        )
    )
    return exitcodes.OK


def _expand(args: argparse.Namespace, registry: Any) -> int:
    runs = registry.expand(
        names=args.names, groups=args.group, config_type=_config_type(args, registry)
    )
    if args.json:
        emit_json(
            {
                "registry": registry.path,
                "runs": [
                    {
                        "name": run.name,
                        "concrete_name": run.concrete_name,
                        "fingerprint": run.fingerprint,
                        "model": run.model,
                        "groups": list(run.groups),
                        "applied_overrides": run.applied_overrides,
                        "config": run.normalized,
                    }
                    for run in runs
                ],
            }
        )
        return exitcodes.OK
    print(
        table(
            [[run.concrete_name, run.fingerprint[:12]] for run in runs],
            ["CONCRETE NAME", "FINGERPRINT"],
        )
    )
    return exitcodes.OK


def _run(args: argparse.Namespace, registry: Any) -> int:
    from capsa.experiments.runner import run_sweep

    if not args.names and not args.group and not args.all:
        raise _Usage("name the experiments to run, give --group, or pass --all")
    config_type = _config_type(args, registry)
    step = registry.step()
    runs = registry.expand(names=args.names, groups=args.group, config_type=config_type)
    root: Any = args.store or registry.results_root
    if root is None:
        from capsa.api import open_store

        root = open_store(None, mode=args.mode, session=args.session, test_name=args.test_name)
    elif args.mode or args.session or args.test_name:
        from capsa.api import open_store

        root = open_store(root, mode=args.mode, session=args.session, test_name=args.test_name)
    summary = run_sweep(
        runs,
        step,
        root=root,
        max_workers=args.max_workers,
        attempts=not args.no_attempts,
        resume=not args.no_resume,
        executor=args.executor,
        progress=False if args.no_progress else None,
        echo=False,
    )
    if args.json:
        emit_json(summary)
    else:
        print(summary.render())
    return exitcodes.OK if summary.ok else exitcodes.PROBLEMS


def _workers(value: str) -> int | str:
    if value == "auto":
        return value
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive int or 'auto', got {value!r}"
        ) from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive int or 'auto', got {value!r}")
    return number


def cmd_experiments(args: argparse.Namespace) -> int:
    """List, expand or run the experiments of a registry (experiments.toml)."""
    registry = _registry(args)
    actions: dict[str, Callable[[argparse.Namespace, Any], int]] = {
        "list": _list,
        "expand": _expand,
        "run": _run,
    }
    try:
        return actions[args.action](args, registry)
    except _Usage as exc:
        print(f"capsa: error: {exc}", file=sys.stderr)
        return exitcodes.USAGE


def register(
    add: Callable[..., argparse.ArgumentParser], store_opts: argparse.ArgumentParser
) -> None:
    """Add ``capsa experiments`` through the main parser's ``add`` helper."""
    p = add(
        "experiments",
        cmd_experiments,
        "list, expand and run the experiments of a registry",
        (store_opts,),
    )
    p.add_argument("action", choices=["list", "expand", "run"])
    p.add_argument("names", nargs="*", help="experiment names (default: all, for list/expand)")
    p.add_argument("--registry", default="experiments.toml", help="the registry TOML file")
    p.add_argument("--group", action="append", default=[], help="select experiments of this group")
    p.add_argument("--all", action="store_true", help="run every experiment")
    p.add_argument("--config-type", help="'module:Class' overriding the registry's config_type")
    p.add_argument(
        "--max-workers", type=_workers, default=None, help="runs at once (an int or 'auto')"
    )
    p.add_argument("--executor", choices=["thread", "process"], default="thread")
    p.add_argument("--no-resume", action="store_true", help="run again even successful runs")
    p.add_argument(
        "--no-attempts", action="store_true", help="write <name>/<fingerprint>/ directly"
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
