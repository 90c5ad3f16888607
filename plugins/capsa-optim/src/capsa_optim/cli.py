"""``capsa optim table|plot`` (also ``capsa-optim`` and ``python -m capsa_optim``).

::

    capsa optim table EXP [--meta-key KEY ...] [--save [NAME]] [--format auto|parquet|csv]
    capsa optim plot RUN [--out STEM] [--format png --format pdf]

``EXP`` is an experiment directory and ``RUN`` a run directory (paths or
capsa URLs). The plugin mounts these on ``capsa`` through the
``capsa_register_commands`` hook; ``capsa-optim`` is the same parser
standing alone.

Exit codes follow capsa's: 0 ok, 2 usage, 3 not found, 1 other capsa errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from capsa.errors import ArtifactNotFoundError, CapsaError, MemberNotFoundError

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_FOUND = 0, 1, 2, 3
"""Exit codes (the same as capsa's)."""


def cmd_table(args: argparse.Namespace) -> int:
    """Aggregate an experiment's runs; print the table and optionally save it."""
    from capsa_optim.experiment import Experiment
    from capsa_optim.table import DEFAULT_META_KEYS

    exp = Experiment(args.experiment)
    if not exp.run_ids():
        raise ArtifactNotFoundError(f"no committed runs under {exp.location.url}/runs")
    keys = tuple(args.meta_key) if args.meta_key else DEFAULT_META_KEYS
    table = exp.table(meta_keys=keys)
    if args.json:
        print(json.dumps(table.rows(), indent=2, default=str))
    else:
        shown = ["run_id", "status", "num_steps_completed", "loss_final", "loss_best", *keys]
        print(table.format_text([c for c in shown if c in table.columns]))
    if args.save is not None:
        ref = exp.write_table(meta_keys=keys, name=args.save, table_format=args.format)
        print(f"saved {len(table)} row(s) to {ref.url}", file=sys.stderr)
    return EXIT_OK


def cmd_plot(args: argparse.Namespace) -> int:
    """Plot a run's signals as a panel grid (PNG and PDF)."""
    from capsa_optim.location import locate_run
    from capsa_optim.plotting.render import plot_run, save_figure

    fig = plot_run(args.run)
    stem = args.out or f"{locate_run(args.run).key.rsplit('/', 1)[-1]}-panels"
    paths = save_figure(fig, stem, formats=args.format or ("png", "pdf"))
    for path in paths:
        print(path)
    return EXIT_OK


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``table`` and ``plot`` sub-commands to ``parser``."""
    sub = parser.add_subparsers(dest="optim_command", metavar="COMMAND", required=True)
    table = sub.add_parser(
        "table",
        help="aggregate summary.json (+ meta keys) of every run",
        description=cmd_table.__doc__,
    )
    table.add_argument("experiment", help="experiment directory (path or capsa URL)")
    table.add_argument(
        "--meta-key",
        action="append",
        metavar="KEY",
        help="dotted meta.json key to add as a column (repeatable)",
    )
    table.add_argument(
        "--save",
        nargs="?",
        const="table",
        metavar="NAME",
        help="also save the table as <experiment>/NAME (default name: table)",
    )
    table.add_argument(
        "--format",
        choices=("auto", "parquet", "csv"),
        default="auto",
        help="saved table format (auto: parquet when capsa-parquet is installed)",
    )
    table.add_argument("--json", action="store_true", help="print rows as JSON")
    plot = sub.add_parser(
        "plot", help="draw a run's signals as panels (PNG and PDF)", description=cmd_plot.__doc__
    )
    plot.add_argument("run", help="run directory (path or capsa URL)")
    plot.add_argument("--out", metavar="STEM", help="output path stem (default: <run>-panels)")
    plot.add_argument(
        "--format",
        action="append",
        choices=("png", "pdf", "svg"),
        help="output format (repeatable; default png and pdf)",
    )


def run(args: argparse.Namespace) -> int:
    """Dispatch a parsed ``table`` or ``plot`` command; return its exit code."""
    commands = {"table": cmd_table, "plot": cmd_plot}
    return commands[args.optim_command](args)


def build_parser() -> argparse.ArgumentParser:
    """The stand-alone ``capsa-optim`` parser (sub-commands ``table`` and ``plot``)."""
    parser = argparse.ArgumentParser(
        prog="capsa-optim", description="capsa-optim: experiment tables and run plots"
    )
    configure(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (ArtifactNotFoundError, MemberNotFoundError) as exc:
        print(f"capsa-optim: error: {exc}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except CapsaError as exc:
        print(f"capsa-optim: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
