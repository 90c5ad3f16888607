"""Panels: which signals share an axis, and how vector signals are drawn.

A panel groups one or more signals (x and y residuals together, star A and
B fluxes together). Vector signals (T, k) are drawn as

* ``"components"``: one line per component;
* ``"summary"``: one RMS (or norm, or mean |x|) line;
* ``"hybrid"``: the summary plus the ``top_n`` components largest at the end.

Titles can carry the final value (and, for errors, the final residual) of
each signal for quick scanning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from capsa.errors import ValidationError

MODES = ("auto", "components", "summary", "hybrid")
"""How vector signals are drawn."""

SUMMARIES = ("rms", "norm", "mean_abs")
"""The summary line of vector signals."""

YSCALES = ("auto", "linear", "log", "symlog")
"""Y axis scales (``auto``: log/symlog when values span more than two decades)."""

MAX_COMPONENTS = 8
"""Above this many components, ``auto`` draws vector signals as ``hybrid``."""


@dataclass(frozen=True)
class Panel:
    """One axis of a panel grid.

    :ivar signals: names of the signals drawn on it.
    :ivar title: title (default: the signals' shared panel name).
    :ivar mode: one of :data:`MODES`.
    :ivar summary: one of :data:`SUMMARIES`.
    :ivar top_n: components drawn in ``hybrid`` mode.
    :ivar yscale: one of :data:`YSCALES`.
    :ivar show_final: append final values (final residuals for errors) to the title.
    :ivar ylabel: y label (default: the unit).
    """

    signals: tuple[str, ...]
    title: str | None = None
    mode: str = "auto"
    summary: str = "rms"
    top_n: int = 3
    yscale: str = "auto"
    show_final: bool = True
    ylabel: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.signals, str) or not isinstance(self.signals, Sequence):
            raise ValidationError(f"Panel.signals must be a tuple of names, got {self.signals!r}")
        if not self.signals:
            raise ValidationError("a Panel needs at least one signal")
        object.__setattr__(self, "signals", tuple(self.signals))
        for field, allowed in (("mode", MODES), ("summary", SUMMARIES), ("yscale", YSCALES)):
            if getattr(self, field) not in allowed:
                raise ValidationError(
                    f"Panel.{field} must be one of {list(allowed)}, got {getattr(self, field)!r}"
                )
        if isinstance(self.top_n, bool) or not isinstance(self.top_n, int) or self.top_n < 0:
            raise ValidationError(f"Panel.top_n must be an int >= 0, got {self.top_n!r}")

    def check(self, signals: Mapping[str, Any]) -> None:
        """Refuse names that are not among ``signals``."""
        missing = [s for s in self.signals if s not in signals]
        if missing:
            known = ", ".join(sorted(signals)[:10])
            raise ValidationError(
                f"panel {self.title or self.signals[0]!r}: unknown signal(s) "
                f"{missing} (signals: {known}{', ...' if len(signals) > 10 else ''})"
            )

    def mode_for(self, width: int) -> str:
        """The mode actually used for a signal with ``width`` components."""
        if width <= 1:
            return "components"
        if self.mode == "auto":
            return "components" if width <= MAX_COMPONENTS else "hybrid"
        return self.mode


def default_panels(
    signals: Mapping[str, Any], *, exclude_kinds: Sequence[str] = ("norm", "rms")
) -> list[Panel]:
    """One panel per ``signal.panel`` group, in order of first appearance.

    Norm/RMS summaries of vector leaves are left out by default (the vector's
    own panel draws its summary in ``hybrid`` mode); pass ``exclude_kinds=()``
    to keep them. The optimizer's ``grad_norm``/``step_norm`` are kept.
    """
    groups: dict[str, list[str]] = {}
    for name, sig in signals.items():
        kind = getattr(sig, "kind", "scalar")
        source = getattr(sig, "source", None) or ""
        if kind in exclude_kinds and not source.startswith("trace."):
            continue
        groups.setdefault(getattr(sig, "panel", None) or name, []).append(name)
    ordered = sorted(groups.items(), key=lambda item: 0 if item[0] == "loss" else 1)
    return [Panel(signals=tuple(names), title=group) for group, names in ordered]
