"""``capsa export KEY -o FILE``: one self-contained, verified bundle file per artifact.

::

    capsa export mnist/run-7 -o run-7.capsa          # zip: manifest, members, objects
    capsa export mnist/run-7 -o run-7.capsa --compress

See :mod:`capsa.objects.bundle` for the format; ``capsa import`` restores it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from capsa.cli import exitcodes
from capsa.cli.render import emit_json, human_size


def cmd_export(args: argparse.Namespace) -> int:
    """Write an artifact, its members and its objects to one bundle file."""
    from capsa.cli.main import _store
    from capsa.objects.bundle import export_bundle

    store = _store(args)
    info = export_bundle(store, args.key, args.output, compress=args.compress)
    if args.json:
        emit_json(info)
        return exitcodes.OK
    objects = f", {info.objects} object(s)" if info.objects else ""
    print(
        f"exported {info.key} ({info.kind}, {info.members} member(s){objects}, "
        f"{human_size(info.bytes)}) to {info.path}"
    )
    return exitcodes.OK


def register(
    add: Callable[..., argparse.ArgumentParser], store_opts: argparse.ArgumentParser
) -> None:
    """Add ``capsa export`` through the main parser's ``add`` helper."""
    p = add(
        "export", cmd_export, "write an artifact and its objects to one bundle file", (store_opts,)
    )
    p.add_argument("key", help="the artifact to export")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the bundle file to write")
    p.add_argument("--compress", action="store_true", help="deflate the entries (default: stored)")
