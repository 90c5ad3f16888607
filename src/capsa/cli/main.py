"""``capsa``: inspect plugins, list, show, verify and garbage-collect artifacts, run the demo.

Every command takes ``--json`` where a script would parse its output, and
exits with the codes in :mod:`capsa.cli.exitcodes`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from capsa.cli import exitcodes
from capsa.cli.ls import cmd_ls
from capsa.cli.render import emit_json, human_size, table
from capsa.errors import (
    ArtifactNotFoundError,
    CapsaError,
    ConfigError,
    MemberNotFoundError,
    PluginError,
)


def _store(
    args: argparse.Namespace, *, default_mode: str | None = None, reading: bool = True
) -> Any:
    from capsa.api import open_store

    if reading and args.mode == "development" and not args.session:
        # A fresh timestamped session is empty: reading it is never what was meant.
        sessions = open_store(args.store).namespaces()["development"]
        raise UsageError(
            "development mode needs --session to read an existing session; sessions here: "
            + (", ".join(sessions) if sessions else "(none)")
        )
    return open_store(
        args.store,
        mode=args.mode or default_mode,
        session=args.session,
        test_name=args.test_name,
    )


class UsageError(Exception):
    """A command was called in a way that cannot work (exit code 2)."""


# -- commands ------------------------------------------------------------------


def cmd_plugins(args: argparse.Namespace) -> int:
    """List installed plugins and what each provides."""
    from capsa.api import _registry_for
    from capsa.config.loader import load_config
    from capsa.plugins.manager import list_plugins

    registry = _registry_for(load_config())  # applies a [plugins] table

    infos = [p for p in list_plugins() if args.all or not p.builtin or p.status != "loaded"]
    if args.json:
        emit_json(
            {
                "plugins": infos,
                "conflicts": registry.conflicts(),
            }
        )
        return exitcodes.OK
    if not infos:
        print("no plugins installed beyond the core (use --all to include the built-ins)")
    for info in infos:
        flag = "" if info.status == "loaded" else f" [{info.status}]"
        print(f"{info.distribution} {info.version} ({info.name} -> {info.module}){flag}")
        if info.error:
            print(f"    error: {info.error}")
        for family, names in info.provides.items():
            if names:
                print(f"    {family.replace('_', ' ')}: {', '.join(names)}")
        if info.hooks:
            print(f"    hooks: {', '.join(info.hooks)}")
    for family, clashes in registry.conflicts().items():
        for name, plugins in clashes.items():
            print(f"conflict: {family} {name!r} is registered by {', '.join(plugins)}")
    return exitcodes.OK


def cmd_show(args: argparse.Namespace) -> int:
    """Show one artifact's manifest."""
    store = _store(args)
    manifest = store.manifest(args.key)
    if args.json:
        emit_json(manifest)
        return exitcodes.OK
    print(f"key:        {args.key}")
    print(f"url:        {store.url_for(args.key)}")
    print(f"kind:       {manifest.kind} (version {manifest.kind_version})")
    print(f"created:    {manifest.created_at}  mode={manifest.mode}")
    plugins = ", ".join(f"{k} {v}" for k, v in manifest.producer.plugins.items())
    print(f"producer:   capsa {manifest.producer.capsa}" + (f"; {plugins}" if plugins else ""))
    prov = manifest.provenance
    git = (
        f"git {prov.git.commit[:12]}{' (dirty)' if prov.git.dirty else ''}"
        if prov.git
        else "no git"
    )
    print(f"provenance: python {prov.python} on {prov.host}, {git}")
    rows = [[m.file, m.format, human_size(m.size), m.sha256[:16]] for m in manifest.members]
    headers = ["MEMBER", "FORMAT", "SIZE", "SHA256"]
    if any(m.by_reference for m in manifest.members):  # content-addressed objects
        headers.append("STORED")
        for row, m in zip(rows, manifest.members, strict=True):
            row.append("object" if m.by_reference else "in place")
    print(table(rows, headers))
    if manifest.meta:
        print(f"meta:       {manifest.meta}")
    return exitcodes.OK


def cmd_verify(args: argparse.Namespace) -> int:
    """Re-hash members and report mismatches (exit 1 when any)."""
    store = _store(args)
    report = store.verify(args.key)
    if args.json:
        emit_json({"ok": report.ok, **{f: getattr(report, f) for f in report.__struct_fields__}})
    else:
        for p in report.problems:
            print(f"CORRUPT {p.key} :: {p.member}: {p.problem}: {p.detail}")
        status = "ok" if report.ok else f"{len(report.problems)} problem(s)"
        print(
            f"verified {report.artifacts} artifact(s), {report.members} member(s), "
            f"{human_size(report.bytes)}: {status}"
        )
    return exitcodes.OK if report.ok else exitcodes.PROBLEMS


def cmd_gc(args: argparse.Namespace) -> int:
    """Find (and with --yes, delete) debris of interrupted saves."""
    store = _store(args)
    report = store.gc(dry_run=not args.yes, older_than=args.older_than)
    if args.json:
        emit_json(report)
        return exitcodes.OK
    verb = "would remove" if report.dry_run else "removed"
    for key in report.objects:
        print(f"{verb}: {key}")
    print(
        f"{verb} {len(report.objects)} object(s), {human_size(report.bytes)}"
        + (f"; {report.kept_recent} recent object(s) kept" if report.kept_recent else "")
        + (" (run with --yes to delete)" if report.dry_run and report.objects else "")
    )
    return exitcodes.OK


