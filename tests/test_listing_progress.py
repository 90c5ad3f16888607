"""Long listings: lazy, bounded, in key order, with a progress counter; ``capsa ls`` streams."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import capsa
from capsa.cli import ls as ls_cli
from capsa.cli.main import build_parser
from capsa.cli.render import emit_json, human_size, table
from capsa.errors import CapsaError
from capsa.store.store import LISTING_REPORT_EVERY, ListingProgress, Store
from capsa.testing.isolation import fresh_store_url


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _populate(store: Store, count: int, prefix: str = "runs") -> list[str]:
    keys = [f"{prefix}/r{i:04d}" for i in range(count)]
    for i, key in enumerate(keys):
        store.save(key, "json", {"i": i})
    return keys


class _CountingGets:
    """Wraps a backend's ``get``: counts marker reads, optionally fails one."""

    def __init__(self, store: Store, fail_on: str | None = None):
        self.calls = 0
        self._lock = threading.Lock()
        self._get = store.backend.get
        self._fail_on = fail_on
        store.backend.get = self  # type: ignore[method-assign]

    def __call__(self, key: str) -> bytes:
        with self._lock:
            self.calls += 1
        if self._fail_on is not None and key.startswith(self._fail_on):
            raise CapsaError(f"injected failure reading {key}")
        data: bytes = self._get(key)
        return data


