"""stable_fingerprint and sha256_for_file: canonical form, stability across processes, bad input."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import glob
import hashlib
import json
import os
import subprocess
import sys
import tracemalloc
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import msgspec
import pytest
from core_helpers import subprocess_env

from capsa.errors import ValidationError
from capsa.experiments.fingerprint import (
    FingerprintError,
    canonical_json,
    canonical_payload,
    sha256_for_file,
    stable_fingerprint,
)

# -- the canonical form ---------------------------------------------------------


def test_key_order_does_not_matter_at_any_depth() -> None:
    a = {"b": 1, "a": {"y": [1, {"q": 1, "p": 2}], "x": None}}
    b = {"a": {"x": None, "y": [1, {"p": 2, "q": 1}]}, "b": 1}
    assert list(a) != list(b)
    assert stable_fingerprint(a) == stable_fingerprint(b)


def test_canonical_json_is_the_documented_encoding() -> None:
    payload = {"é": [1, 2.5, -0.0, "naïve", True, None], "a": (1e-7, 10**20)}
    expected = '{"a":[1e-07,100000000000000000000],"\\u00e9":[1,2.5,0.0,"na\\u00efve",true,null]}'
    assert canonical_json(payload) == expected.encode("ascii")
    assert stable_fingerprint(payload) == hashlib.sha256(expected.encode("ascii")).hexdigest()


def test_values_that_differ_give_different_fingerprints() -> None:
    base = {"lr": 0.1, "layers": [8, 4]}
    variants = [
        {"lr": 0.2, "layers": [8, 4]},
        {"lr": 0.1, "layers": [4, 8]},
        {"lr": 0.1, "layers": [8, 4], "extra": None},
        {"lr": "0.1", "layers": [8, 4]},
        {"lr": 1, "layers": [8, 4]},
    ]
    digests = {stable_fingerprint(v) for v in [base, *variants]}
    assert len(digests) == len(variants) + 1
    assert stable_fingerprint(1) != stable_fingerprint(1.0)  # as in JSON


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Model(msgspec.Struct, tag="ridge", tag_field="type"):
    alpha: float = 1.0


class Renamed(msgspec.Struct, rename="camel", omit_defaults=True):
    learning_rate: float = 0.1


@dataclasses.dataclass
class Point:
    x: int
    y: list[int]


def test_typed_values_are_hashed_as_the_json_they_stand_for() -> None:
    utc = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
    plus2 = utc.astimezone(dt.timezone(dt.timedelta(hours=2)))
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    payload = {
        "model": Model(alpha=0.5),
        "renamed": Renamed(),
        "point": Point(1, [2]),
        "color": Color.RED,
        "level": Level.HIGH,
        "when": plus2,
        "day": dt.date(2024, 5, 1),
        "id": ident,
        "tuple": (1, 2),
    }
    expected = {
        "model": {"type": "ridge", "alpha": 0.5},
        "renamed": {"learningRate": 0.1},
        "point": {"x": 1, "y": [2]},
        "color": "red",
        "level": 3,
        "when": "2024-05-01T12:00:00Z",
        "day": "2024-05-01",
        "id": str(ident),
        "tuple": [1, 2],
    }
    assert canonical_payload(payload) == expected
    assert stable_fingerprint(payload) == stable_fingerprint(expected)
    # Two datetimes naming one instant agree.
    assert stable_fingerprint(utc) == stable_fingerprint(plus2)


@pytest.mark.parametrize(
    ("payload", "path", "words"),
    [
        ({"a": {"b": float("nan")}}, "$.a.b", "NaN"),
        ({"a": [1, float("inf")]}, "$.a[1]", "inf"),
        ([float("-inf")], "$[0]", "-inf"),
        ({"a": {1: "x"}}, "$.a", "must be strings"),
        ({("t",): 1}, "$", "must be strings"),
        ({"s": {1, 2}}, "$.s", "no order"),
        ({"s": frozenset({"a"})}, "$.s", "no order"),
        ({"b": b"raw"}, "$.b", "bytes"),
        ({"o": object()}, "$.o", "object"),
        ({"p": Path("x")}, "$.p", "PosixPath"),
        ({"t": dt.datetime(2024, 1, 1)}, "$.t", "naive datetime"),
        ({"d": dt.timedelta(1)}, "$.d", "timedelta"),
        ({"weird key": {"x": float("nan")}}, '$["weird key"].x', "NaN"),
        ({"m": Model(alpha=float("nan"))}, "$.m.alpha", "NaN"),
    ],
)
def test_payloads_without_a_canonical_form_are_refused(payload: Any, path: str, words: str) -> None:
    with pytest.raises(FingerprintError, match=words) as info:
        stable_fingerprint(payload)
    assert info.value.path == path
    assert path in str(info.value)
    assert isinstance(info.value, ValidationError) and isinstance(info.value, ValueError)


def test_circular_and_too_deep_payloads_are_refused() -> None:
    loop: dict[str, Any] = {"a": []}
    loop["a"].append(loop)
    with pytest.raises(FingerprintError, match=r"circular") as info:
        stable_fingerprint(loop)
    assert info.value.path == "$.a[0]"
    shared = [1]
    assert stable_fingerprint({"x": shared, "y": shared})  # shared, not circular: fine
    deep: Any = 0
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(FingerprintError, match=r"nested too deeply"):
        stable_fingerprint(deep)


def test_duplicate_keys_from_a_multi_mapping_are_refused() -> None:
    class Multi(Mapping[str, int]):
        """A multidict-like mapping that yields one key twice."""

        def __getitem__(self, key: str) -> int:
            return 1

        def __iter__(self) -> Iterator[str]:
            return iter(["a", "a"])

        def __len__(self) -> int:
            return 2

    with pytest.raises(FingerprintError, match=r"'a' appears twice"):
        stable_fingerprint({"m": Multi()})


# -- stability across processes and Python versions ---------------------------------

CHILD = """
import json, sys
sys.path.insert(0, {tests!r})
import msgspec
from capsa.experiments.fingerprint import stable_fingerprint

