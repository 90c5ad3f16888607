"""Two real processes: A references objects and pauses before committing while B runs gc."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from core_helpers import subprocess_env
from objects_helpers import age_prefix

import capsa
from capsa.objects.pins import PINS_PREFIX
from capsa.objects.store import OBJECTS_PREFIX, object_key

HERE = Path(__file__).resolve().parent
HOUR = 3600.0

GC = """
import json, sys
import capsa
report = capsa.open_store(sys.argv[1], mode="development", session="race").gc(
    dry_run=False, older_than=60
)
print(json.dumps({"objects": report.objects, "kept_recent": report.kept_recent}))
"""


def test_gc_in_another_process_never_takes_an_object_a_save_in_flight_references(
    tmp_path: Path,
) -> None:
    root = str(tmp_path / "store")
    store = capsa.open_store(root, mode="development", session="race")
    # An old object nothing references any more (its artifact was deleted) that A will
    # reuse, and an old orphan that nobody wants (gc must really collect that one).
    reused = store.save("earlier", "blob", b"reused weights " * 1000, by_reference=True)
    orphan = store.save("junk", "blob", b"unwanted", by_reference=True)
    store.delete("earlier")
    store.delete("junk")
    age_prefix(store, OBJECTS_PREFIX, 2 * HOUR)
    age_prefix(store, PINS_PREFIX, 2 * HOUR)

    writer = subprocess.Popen(
        [sys.executable, str(HERE / "objects_race_writer.py"), root],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
    )
    try:
        assert writer.stdout is not None and writer.stdin is not None
        assert writer.stdout.readline().strip() == "READY"
        gc = subprocess.run(
            [sys.executable, "-c", GC, root],
            capture_output=True,
            text=True,
            env=subprocess_env(),
            timeout=120,
            check=True,
        )
        collected = json.loads(gc.stdout)["objects"]
        writer.stdin.write("go\n")
        writer.stdin.flush()
        out, err = writer.communicate(timeout=120)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert writer.returncode == 0, err
    assert out.strip() == "COMMITTED"
    assert object_key(orphan.manifest.members[0].sha256) in collected  # gc did collect
    assert object_key(reused.manifest.members[0].sha256) not in collected  # pinned by A
    loaded = store.load("model", verify=True)
    assert loaded["old.bin"] == b"reused weights " * 1000
    assert loaded["new.bin"] == b"fresh weights " * 1000
    assert store.verify().ok
