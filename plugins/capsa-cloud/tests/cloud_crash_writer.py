"""Child process of the S3 crash and race tests: saves artifacts until killed.

Usage: python cloud_crash_writer.py URL OPTIONS_JSON MODE START COUNT IDENTITY [START_AT INTERVAL]

``OPTIONS_JSON`` holds the store options (endpoint, credentials) of the
loopback S3 server. The child prints ``ready`` once its store is open, so
that the parent can time its kill from there rather than from Python's
start-up. With START_AT and INTERVAL, save number j starts at
START_AT + j * INTERVAL (wall clock), so two writers attack each key at the
same moment.

Every artifact's content is derived from its key, version and identity, so
the parent can check that whatever is committed is exactly what was meant to
be written. One key in eight carries a blob larger than the 5 MiB part size,
which goes up as a multipart upload. After each successful save the child
prints ``ok <key> <version>``; on ArtifactExistsError ``lost <key>``.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time

import capsa
from capsa.errors import ArtifactExistsError

PART_SIZE = 5 << 20
"""The ``chunk_size`` the tests open their stores with: larger members go multipart."""


def payload(key: str, version: int, identity: str) -> dict[str, object]:
    """Deterministic members for ``key``: sizes vary so kills land everywhere."""
    seed = hashlib.sha256(f"{key}:{version}:{identity}".encode()).digest()
    if seed[3] % 8 == 0:  # a multipart upload (two or three parts)
        size = PART_SIZE + 1 + int.from_bytes(seed[:3], "big") % (3 << 20)
    else:
        size = 20_000 + int.from_bytes(seed[:3], "big") % 300_000
    blob = (seed * (size // len(seed) + 1))[:size]
    return {
        "blob.bin": blob,
        "meta.json": {"key": key, "version": version, "identity": identity, "size": size},
        "notes.txt": f"{key} v{version} by {identity}\n" * 50,
    }


def main() -> None:
    url, options, mode, start, count, identity = sys.argv[1:7]
    start_at = float(sys.argv[7]) if len(sys.argv) > 7 else 0.0
    interval = float(sys.argv[8]) if len(sys.argv) > 8 else 0.0
    store = capsa.open_store(url, options=json.loads(options), mode=mode, session="crash")
    store.backend.exists("ready-probe")  # connected: the saves start right away
    print("ready", flush=True)
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
