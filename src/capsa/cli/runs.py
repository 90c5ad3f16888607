"""``capsa runs``: query the catalog; filter, order by a metric, limit, export.

::

    capsa runs --kind experiment.run --where status=success --order-by loss --limit 10
    capsa runs --where "loss<0.5" --where model=ridge --columns alpha,epochs --json
    capsa runs --kind experiment.run -o runs.parquet      # or runs.csv

The first query on a store without a catalog builds it from the manifests.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from capsa.cli import exitcodes
from capsa.cli.render import emit_json, human_size, table

MAX_AUTO_FIELDS = 6
"""Fields shown when none is asked for."""


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def cmd_runs(args: argparse.Namespace) -> int:
    """List catalogued artifacts: filter by kind and fields, order by a metric, export."""
    from capsa.catalog.open import open_catalog
    from capsa.catalog.query import parse_filter
    from capsa.cli.main import _store

    store = _store(args)
    catalog = open_catalog(store)
    filters = [parse_filter(text) for text in args.where]
    rows = catalog.query(
        kind=args.kind,
        where=filters,
        order_by=args.order_by,
        descending=args.desc,
        limit=args.limit,
        prefix=args.prefix or "",
        all_namespaces=args.all_namespaces,
    )
    if args.output:
        count = catalog.export(args.output, rows)
        print(f"wrote {count} row(s) to {args.output}", file=sys.stderr)
        if not args.json:
            return exitcodes.OK
    if args.json:
        emit_json({"store": store.url, "catalog": catalog.location, "rows": rows})
        return exitcodes.OK
    if not rows:
        print(f"no catalogued artifacts match in {store.url}")
        return exitcodes.OK
    wanted: list[str] = []
    for name in [args.order_by, *(f.name for f in filters), *args.columns.split(",")]:
        if name and name not in wanted and name not in ("key", "kind", "status", "created_at"):
            wanted.append(name)
    if not args.columns and len(wanted) < MAX_AUTO_FIELDS:
        for row in rows:
            for name in row.fields:
                if name not in wanted and len(wanted) < MAX_AUTO_FIELDS:
                    wanted.append(name)
    headers = ["KEY", "KIND", "STATUS", "CREATED", *(w.upper() for w in wanted)]
    body = []
    for row in rows:
        cells = [row.key, row.kind, row.status, row.created_at[:19]]
        for name in wanted:
            value = row.get(name)
            cells.append(human_size(value) if name == "size" else _cell(value))
        body.append(cells)
    print(table(body, headers))
    return exitcodes.OK


def register(
    add: Callable[..., argparse.ArgumentParser], store_opts: argparse.ArgumentParser
) -> None:
    """Add ``capsa runs`` through the main parser's ``add`` helper."""
    p = add("runs", cmd_runs, "query the catalog: filter, order by a metric, export", (store_opts,))
    p.add_argument("prefix", nargs="?", default="", help="only keys starting with this")
    p.add_argument("--kind", help="only artifacts of this kind (e.g. experiment.run)")
    p.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="FILTER",
        help="NAME OP VALUE with OP one of = != < <= > >= (repeatable; all must hold)",
    )
    p.add_argument("--order-by", metavar="NAME", help="a column or field (e.g. loss)")
    p.add_argument("--desc", action="store_true", help="largest first")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="at most N rows")
    p.add_argument("--columns", default="", metavar="A,B", help="fields to show (comma-separated)")
    p.add_argument(
        "-o", "--output", metavar="FILE", help="also write the rows to FILE (.parquet or .csv)"
    )
    p.add_argument(
        "--all-namespaces",
        action="store_true",
        help="every namespace of the root (default: the store's)",
    )
