"""``capsa reindex``: rebuild the catalog from the ``_SUCCESS`` manifests alone.

The catalog is derived data; losing or corrupting it loses nothing. This
also creates the catalog where there was none (then every later commit is
recorded). Exit 1 when markers that do not decode were found.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from capsa.cli import exitcodes
from capsa.cli.render import emit_json


def cmd_reindex(args: argparse.Namespace) -> int:
    """Rebuild the store's catalog from its manifests."""
    from capsa.catalog.open import open_catalog
    from capsa.cli.main import _store

    store = _store(args, reading=False)
    report = open_catalog(store).reindex(store)
    if args.json:
        emit_json(report)
    else:
        for marker in report.unreadable:
            print(f"unreadable marker (see capsa verify): {marker}")
        print(
            f"reindexed {report.artifacts} artifact(s) into {report.catalog}"
            + (f"; removed {report.removed} stale row(s)" if report.removed else "")
            + f" in {report.seconds:.2f}s"
        )
    return exitcodes.PROBLEMS if report.unreadable else exitcodes.OK


def register(
    add: Callable[..., argparse.ArgumentParser], store_opts: argparse.ArgumentParser
) -> None:
    """Add ``capsa reindex`` through the main parser's ``add`` helper."""
    add("reindex", cmd_reindex, "rebuild the catalog from the _SUCCESS manifests", (store_opts,))
