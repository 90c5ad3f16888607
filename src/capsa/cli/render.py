"""Turning results into text or JSON for the terminal."""

from __future__ import annotations

import sys
from typing import Any

import msgspec


def emit_json(value: Any) -> None:
    """Print ``value`` as indented JSON (dataclasses and Structs included)."""
    raw = msgspec.json.encode(value, enc_hook=_enc)
    sys.stdout.write(msgspec.json.format(raw, indent=2).decode() + "\n")


def _enc(obj: Any) -> Any:
    import dataclasses
    from pathlib import Path

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, Path):
        return str(obj)
    raise NotImplementedError(type(obj).__name__)


def human_size(n: int) -> str:
    """``1536`` -> ``"1.5 KiB"``."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def table(rows: list[list[str]], headers: list[str]) -> str:
    """A plain left-aligned text table."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)
