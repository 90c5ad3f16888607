"""Run capsa's benchmarks and print ratios against baselines measured in the same run.

    .venv/bin/python bench/run.py                  # all benchmarks
    .venv/bin/python bench/run.py commit           # only modules whose name contains "commit"
    .venv/bin/python bench/run.py --update-docs    # all, and the table into docs/performance.md

Every ``bench_*.py`` module next to this file exposes ``run(workdir) -> list[dict]``;
each row names a baseline and reports both timings, the ratio and the target.
Results go to ``bench/out/results.json`` and, as a Markdown table of ratios,
``bench/out/results.md`` (both git-ignored). ``--update-docs`` also replaces the
table between the ``bench-table`` markers of ``docs/performance.md``.
"""

from __future__ import annotations

import datetime
import importlib
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DOCS_PAGE = HERE.parent / "docs" / "performance.md"
START, END = "<!-- bench-table:start -->", "<!-- bench-table:end -->"


def _status(row: dict[str, Any]) -> str:
    ratio, target = float(row["ratio"]), float(row["target"])
    ok = ratio >= target if row.get("higher_is_better", True) else ratio <= target
    return "met" if ok else "MISSED"


def _number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def markdown_table(rows: list[dict[str, Any]], command: str) -> str:
    """The results as a Markdown table of ratios, with when, where and how they were measured."""
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    where = (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}"
    )
    missed = [r["name"] for r in rows if _status(r) == "MISSED"]
    lines = [
        f"Measured {when} on {where} with `{command}`.",
        f"{len(rows) - len(missed)} of {len(rows)} targets met"
        + (f"; missed: {', '.join(missed)}." if missed else "."),
        "",
        "| benchmark | baseline | baseline s | capsa s | ratio | target | status |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        cmp = "≥" if row.get("higher_is_better", True) else "≤"
        status = "met" if _status(row) == "met" else "**missed**"
        lines.append(
            f"| {row['name']} | {row['baseline']} | {_number(float(row['baseline_s']))} | "
            f"{_number(float(row['capsa_s']))} | {float(row['ratio']):.2f} | "
            f"{cmp} {float(row['target']):g} | {status} |"
        )
    return "\n".join(lines) + "\n"


def update_docs(table: str, page: Path = DOCS_PAGE) -> None:
    """Replace the table between the ``bench-table`` markers of ``page``."""
    text = page.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{page}: the {START} / {END} markers are missing")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    page.write_text(f"{head}{START}\n{table}{END}{tail}")


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(HERE))
    args = argv[1:]
    docs = "--update-docs" in args
    wanted = [a for a in args if a != "--update-docs"]
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if wanted:
        modules = [m for m in modules if any(w in m for w in wanted)]
    rows: list[dict[str, Any]] = []
    for name in modules:
        module = importlib.import_module(name)
        scratch = HERE / "out"  # git-ignored, on the same disk as the repository
        scratch.mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f"{name}-", dir=scratch) as tmp:
            t0 = time.perf_counter()
            try:
                produced = module.run(Path(tmp))
            except ImportError as exc:  # a plugin the benchmark needs is not installed
                print(f"{name}: skipped ({exc})")
                continue
            print(f"{name}: {time.perf_counter() - t0:.1f}s")
        rows.extend(produced)
    header = (
        f"{'benchmark':44} {'baseline':34} {'base s':>9} {'capsa s':>9} "
        f"{'ratio':>6} {'target':>8}  status"
    )
    print()
    print(header)
    print("-" * len(header))
    for row in rows:
        cmp = ">=" if row.get("higher_is_better", True) else "<="
        print(
            f"{row['name']!s:44} {row['baseline']!s:34} {float(row['baseline_s']):9.4f} "
            f"{float(row['capsa_s']):9.4f} {float(row['ratio']):6.2f} "
            f"{cmp}{float(row['target']):6.2f}  {_status(row)}"
        )
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps(rows, indent=2))
    command = "python bench/run.py" + "".join(f" {a}" for a in args)
    table = markdown_table(rows, command)
    (out / "results.md").write_text(table)
    print(f"\nMarkdown table: {out / 'results.md'}")
    if docs:
        if wanted:
            raise SystemExit("--update-docs needs the full run (no module filter)")
        update_docs(table)
        print(f"updated {DOCS_PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
