"""Child process for the crash and race tests: saves artifacts until killed.

Usage: python crash_writer.py STORE MODE START COUNT IDENTITY [START_AT INTERVAL]

With START_AT and INTERVAL, save number j starts at START_AT + j * INTERVAL
(wall clock), so two writers attack each key at the same moment.

The child prints ``ready`` once its store is open. Every artifact's content
is derived from its key (and, in development mode, from a version number kept
in meta), so the parent can check that whatever is committed is exactly what
was meant to be written. After each successful save the child prints
``ok <key> <version>``; on ArtifactExistsError ``lost <key>``.
"""

from __future__ import annotations

import hashlib
import sys
import time

import capsa
from capsa.errors import ArtifactExistsError


def payload(key: str, version: int, identity: str) -> dict[str, object]:
    """Deterministic members for ``key``: sizes vary so kills land everywhere."""
    seed = hashlib.sha256(f"{key}:{version}:{identity}".encode()).digest()
    size = 20_000 + int.from_bytes(seed[:3], "big") % 300_000
    blob = (seed * (size // len(seed) + 1))[:size]
    return {
        "blob.bin": blob,
        "meta.json": {"key": key, "version": version, "identity": identity, "size": size},
        "notes.txt": f"{key} v{version} by {identity}\n" * 50,
    }


def main() -> None:
    url, mode, start, count, identity = sys.argv[1:6]
    start_at = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
    interval = float(sys.argv[7]) if len(sys.argv) > 7 else 0.0
    store = capsa.open_store(url, mode=mode, session="crash")
    print("ready", flush=True)  # the parent times its kill from here, not from start-up
    for j, i in enumerate(range(int(start), int(start) + int(count))):
        while time.time() < start_at + j * interval:
            time.sleep(0.0002)
        if mode == "development":
            key, version = "same-key", i
        else:
            key, version = f"k{i:05d}", 0
        try:
            store.save(key, "bundle", payload(key, version, identity), meta={"version": version})
        except ArtifactExistsError:
            print(f"lost {key}", flush=True)
            continue
        print(f"ok {key} {version}", flush=True)


if __name__ == "__main__":
    main()