def cmd_config(args: argparse.Namespace) -> int:
    """Print the resolved configuration and where each value came from."""
    import msgspec

    from capsa.api import effective_mode
    from capsa.config.loader import load_config

    resolved = load_config()
    url, entry, origin = resolved.store_entry(args.store)
    mode, mode_origin = effective_mode(resolved, entry, None)
    values = msgspec.to_builtins(resolved.config)
    if args.json:
        emit_json(
            {
                "file": str(resolved.file) if resolved.file else None,
                "store_url": url,
                "store_origin": origin,
                "effective_mode": mode,
                "effective_mode_origin": mode_origin,
                "values": values,
                "sources": resolved.sources,
            }
        )
        return exitcodes.OK
    print(f"config file: {resolved.file or '(none found)'}")
    print(f"store url:   {url}  (from {origin})")
    print(f"store mode:  {mode}  (from {mode_origin})")
    for name in resolved.config.__struct_fields__:
        print(f"{name} = {values[name]!r}  ({resolved.sources.get(name, 'default')})")
    return exitcodes.OK


def cmd_sessions(args: argparse.Namespace) -> int:
    """List the development sessions and test namespaces in the store."""
    from capsa.api import open_store

    found = open_store(args.store).namespaces()
    if args.json:
        emit_json(found)
        return exitcodes.OK
    for label, names in found.items():
        print(f"{label}: {', '.join(names) if names else '(none)'}")
    return exitcodes.OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Save a few artifacts, list, verify and reload them."""
    from capsa.cli.demo import run_demo

    store = _store(args, default_mode="development", reading=False)
    return run_demo(store, as_json=args.json)


# -- parser --------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser (exposed for docs and tests)."""
    from capsa import __version__

    parser = argparse.ArgumentParser(
        prog="capsa",
        description="Plugin-based artifact store for experiment outputs.",
        epilog="Exit codes: 0 ok, 1 problems found, 2 usage, 3 not found, 4 config/plugin "
        "error, 5 other capsa error.",
    )
    parser.add_argument("--version", action="version", version=f"capsa {__version__}")
    json_opt = argparse.ArgumentParser(add_help=False)
    json_opt.add_argument("--json", action="store_true", help="machine-readable output")
    store_opt = argparse.ArgumentParser(add_help=False)
    store_opt.add_argument("--store", help="store URL, path, or name from the config")
    store_opts = argparse.ArgumentParser(add_help=False, parents=[store_opt])
    store_opts.add_argument(
        "--mode", choices=["production", "development", "test"], help="store mode"
    )
    store_opts.add_argument("--session", help="development session name")
    store_opts.add_argument("--test-name", help="test namespace name")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(
        name: str,
        fn: Callable[[argparse.Namespace], int],
        help_: str,
        parents: tuple[argparse.ArgumentParser, ...] = (store_opts,),
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[*parents, json_opt], help=help_, description=fn.__doc__)
        p.set_defaults(func=fn)
        return p

    p = add("plugins", cmd_plugins, "list installed plugins and what they provide", ())
    p.add_argument("--all", action="store_true", help="include the core's built-in plugins")
    p = add("ls", cmd_ls, "list committed artifacts")
    p.add_argument("prefix", nargs="?", default="", help="only keys starting with this")
    p.add_argument("--kind", help="only artifacts of this kind")
    p = add("show", cmd_show, "show an artifact's manifest")
    p.add_argument("key")
    p = add("verify", cmd_verify, "re-hash members; exit 1 on any mismatch")
    p.add_argument("key", nargs="?", default=None, help="one artifact (default: all)")
    p = add("gc", cmd_gc, "find and remove debris of interrupted saves")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--dry-run", action="store_true", default=True, help="only report (default)")
    group.add_argument("--yes", action="store_true", help="really delete")
    p.add_argument(
        "--older-than",
        type=float,
        default=None,
        metavar="SECONDS",
        help="leave debris younger than this (default: gc_grace_seconds from config)",
    )
    add("config", cmd_config, "print the resolved configuration and its sources", (store_opt,))
    add("sessions", cmd_sessions, "list development sessions and test namespaces", (store_opt,))
    add("demo", cmd_demo, "save, list, verify and reload demo artifacts (development mode)")
    from capsa.cli.experiments import register as register_experiments
    from capsa.cli.export import register as register_export
    from capsa.cli.import_ import register as register_import
    from capsa.cli.reindex import register as register_reindex
    from capsa.cli.runs import register as register_runs

    register_experiments(add, store_opts)
    register_export(add, store_opts)
    register_import(add, store_opts)
    register_runs(add, store_opts)
    register_reindex(add, store_opts)
    _add_plugin_commands(sub)
    return parser


def _add_plugin_commands(sub: Any) -> None:
    """Mount the sub-commands plugins register (``capsa_register_commands``)."""
    from capsa.cli.commands import plugin_commands

    for plugin, command in plugin_commands(set(sub.choices)):
        p = sub.add_parser(
            command.name, help=f"{command.help} [{plugin}]", description=command.help
        )
        command.configure(p)
        p.set_defaults(func=command.run)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except (ArtifactNotFoundError, MemberNotFoundError) as exc:
        print(f"capsa: error: {exc}", file=sys.stderr)
        return exitcodes.NOT_FOUND
    except (ConfigError, PluginError) as exc:
        print(f"capsa: error: {exc}", file=sys.stderr)
        return exitcodes.CONFIG
    except UsageError as exc:
        print(f"capsa: error: {exc}", file=sys.stderr)
        return exitcodes.USAGE
    except CapsaError as exc:
        print(f"capsa: error: {exc}", file=sys.stderr)
        return exitcodes.ERROR
    except BrokenPipeError:
        return exitcodes.OK


if __name__ == "__main__":
    sys.exit(main())
