"""``python -m capsa_dimred demo ROOT``: run the demo pipeline and print its inventories.

``ROOT`` is a path or any capsa URL (``memory://x/out``, ``s3://bucket/out``);
the pipeline writes fits, evals, inventories and the run status there.
"""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run; return the exit code (0 ok, 5 on a capsa error)."""
    from capsa.errors import CapsaError

    parser = argparse.ArgumentParser(prog="python -m capsa_dimred", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the PCA demo pipeline into ROOT and print tables")
    demo.add_argument("root", help="output root: a path or a capsa URL")
    demo.add_argument("--seed", type=int, default=7, help="dataset seed (default 7)")
    args = parser.parse_args(argv)
    from capsa_dimred.demo import report, run_pipeline

    try:
        result = run_pipeline(args.root, seed=args.seed)
    except CapsaError as exc:
        print(f"error: {type(exc).__name__}: {exc}")
        return 5
    print(report(result))
    return 0
