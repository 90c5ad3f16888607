"""Progress bars: on a terminal only, off by option or CAPSA_PROGRESS, tqdm or the fallback."""

from __future__ import annotations

import io
import sys

import pytest

from capsa import progress
from capsa.progress import progress_bar, progress_wanted


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAPSA_PROGRESS", raising=False)


def test_a_bar_is_drawn_on_a_terminal() -> None:
    out = _Tty()
    with progress_bar(3 << 20, "upload big.npz", stream=out) as bar:
        assert bar.shown
        bar.update(3 << 20)
    assert "upload big.npz" in out.getvalue()


def test_no_bar_off_a_terminal() -> None:
    out = io.StringIO()
    with progress_bar(100, "upload", stream=out) as bar:
        assert not bar.shown
        bar.update(100)  # a no-op
    assert out.getvalue() == ""


@pytest.mark.parametrize("value", ["0", "false", "OFF", "no"])
def test_capsa_progress_turns_bars_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CAPSA_PROGRESS", value)
    assert progress_wanted(None, _Tty()) is False


def test_the_option_turns_bars_off() -> None:
    out = _Tty()
    assert progress_wanted(False, out) is False
    assert not progress_bar(10, "x", enabled=False, stream=out).shown
    assert out.getvalue() == ""


def test_a_closed_or_odd_stream_means_no_bar() -> None:
    closed = io.StringIO()
    closed.close()
    assert progress_wanted(None, closed) is False
    assert progress_wanted(None, object()) is False  # type: ignore[arg-type]


def test_the_fallback_bar_without_tqdm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm fails
    out = _Tty()
    with progress_bar(5 << 20, "download x", stream=out) as bar:
        bar.update(5 << 20)
    text = out.getvalue()
    assert "download x: 5.0 MiB/5.0 MiB" in text
    assert text.endswith("\n")
    out = _Tty()
    with progress_bar(None, "sweep", unit="run", stream=out) as bar:
        bar.update(3)
    assert "sweep: 3 run" in out.getvalue()


def test_progress_handle_close_is_idempotent() -> None:
    bar = progress.Progress()
    bar.close()
    bar.close()
    assert not bar.shown
