"""A worker of the catalog concurrency test: COUNT commits into one local store.

python catalog_writer.py STORE_PATH WORKER COUNT
"""

from __future__ import annotations

import sys
import warnings

import capsa


def main() -> None:
    root, worker, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    store = capsa.open_store(root)
    warnings.simplefilter("error")  # a commit the catalog failed to record fails the worker
    for i in range(count):
        store.save(
            f"w{worker}/c{i:04d}",
            "json",
            {"i": i},
            meta={"status": "success", "fingerprint": f"{worker:02d}{i:062d}"},
        )
    print("done", flush=True)


if __name__ == "__main__":
    main()
