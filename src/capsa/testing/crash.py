"""Crash and race kit: a writer process that saves until it is killed, and the checks after.

The crash tests of the core (a local folder) and of capsa-cloud (S3) share
it, and so can a backend plugin's own: start writers with
:func:`writer_command`, ``SIGKILL`` them at random moments (or let several
race for the same keys), then check every committed artifact with
:func:`check_content`. Unlike :mod:`capsa.testing.conformance`, this module
does not import pytest.

The writer (``python -m capsa.testing.crash URL MODE START COUNT IDENTITY``)
prints ``ready`` once its store is open, so that a parent times its kill
from there rather than from Python's start-up. Then, for ``i`` in
``START .. START+COUNT-1``, it saves a ``bundle``: in production mode under
``k<i:05d>`` (version 0), in development mode always under ``same-key``
(version ``i``). After each save it prints ``ok <key> <version>``, or
``lost <key>`` when another writer won the key (:class:`ArtifactExistsError`).
Every artifact's content derives from its key, version and identity
(:func:`payload`), so whatever is committed can be checked byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from capsa.store.store import Store

MEMBERS = ("_SUCCESS", "blob.bin", "meta.json", "notes.txt")
"""The objects a committed writer artifact consists of (marker included)."""


def payload(key: str, version: int, identity: str, *, large_size: int = 0) -> dict[str, object]:
    """Deterministic members for ``key``: sizes vary so kills land everywhere.

    :param large_size: when set, one key in eight gets a blob just over this
        many bytes (e.g. an S3 part size, so those go up as multipart uploads).
    """
    seed = hashlib.sha256(f"{key}:{version}:{identity}".encode()).digest()
    if large_size and seed[3] % 8 == 0:
        size = large_size + 1 + int.from_bytes(seed[:3], "big") % (3 << 20)
    else:
        size = 20_000 + int.from_bytes(seed[:3], "big") % 300_000
    blob = (seed * (size // len(seed) + 1))[:size]
    return {
        "blob.bin": blob,
        "meta.json": {"key": key, "version": version, "identity": identity, "size": size},
        "notes.txt": f"{key} v{version} by {identity}\n" * 50,
    }


def check_content(store: Store, key: str, *, large_size: int = 0) -> int:
    """Load ``key`` verified; it must be exactly one intended version, which is returned.

    :raises AssertionError: the bytes are not those :func:`payload` makes.
    :raises capsa.errors.CapsaError: the artifact does not load or verify.
    """
    art = store.load(key, verify=True)
    meta = art["meta.json"]
    version = int(meta["version"])
    expected = payload(key, version, meta["identity"], large_size=large_size)
    if art.read("blob.bin") != expected["blob.bin"] or art["notes.txt"] != expected["notes.txt"]:
        raise AssertionError(f"{key!r} holds bytes no writer meant to write")
    if art.meta != {"version": version}:
        raise AssertionError(f"{key!r} has meta {art.meta!r}, not version {version}")
    return version


def writer_command(
    url: str,
    mode: str,
    start: int,
    count: int,
    identity: str,
    *,
    options: dict[str, Any] | None = None,
    start_at: float | None = None,
    interval: float = 0.0,
    large_size: int = 0,
) -> list[str]:
    """The command line of a writer process (see the module docs).

    :param options: store options (a loopback server's endpoint and credentials).
    :param start_at: with ``interval``, save ``j`` starts at ``start_at + j *
        interval`` (wall clock), so several writers attack each key at once.
    :param large_size: passed to :func:`payload`.
    """
    cmd = [sys.executable, "-m", "capsa.testing.crash", url, mode, str(start), str(count)]
    cmd += [identity, "--interval", str(interval), "--large-size", str(large_size)]
    if options:
        cmd += ["--options", json.dumps(options)]
    if start_at is not None:
        cmd += ["--start-at", str(start_at)]
    return cmd


def main(argv: Sequence[str] | None = None) -> None:
    """Run a writer: save until killed or done (see the module docs)."""
    import capsa
    from capsa.errors import ArtifactExistsError

    parser = argparse.ArgumentParser(prog="python -m capsa.testing.crash")
    parser.add_argument("url")
    parser.add_argument("mode", choices=["production", "development"])
    parser.add_argument("start", type=int)
    parser.add_argument("count", type=int)
    parser.add_argument("identity")
    parser.add_argument("--options", type=json.loads, default={})
    parser.add_argument("--start-at", type=float, default=0.0)
    parser.add_argument("--interval", type=float, default=0.0)
    parser.add_argument("--large-size", type=int, default=0)
    args = parser.parse_args(argv)
    store = capsa.open_store(args.url, options=args.options, mode=args.mode, session="crash")
    store.exists("ready-probe")  # connected: the saves start right away
    print("ready", flush=True)
    for j, i in enumerate(range(args.start, args.start + args.count)):
        while time.time() < args.start_at + j * args.interval:
            time.sleep(0.0002)
        key, version = ("same-key", i) if args.mode == "development" else (f"k{i:05d}", 0)
        data = payload(key, version, args.identity, large_size=args.large_size)
        try:
            store.save(key, "bundle", data, meta={"version": version})
        except ArtifactExistsError:
            print(f"lost {key}", flush=True)
            continue
        print(f"ok {key} {version}", flush=True)


if __name__ == "__main__":
    main()
