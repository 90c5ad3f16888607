"""Kinds declare plain files that gc must keep (``ArtifactKind.gc_keep``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import ClassVar

import pytest

import capsa
from capsa import hookimpl
from capsa.kinds.base import ArtifactKind, MemberSpec
from capsa.plugins.manager import register_plugin, unregister_plugin


class LedgerKind(ArtifactKind):
    name: ClassVar[str] = "test.ledger"
    version: ClassVar[int] = 1
    members: ClassVar[tuple[MemberSpec, ...]] = (
        MemberSpec(name="data", format="json", filename="data.json"),
    )
    gc_keep: ClassVar[tuple[str, ...]] = ("*_ledger.json", "_LEDGER_OK", "*/.ledger/*")


class LedgerPlugin:
    @hookimpl
    def capsa_register_artifact_kinds(self, register: Callable[[ArtifactKind], None]) -> None:
        register(LedgerKind())


@pytest.fixture
def ledger() -> Iterator[None]:
    register_plugin(LedgerPlugin(), "ledger")
    yield
    unregister_plugin("ledger")


def test_gc_keeps_what_an_installed_kind_declares(ledger: None) -> None:
    store = capsa.open_store("memory://gc-keep", mode="development", session="s")
    store.save("run", "test.ledger", {"x": 1})
    backend = store.backend
    for key in (
        "runs_ledger.json",  # name pattern, at the root
        "deep/er/fit_ledger.json",  # name pattern, anywhere
        "out/_LEDGER_OK",
        "out/.ledger/v/0001",  # key pattern
        "out/stray.tmp",  # debris
        "out/ledger.json",  # does not match *_ledger.json
    ):
        backend.put(key, b"x")
    report = store.gc(dry_run=False, older_than=0)
    assert sorted(report.objects) == ["out/ledger.json", "out/stray.tmp"]
    assert store.load("run", verify=True)["data"] == {"x": 1}


def test_without_the_kind_those_files_are_debris() -> None:
    store = capsa.open_store("memory://gc-keep-none", mode="development", session="s")
    store.backend.put("runs_ledger.json", b"x")
    assert store.gc(dry_run=True, older_than=0).objects == ["runs_ledger.json"]
