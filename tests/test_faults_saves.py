"""Many saves under injected faults: each commits or raises, none is half-committed.

The saves go through ``faulty+memory://`` (failed puts and gets, timeouts
that may have been applied, partial bodies) with the retry layer on top; the
results are then checked through plain ``memory://`` on the same space, where
nothing fails: every listed artifact verifies, every save that returned loads
back equal, every save that raised left nothing or (its marker having landed
before a reported failure) a complete artifact; gc then clears the debris
without touching a committed artifact. Seeds are fixed: a run is reproducible.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import capsa
from capsa.backends.faulty import FaultyBackend
from capsa.backends.memory import MemoryBackend
from capsa.backends.wrapper import find_backend
from capsa.errors import CapsaError, TransientError
from capsa.store.store import Store


@pytest.fixture
def space() -> Iterator[str]:
    """A fresh memory space name, emptied afterwards."""
    name = f"fault-saves-{uuid.uuid4().hex[:8]}"
    yield name
    MemoryBackend(name)._objects.clear()


def artifact_data(i: int) -> dict[str, Any]:
    """Small members of three formats; every third artifact adds a folder member."""
    data: dict[str, Any] = {
        "config.json": {"run": i, "lr": 0.001 * (i + 1), "tags": ["a", str(i)]},
        "log.txt": "".join(f"step {s} loss {1.0 / (s + i + 1):.4f}\n" for s in range(i % 7 + 1)),
        "weights.bin": bytes((i * 7 + j) % 251 for j in range(64 + 37 * (i % 11))),
    }
    if i % 3 == 0:
        data["plots"] = {
            "loss.svg": f"<svg>{i}</svg>".encode(),
            "sub/acc.txt": f"acc {i}".encode(),
            "sub/deep/x.bin": bytes([i % 256]) * (i % 5 + 1),
        }
    return data


def save(store: Store, key: str, data: dict[str, Any]) -> None:
    """Save with ``save`` (file members) or a transaction (with a folder member)."""
    if "plots" not in data:
        store.save(key, "bundle", data)
        return
    with store.transaction(key, "bundle", meta={"n": len(data)}) as tx:
        for name, value in data.items():
            tx.write(name, value, format="folder" if name == "plots" else None)


def loaded(store: Store, key: str) -> dict[str, Any]:
    """Load and verify ``key``; return its members as plain values."""
    art = store.load(key, verify=True)
    return {name: dict(art[name]) if name == "plots" else art[name] for name in art}


@dataclass
class Outcome:
    """What the saves of one run did."""

    committed: dict[str, dict[str, Any]] = field(default_factory=dict)
    raised: dict[str, tuple[dict[str, Any], CapsaError]] = field(default_factory=dict)


def run_saves(store: Store, n: int) -> Outcome:
    """``n`` saves of distinct keys; any error that is not a CapsaError escapes (and fails)."""
    outcome = Outcome()
    for i in range(n):
        key = f"runs/{i:03d}"
        data = artifact_data(i)
        try:
            save(store, key, data)
        except CapsaError as exc:
            outcome.raised[key] = (data, exc)
        else:
            outcome.committed[key] = data
    return outcome


def check_no_half_commits(plain: Store, outcome: Outcome) -> None:
    """Every artifact verifies; returned saves load equal; raised ones are absent or whole."""
    report = plain.verify()
    assert report.ok, report.problems
    listed = {info.key for info in plain.list()}
    for key in listed:
        assert plain.verify(key).ok, key
    for key, data in outcome.committed.items():
        assert key in listed, key
        assert loaded(plain, key) == data, key
    for key, (data, exc) in outcome.raised.items():
        if key in listed:  # the marker landed, then a failure was reported: complete
            assert loaded(plain, key) == data, (key, exc)
    assert listed <= outcome.committed.keys() | outcome.raised.keys()


def check_gc(plain: Store, outcome: Outcome) -> int:
    """gc removes every leftover object and harms no committed artifact; return how many."""
    listed = {info.key for info in plain.list()}
    report = plain.gc(dry_run=False, older_than=0)
    assert plain.gc(dry_run=True, older_than=0).objects == []
    for key in listed:
        expected = outcome.committed.get(key) or outcome.raised[key][0]
        assert loaded(plain, key) == expected, key
    assert {info.key for info in plain.list()} == listed
    for info in plain.backend.list(""):  # what is left belongs to a committed artifact
        assert info.key.split("/", 2)[0] + "/" + info.key.split("/", 2)[1] in listed, info.key
    return len(report.objects)


def summary(label: str, store: Store, plain: Store, outcome: Outcome, debris: int) -> str:
    """One line of figures (printed with ``pytest -s``; quoted in docs/reliability.md)."""
    stats = store.retry_stats
    injector = find_backend(store.backend, FaultyBackend)
    assert injector is not None
    faults = injector.fault_stats
    landed = sum(1 for k in outcome.raised if plain.exists(k))
    return (
        f"{label}: {len(outcome.committed)} committed, {len(outcome.raised)} raised "
        f"({landed} of them committed before the failure was reported); "
        f"{faults.total} faults injected {dict(sorted(faults.injected.items()))}, "
        f"{faults.applied} writes applied despite a failure; {stats.total_retries} retries, "
        f"{stats.total_gave_up} give-ups, {sum(stats.recovered.values())} puts settled by "
        f"reading back, most attempts {stats.most_attempts}; 0 half-committed; "
        f"{debris} debris objects collected by gc"
    )


def check_reported(store: Store, caplog: pytest.LogCaptureFixture, max_retries: int) -> None:
    """Retries are bounded and every injected fault shows up in the retry report and logs."""
    stats = store.retry_stats
    injector = find_backend(store.backend, FaultyBackend)
    assert injector is not None
    faults = injector.fault_stats
    assert faults.total > 0 and stats.total_retries > 0
    assert stats.max_retries == max_retries
    assert stats.most_attempts <= max_retries + 1  # bounded
    assert stats.failures == faults.by_op  # each injected fault is one failed attempt
    for op, failed in stats.failures.items():
        assert stats.retries.get(op, 0) + stats.gave_up.get(op, 0) <= failed
        assert stats.retries.get(op, 0) <= stats.calls[op] * max_retries
    records = [r for r in caplog.records if r.name == "capsa.retry"]
    assert all(r.levelno == logging.WARNING for r in records)
    assert len(records) == stats.total_retries + stats.total_gave_up
    assert all(r.getMessage().count("attempt") >= 1 for r in records)


def test_200_saves_under_faults_with_retries(space: str, caplog: pytest.LogCaptureFixture) -> None:
    options = {"fault_rate": 0.2, "seed": 20240611, "max_retries": 3, "init_backoff": 0}
    store = capsa.open_store(f"faulty+memory://{space}", options=options)
    with caplog.at_level(logging.WARNING, logger="capsa.retry"):
        outcome = run_saves(store, 200)
    plain = capsa.open_store(f"memory://{space}")
    check_no_half_commits(plain, outcome)
    check_reported(store, caplog, max_retries=3)
    # A save makes a dozen or more requests: without retries, one in five failing would sink
    # nearly all of them (0.8 ** 15 < 4%); with three retries almost every save commits.
    assert len(outcome.committed) >= 180
    assert all(isinstance(exc, TransientError) for _, exc in outcome.raised.values())
    faults = find_backend(store.backend, FaultyBackend)
    assert faults is not None
    assert set(faults.fault_stats.injected) == {"put", "get", "timeout", "partial"}
    assert faults.fault_stats.applied > 0  # timed-out writes that had landed were met
    assert store.retry_stats.recovered.get("put", 0) > 0  # ... and settled by reading back
    debris = check_gc(plain, outcome)
    print(summary("fault_rate 0.2, max_retries 3", store, plain, outcome, debris))


def test_saves_under_harsh_faults_without_enough_retries(
    space: str, caplog: pytest.LogCaptureFixture
) -> None:
    options = {"fault_rate": 0.3, "seed": 7, "max_retries": 1, "init_backoff": 0}
    store = capsa.open_store(f"faulty+memory://{space}", options=options)
    with caplog.at_level(logging.WARNING, logger="capsa.retry"):
        outcome = run_saves(store, 200)
    plain = capsa.open_store(f"memory://{space}")
    assert len(outcome.raised) >= 20 and len(outcome.committed) >= 20  # both paths, many times
    assert all(isinstance(exc, TransientError) for _, exc in outcome.raised.values())
    for _, exc in outcome.raised.values():
        assert "attempt" in str(exc)  # the error says how hard it tried
    check_no_half_commits(plain, outcome)
    check_reported(store, caplog, max_retries=1)
    assert store.retry_stats.total_gave_up >= len(outcome.raised)
    debris = check_gc(plain, outcome)
    assert debris > 0  # failed saves left debris, and gc took it
    print(summary("fault_rate 0.3, max_retries 1", store, plain, outcome, debris))


def test_overwrites_under_faults_keep_one_whole_version(space: str) -> None:
    options = {"fault_rate": 0.25, "seed": 99, "max_retries": 1, "init_backoff": 0}
    store = capsa.open_store(
        f"faulty+memory://{space}", mode="test", test_name="t", options=options
    )
    plain = capsa.open_store(f"memory://{space}", mode="test", test_name="t")
    allowed: dict[str, list[dict[str, Any]]] = {}
    absent_ok: dict[str, bool] = {}
    raised = 0
    for i in range(120):
        key = f"k{i % 8}"
        data = artifact_data(i)
        try:
            save(store, key, data)
        except CapsaError:
            raised += 1
            allowed.setdefault(key, []).append(data)
            absent_ok[key] = True
        else:
            allowed[key], absent_ok[key] = [data], False
    assert raised >= 10
    assert plain.verify().ok
    for key, versions in allowed.items():
        if not plain.exists(key):
            assert absent_ok[key], key
            continue
        assert loaded(plain, key) in versions, key
    plain.gc(dry_run=False, older_than=0)
    assert plain.verify().ok
    assert plain.gc(dry_run=True, older_than=0).objects == []


def test_saves_under_faults_on_a_local_folder(tmp_path: Path) -> None:
    url = (tmp_path / "root").as_uri()
    options = {"fault_rate": 0.25, "seed": 3, "max_retries": 2, "init_backoff": 0}
    store = capsa.open_store(f"faulty+{url}", options=options)
    outcome = run_saves(store, 60)
    plain = capsa.open_store(url)
    assert outcome.committed and store.retry_stats.total_retries > 0
    check_no_half_commits(plain, outcome)
    check_gc(plain, outcome)
    staging = tmp_path / "root" / ".capsa" / "staging"
    assert not staging.exists() or not any(staging.iterdir())