@pytest.fixture(params=[1, 8], ids=["sequential", "concurrent"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A memory store read one marker at a time, or eight at a time (as on S3)."""
    for url in fresh_store_url("memory", tmp_path, name="listing"):
        opened = capsa.open_store(url)
        opened.backend.io_concurrency = request.param
        yield opened


def test_listing_is_in_key_order_and_reports_progress(store: Store) -> None:
    keys = _populate(store, 300)
    store.save("other/note", "text", "hi")
    reports: list[ListingProgress] = []
    listed = store.list("runs/", progress=reports.append)
    assert [a.key for a in listed] == keys
    assert listed[0].kind == "json" and listed[0].members == ("data.json",)
    # Reports every LISTING_REPORT_EVERY markers, counts only grow, the last says done.
    assert len(reports) >= 300 // LISTING_REPORT_EVERY + 1
    assert reports[-1] == ListingProgress(objects=600, artifacts=300, done=True)
    assert not any(r.done for r in reports[:-1])
    pairs = [(r.objects, r.artifacts) for r in reports]
    assert pairs == sorted(pairs)
    # A kind filter: the counter still counts every committed artifact found.
    reports.clear()
    assert [a.key for a in store.iter_artifacts(kind="text", progress=reports.append)] == [
        "other/note"
    ]
    assert reports[-1].artifacts == 301 and reports[-1].done


def test_an_empty_listing_reports_once(store: Store) -> None:
    reports: list[ListingProgress] = []
    assert store.list("nothing/", progress=reports.append) == []
    assert reports == [ListingProgress(objects=0, artifacts=0, done=True)]


def test_markers_are_read_lazily_a_window_ahead(store: Store) -> None:
    _populate(store, 400)
    gets = _CountingGets(store)
    items = store.iter_artifacts("runs/")
    first = next(items)
    assert first.key == "runs/r0000"
    # Only a bounded window of markers was read to produce the first artifact.
    assert gets.calls <= 8 * 8 + 8
    rest = list(items)
    assert len(rest) == 399 and gets.calls == 400


def test_stopping_early_stops_the_reads(store: Store) -> None:
    _populate(store, 400)
    gets = _CountingGets(store)
    items = store.iter_artifacts("runs/")
    for _ in range(10):
        next(items)
    items.close()  # a consumer that breaks out of its loop
    seen = gets.calls
    assert seen < 400
    assert not [t for t in threading.enumerate() if t.name.startswith("capsa-io-list")]
    assert gets.calls == seen


def test_a_failing_read_is_raised_not_skipped(store: Store) -> None:
    _populate(store, 200)
    _CountingGets(store, fail_on="runs/r0150/")
    with pytest.raises(CapsaError, match="injected failure"):
        list(store.iter_artifacts("runs/"))
    assert not [t for t in threading.enumerate() if t.name.startswith("capsa-io-list")]


def test_progress_true_draws_a_counter_on_a_terminal_only(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _populate(store, 150)
    monkeypatch.setitem(__import__("sys").modules, "tqdm", None)  # the fallback bar
    tty = _Tty()
    monkeypatch.setattr("sys.stderr", tty)
    assert len(store.list(progress=True)) == 150
    text = tty.getvalue()
    assert f"list {store.url}" in text and "150 artifacts, 300 objects" in text

    off = io.StringIO()  # not a terminal: nothing drawn
    monkeypatch.setattr("sys.stderr", off)
    assert len(store.list(progress=True)) == 150
    assert off.getvalue() == ""

    monkeypatch.setenv("CAPSA_PROGRESS", "0")
    monkeypatch.setattr("sys.stderr", tty := _Tty())
    assert len(store.list(progress=True)) == 150
    assert tty.getvalue() == ""


# -- capsa ls ------------------------------------------------------------------------


def _ls(argv: list[str]) -> tuple[int, str]:
    args: argparse.Namespace = build_parser().parse_args(["ls", *argv])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = ls_cli.cmd_ls(args)
    return code, out.getvalue()


@pytest.fixture
def many(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Store]]:
    """A store of 23 artifacts with keys of growing length, printed 5 per page."""
    url = str(tmp_path / "store")
    store = capsa.open_store(url)
    for i in range(23):
        store.save(
            f"exp/{'k' * (i // 5)}{i:02d}", "json" if i % 3 else "text", {"i": i} if i % 3 else "t"
        )
    monkeypatch.setattr(ls_cli, "PAGE", 5)
    yield url, store


def test_ls_prints_page_by_page_with_growing_columns(many: tuple[str, Store]) -> None:
    url, store = many
    code, out = _ls(["--store", url])
    assert code == 0
    lines = out.splitlines()
    items = store.list()
    assert lines[0].split() == ["KEY", "KIND", "SIZE", "CREATED"]
    assert [line.split()[0] for line in lines[1:]] == [i.key for i in items]
    # Within a page the columns line up; a later page's longer keys widen them, never narrow.
    starts = [line.index(" json" if " json " in line else " text") for line in lines[1:]]
    assert starts == sorted(starts) and starts[0] < starts[-1]
    first_page = table(
        [[i.key, i.kind, human_size(i.size), i.created_at] for i in items[:5]],
        ["KEY", "KIND", "SIZE", "CREATED"],
    )
    assert "\n".join(lines[:6]) == first_page


def test_ls_json_is_the_whole_document_streamed(many: tuple[str, Store]) -> None:
    url, store = many
    code, out = _ls(["exp/", "--json", "--store", url])
    expected = io.StringIO()
    with contextlib.redirect_stdout(expected):
        emit_json({"store": store.url, "mode": store.mode, "artifacts": store.list("exp/")})
    assert code == 0 and out == expected.getvalue()
    assert len(json.loads(out)["artifacts"]) == 23
    _, out = _ls(["exp/", "--kind", "text", "--json", "--store", url])
    assert [a["kind"] for a in json.loads(out)["artifacts"]] == ["text"] * 8
    _, out = _ls(["nothing/", "--json", "--store", url])
    assert json.loads(out)["artifacts"] == []


def test_ls_shows_a_counter_on_stderr_and_clears_it_for_each_page(
    many: tuple[str, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, store = many
    monkeypatch.setitem(__import__("sys").modules, "tqdm", None)
    tty = _Tty()
    monkeypatch.setattr("sys.stderr", tty)
    code, out = _ls(["--store", url])
    assert code == 0 and len(out.splitlines()) == 24  # the rows go to stdout only
    err = tty.getvalue()
    assert f"list {store.url}" in err and "23 artifacts, 46 objects" in err
    assert err.count("\r" + " " * 10) >= 4  # cleared before each of the 5 pages
    monkeypatch.setenv("CAPSA_PROGRESS", "0")
    monkeypatch.setattr("sys.stderr", tty := _Tty())
    _ls(["--store", url])
    assert tty.getvalue() == ""


def test_ls_says_when_nothing_is_there(tmp_path: Path) -> None:
    code, out = _ls(["--store", str(tmp_path / "empty")])
    assert code == 0 and out.startswith("no artifacts in ")
