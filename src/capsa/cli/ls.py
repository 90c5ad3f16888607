"""``capsa ls``: list committed artifacts, streamed page by page with a progress counter.

The listing is consumed lazily (:meth:`capsa.store.Store.iter_artifacts`):
rows are printed a page at a time (:data:`PAGE` artifacts), so a store of
100k artifacts is never held in memory, and the first rows appear while the
rest is still being listed. While it runs, a counter of the artifacts found
(and objects scanned) is drawn on stderr when stderr is a terminal;
``CAPSA_PROGRESS=0`` turns it off. The counter is cleared while a page is
printed.

Text output is one table: column widths come from the first page and only
ever grow, so a listing of up to :data:`PAGE` artifacts is aligned exactly
as a whole table would be. ``--json`` prints the same document as before,
``{"store": URL, "mode": MODE, "artifacts": [...]}``, written one artifact
at a time.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from capsa.cli import exitcodes
from capsa.cli.render import human_size

if TYPE_CHECKING:
    from capsa.progress import Progress
    from capsa.store.store import ArtifactInfo

PAGE = 1000
"""Artifacts printed at a time."""

HEADERS = ["KEY", "KIND", "SIZE", "CREATED"]
"""The table's columns (as before the listing streamed)."""


def cmd_ls(args: argparse.Namespace) -> int:
    """List committed artifacts."""
    from capsa.cli.main import _store
    from capsa.progress import progress_bar
    from capsa.store.store import listing_bar

    store = _store(args)
    prefix = args.prefix or ""
    with progress_bar(None, f"list {store.url} {prefix}".rstrip(), unit="artifacts") as bar:
        items = store.iter_artifacts(prefix, kind=args.kind, progress=listing_bar(bar))
        if args.json:
            _print_json(store, items, bar)
            return exitcodes.OK
        printed = _print_table(items, bar)
    if not printed:
        print(f"no artifacts in {store.url}" + (f" ({store.namespace})" if store.namespace else ""))
    return exitcodes.OK


def _pages(items: Iterator[ArtifactInfo]) -> Iterator[list[ArtifactInfo]]:
    page: list[ArtifactInfo] = []
    for item in items:
        page.append(item)
        if len(page) >= PAGE:
            yield page
            page = []
    if page:
        yield page


def _print_table(items: Iterator[ArtifactInfo], bar: Progress) -> int:
    """Print the rows page by page; return how many were printed."""
    widths = [len(h) for h in HEADERS]
    count = 0
    for page in _pages(items):
        rows = [[i.key, i.kind, human_size(i.size), i.created_at] for i in page]
        for row in rows:
            widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
        lines = [_line(row, widths) for row in rows]
        if not count:
            lines.insert(0, _line(HEADERS, widths))
        with bar.paused():
            sys.stdout.write("\n".join(lines) + "\n")
            sys.stdout.flush()
        count += len(rows)
    return count


def _line(cells: list[str], widths: list[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()


def _print_json(store: Any, items: Iterator[ArtifactInfo], bar: Progress) -> None:
    """Print ``{"store", "mode", "artifacts": [...]}`` as ``emit_json`` would, streamed."""
    import msgspec

    from capsa.cli.render import _enc

    def fmt(value: Any, indent: str) -> str:
        raw = msgspec.json.encode(value, enc_hook=_enc)
        text = msgspec.json.format(raw, indent=2).decode()
        return text.replace("\n", "\n" + indent)

    out = sys.stdout
    head = f'{{\n  "store": {fmt(store.url, "")},\n  "mode": {fmt(store.mode, "")},\n'
    first = True
    for page in _pages(items):
        chunk = ",\n".join("    " + fmt(item, "    ") for item in page)
        with bar.paused():
            out.write((head + '  "artifacts": [\n' if first else ",\n") + chunk)
            out.flush()
        first = False
    out.write((head + '  "artifacts": []\n}\n') if first else "\n  ]\n}\n")
    out.flush()
