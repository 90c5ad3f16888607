"""``capsa import FILE``: verify a bundle completely, then commit its artifact.

::

    capsa import run-7.capsa --store ./other-store
    capsa import run-7.capsa --key shared/run-7

Nothing is written unless every entry of the bundle checks out (exit 5 with
the reason otherwise; exit 3 when the file does not exist).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from capsa.cli import exitcodes
from capsa.cli.render import emit_json, human_size


def cmd_import(args: argparse.Namespace) -> int:
    """Verify a bundle and restore its artifact into the store."""
    from capsa.cli.main import _store
    from capsa.objects.bundle import import_bundle

    if not Path(args.file).is_file():
        print(f"capsa: error: bundle {args.file!r}: no such file", file=sys.stderr)
        return exitcodes.NOT_FOUND
    store = _store(args, reading=False)
    ref = import_bundle(store, args.file, key=args.key)
    manifest = ref.manifest
    objects = sum(1 for m in manifest.members if m.by_reference)
    if args.json:
        emit_json(
            {
                "store": store.url,
                "key": ref.key,
                "url": ref.url,
                "kind": manifest.kind,
                "members": len(manifest.members),
                "objects": objects,
                "bytes": manifest.size,
            }
        )
        return exitcodes.OK
    print(
        f"imported {ref.key} ({manifest.kind}, {len(manifest.members)} member(s), "
        f"{human_size(manifest.size)}, every hash verified) into {ref.url}"
    )
    return exitcodes.OK


def register(
    add: Callable[..., argparse.ArgumentParser], store_opts: argparse.ArgumentParser
) -> None:
    """Add ``capsa import`` through the main parser's ``add`` helper."""
    p = add("import", cmd_import, "verify a bundle file and restore its artifact", (store_opts,))
    p.add_argument("file", help="the bundle file (written by capsa export)")
    p.add_argument("--key", default=None, help="where to put it (default: its original key)")
