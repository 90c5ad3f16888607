"""Process A of the gc race: reference objects, pause before committing, then commit.

python objects_race_writer.py STORE_PATH   # prints READY, waits for a line, commits
"""

from __future__ import annotations

import sys

import capsa


def main() -> None:
    store = capsa.open_store(sys.argv[1], mode="development", session="race")
    with store.transaction("model", "bundle", meta={"by": "process A"}) as tx:
        tx.write("old.bin", b"reused weights " * 1000, by_reference=True)  # an old orphan object
        tx.write("new.bin", b"fresh weights " * 1000, by_reference=True)
        print("READY", flush=True)
        sys.stdin.readline()  # process B runs gc now
    print("COMMITTED", flush=True)


if __name__ == "__main__":
    main()