class Opt(msgspec.Struct):
    lr: float
    betas: tuple

names = {{f"key{{i}}" for i in range(64)}}   # set order depends on PYTHONHASHSEED
payload = {{name: {{"v": len(name) / 3, "s": name * 2}} for name in names}}
payload["opt"] = Opt(lr=1e-3, betas=(0.9, 0.999))
payload["text"] = "caf\\u00e9 \\u2603"
print(json.dumps({{"order": list(payload)[:8], "digest": stable_fingerprint(payload)}}))
"""


def test_fingerprint_is_stable_across_processes_with_different_hash_seeds() -> None:
    code = CHILD.format(tests=str(Path(__file__).parent))
    results = []
    for seed in ("0", "1", "12345", "random"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env=subprocess_env(PYTHONHASHSEED=seed),
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    # The children really built their dicts in different orders ...
    assert len({tuple(r["order"]) for r in results}) > 1
    # ... and still agree, with each other and with this process.
    digests = {r["digest"] for r in results}
    assert len(digests) == 1

    class Opt(msgspec.Struct):
        lr: float
        betas: tuple[float, float]

    here: dict[str, Any] = {
        f"key{i}": {"v": len(f"key{i}") / 3, "s": f"key{i}" * 2} for i in range(64)
    }
    here["opt"] = Opt(lr=1e-3, betas=(0.9, 0.999))
    here["text"] = "caf\u00e9 \u2603"
    assert digests == {stable_fingerprint(here)}


def _other_pythons() -> list[str]:
    found = []
    candidates = glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3"))
    candidates += glob.glob("/usr/bin/python3.1[0-9]") + glob.glob("/usr/local/bin/python3.1[0-9]")
    mine = f"{sys.version_info[0]}.{sys.version_info[1]}"
    seen = {mine}
    for path in sorted(candidates):
        try:
            out = subprocess.run(
                [path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        version = out.stdout.strip()
        major, minor = (int(part) for part in version.split("."))
        if (major, minor) >= (3, 10) and version not in seen:
            seen.add(version)
            found.append(path)
    return found


def test_canonical_encoding_is_the_same_under_other_python_versions() -> None:
    """The canonical bytes are stdlib json's; other interpreters produce the same digest."""
    pythons = _other_pythons()
    if not pythons:
        pytest.skip("no other Python version installed")
    payload = {"floats": [0.1, 1 / 3, 1e300, 5e-324, 2.0**60], "big": 2**70, "txt": "\u00e9\u2603"}
    expected = stable_fingerprint(payload)
    code = (
        "import hashlib, json, sys\n"
        "payload = json.loads(sys.stdin.read())\n"
        "text = json.dumps(payload, sort_keys=True, separators=(',', ':'), "
        "ensure_ascii=True, allow_nan=False)\n"
        "print(hashlib.sha256(text.encode('ascii')).hexdigest())\n"
    )
    for python in pythons:
        out = subprocess.run(
            [python, "-c", code],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            check=True,
            env=subprocess_env(),
        )
        assert out.stdout.strip() == expected, python


# -- sha256_for_file -----------------------------------------------------------------


def test_sha256_for_file_matches_hashlib(tmp_path: Path) -> None:
    data = os.urandom(3 * 4096 + 17)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()
    assert sha256_for_file(path) == expected
    assert sha256_for_file(str(path), chunk_size=4096) == expected
    assert sha256_for_file(path, chunk_size=1) == hashlib.sha256(data).hexdigest()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert sha256_for_file(empty) == hashlib.sha256(b"").hexdigest()


def test_sha256_for_file_memory_is_bounded_by_the_chunk_size(tmp_path: Path) -> None:
    chunk = 256 * 1024
    path = tmp_path / "large.bin"
    with open(path, "wb") as fh:
        block = os.urandom(chunk)
        for _ in range(64):  # 16 MiB: 64 chunks
            fh.write(block)
    tracemalloc.start()
    try:
        digest = sha256_for_file(path, chunk_size=chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * chunk, f"peak {peak} bytes for a {64 * chunk}-byte file"
    expected = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            expected.update(block)
    assert digest == expected.hexdigest()


def test_sha256_for_file_errors_name_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "missing.bin"
    with pytest.raises(FileNotFoundError, match=r"missing\.bin"):
        sha256_for_file(missing)
    with pytest.raises(IsADirectoryError):
        sha256_for_file(tmp_path)
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(ValidationError, match=r"chunk_size"):
        sha256_for_file(tmp_path / "f", chunk_size=0)
