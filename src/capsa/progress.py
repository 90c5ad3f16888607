"""Progress bars for long operations: shown on a terminal only, and easy to turn off.

Transfers (capsa-cloud), sweeps and listings (``store.list(...,
progress=True)``, ``capsa ls``) call :func:`progress_bar`; with ``total=None``
it is a counter (``12,345 artifacts``). A bar is shown only when all of these
hold:

- the caller did not pass ``enabled=False`` (an option such as the cloud
  backends' ``progress = false``);
- ``CAPSA_PROGRESS`` is not ``0``/``false``/``off``/``no``;
- the stream (stderr by default) is a TTY.

The bar is drawn by tqdm when it is installed (``pip install capsa[progress]``;
capsa-cloud depends on it), and by a small one-line fallback otherwise, so the
core keeps its two dependencies.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from typing import IO, Any

_OFF = frozenset({"0", "false", "off", "no"})


def progress_wanted(enabled: bool | None = None, stream: IO[str] | None = None) -> bool:
    """Whether a bar should be drawn: not disabled by option or environment, and on a TTY."""
    if enabled is False:
        return False
    if os.environ.get("CAPSA_PROGRESS", "").strip().lower() in _OFF:
        return False
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Progress:
    """A progress bar handle; every method is a no-op when no bar is shown.

    Use as a context manager (the bar is closed on exit) and call
    :meth:`update` with the amount done since the last call.
    """

    def __init__(self, bar: Any = None):
        self._bar = bar

    @property
    def shown(self) -> bool:
        """True when a bar is being drawn."""
        return self._bar is not None

    def update(self, n: int = 1) -> None:
        """Advance the bar by ``n`` units (thread-safe enough for counters)."""
        if self._bar is not None:
            self._bar.update(n)

    def set_postfix(self, text: str) -> None:
        """Show ``text`` after the count (``"objects=12000"``), from the next redraw on."""
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=False)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Clear the bar while the block prints to the terminal, then draw it again.

        For output written between updates (``capsa ls`` prints its rows
        page by page while the listing's counter runs on stderr).
        """
        if self._bar is None:
            yield
            return
        self._bar.clear()
        try:
            yield
        finally:
            if self._bar is not None:
                self._bar.refresh()

    def close(self) -> None:
        """Finish and remove the bar."""
        bar, self._bar = self._bar, None
        if bar is not None:
            bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _LineBar:
    """The fallback bar: one carriage-returned line, redrawn at most five times a second."""

    def __init__(self, total: int | None, desc: str, unit: str, stream: IO[str]):
        self.total = total
        self.desc = desc
        self.unit = unit
        self.stream = stream
        self.n = 0
        self.postfix = ""
        self._drawn = 0.0
        self._width = 0

    def _fmt(self, n: float) -> str:
        if self.unit != "B":
            return f"{int(n):,}"
        for suffix in ("B", "KiB", "MiB", "GiB"):
            if n < 1024 or suffix == "GiB":
                return f"{n:.1f} {suffix}" if suffix != "B" else f"{int(n)} B"
            n /= 1024
        return f"{n:.1f} TiB"  # pragma: no cover - unreachable

    def update(self, n: int) -> None:
        self.n += n
        now = time.monotonic()
        if now - self._drawn >= 0.2:
            self._drawn = now
            self._draw()

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        self.postfix = text
        if refresh:
            self._draw()

    def _draw(self) -> None:
        done = self._fmt(self.n)
        text = f"{done}/{self._fmt(self.total)}" if self.total else done
        unit = "" if self.unit == "B" else f" {self.unit}"
        extra = f", {self.postfix}" if self.postfix else ""
        line = f"{self.desc}: {text}{unit}{extra}"
        self._width = max(self._width, len(line))
        self.stream.write(f"\r{line.ljust(self._width)}")
        self.stream.flush()

    def clear(self) -> None:
        if self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()

    def refresh(self) -> None:
        self._draw()

    def close(self) -> None:
        self._draw()
        self.stream.write("\n")
        self.stream.flush()


def progress_bar(
    total: int | None,
    desc: str,
    *,
    unit: str = "B",
    enabled: bool | None = None,
    stream: IO[str] | None = None,
) -> Progress:
    """Return a :class:`Progress` for ``total`` units (``None``: unknown), or a silent one.

    :param total: the expected amount (bytes for ``unit="B"``), or None.
    :param desc: a short label (``"upload run-1/model.npz"``).
    :param unit: ``"B"`` scales to KiB/MiB/GiB; any other unit is counted as is.
    :param enabled: ``False`` turns the bar off; ``None``/``True`` leave it to
        the environment and the TTY check (see :func:`progress_wanted`).
    :param stream: where to draw; stderr by default.
    """
    stream = sys.stderr if stream is None else stream
    if not progress_wanted(enabled, stream):
        return Progress()
    try:
        from tqdm import tqdm  # type: ignore[import-untyped]
    except ImportError:
        return Progress(_LineBar(total, desc, unit, stream))
    scale = unit == "B"
    bar = tqdm(
        total=total,
        desc=desc,
        unit="B" if scale else f" {unit}",  # "12,345 artifacts", not "12345artifacts"
        unit_scale=scale,
        unit_divisor=1024 if scale else 1000,
        file=stream,
        leave=False,
        dynamic_ncols=True,
    )
    return Progress(bar)
