"""Drawing panels of signals with matplotlib, headless, to PNG and PDF.

matplotlib is an optional extra (``pip install capsa-optim[plot]``) and is
imported only here, when a figure is drawn. Figures are built on
``matplotlib.figure.Figure`` directly (no pyplot, no GUI backend, no global
state), so they render the same on a laptop, a cluster node or CI.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capsa.errors import ValidationError
from capsa_optim.errors import MissingDependencyError
from capsa_optim.plotting.panels import Panel, default_panels
from capsa_optim.signals.signal import OptimSignal, as_optim_signal
from capsa_optim.signals.units import pretty

if TYPE_CHECKING:
    from capsa_optim.location import RunDir

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#7F7F7F", "#000000")
"""Okabe-Ito colours: distinguishable with the common colour-vision deficiencies."""

STYLE: dict[str, Any] = {
    "font.size": 9.5,
    "axes.titlesize": 10,
    "axes.labelsize": 9.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "0.88",
    "grid.linewidth": 0.7,
    "axes.edgecolor": "0.3",
    "legend.frameon": False,
    "legend.fontsize": 8,
    "lines.linewidth": 1.6,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "pdf.fonttype": 42,
}
"""rc settings applied while drawing and saving."""

FORMATS = ("png", "pdf")
"""Formats written by :func:`save_figure` by default."""


def require_matplotlib() -> Any:
    """Import matplotlib (raising :class:`MissingDependencyError` with the install hint)."""
    try:
        import matplotlib
        from matplotlib.figure import Figure  # noqa: F401 - checks the whole stack imports
    except ImportError as exc:
        raise MissingDependencyError(
            f"plotting needs matplotlib ({exc}); install it with: pip install 'capsa-optim[plot]'"
        ) from None
    return matplotlib


def _fmt(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if value == 0 or 1e-3 <= abs(value) < 1e4:
        return f"{value:.4g}"
    return f"{value:.2e}"


def _decimate(count: int, max_points: int) -> Any:
    import numpy as np

    if count <= max_points:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, max_points).round().astype(np.int64))


def _summary(values: Any, how: str) -> Any:
    import numpy as np

    if how == "norm":
        return np.linalg.norm(values, axis=1)
    if how == "mean_abs":
        return np.abs(values).mean(axis=1)
    return np.sqrt((values**2).mean(axis=1))


def display_names(names: Sequence[str], signals: Mapping[str, OptimSignal]) -> dict[str, str]:
    """Short legend labels, e.g. ``binary.x_position_error_uas`` -> ``x_position``.

    The last dotted part, without the unit suffix or ``_error`` tag; full
    names when they would clash.
    """
    from capsa_optim.signals.units import split_unit

    out: dict[str, str] = {}
    for name in names:
        short = split_unit(name.rsplit(".", 1)[-1])[0]
        sig = signals[name]
        if sig.kind == "error_vs_truth" and short.endswith("_error"):
            short = short[: -len("_error")]
        for tag in ("_rms", "_norm"):
            if sig.kind == tag[1:] and short.endswith(tag):
                short = short[: -len(tag)]
        out[name] = short or name
    if len(set(out.values())) < len(out):
        return {name: split_unit(name)[0] for name in names}
    return out


def _component_label(sig: OptimSignal, j: int, display: str, several: bool) -> str:
    label = sig.labels[j] if sig.labels else f"[{j}]"
    if "[" in label:
        label = label[label.index("[") :]
    return f"{display}{label}" if several else label


def _choose_scale(panel: Panel, ys: list[Any], signed: bool) -> str:
    """``log`` for positive series (or |errors|) spanning more than two decades, else linear."""
    import numpy as np

    if panel.yscale != "auto":
        return panel.yscale
    if not ys:
        return "linear"
    data = np.concatenate([np.asarray(y, dtype=np.float64).ravel() for y in ys])
    data = data[np.isfinite(data)]
    if signed:
        data = np.abs(data)
    nonzero = data[data != 0]
    if nonzero.size == 0 or (data < 0).any():
        return "linear"
    return "log" if nonzero.max() / nonzero.min() > 100 else "linear"


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _decade_label(value: float, _pos: Any = None) -> str:
    """``1e-05`` -> ``10⁻⁵`` in plain Unicode (mathtext is slow to lay out)."""
    if value <= 0 or not math.isfinite(value):
        return ""
    exponent = math.log10(value)
    if abs(exponent - round(exponent)) > 1e-9:
        return f"{value:.3g}"
    n = round(exponent)
    return {0: "1", 1: "10"}.get(n, "10" + str(n).translate(_SUPERSCRIPT))


def _tidy_log_axis(ax: Any) -> None:
    """At most ~6 labelled decades and no minor ticks on wide log axes (readable, and fast)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    low, high = ax.get_ylim()
    decades = math.log10(max(high, 1e-300)) - math.log10(max(low, 1e-300))
    ax.yaxis.set_major_locator(LogLocator(base=10.0, numticks=7))
    ax.yaxis.set_major_formatter(FuncFormatter(_decade_label))
    if decades > 4:
        ax.yaxis.set_minor_locator(NullLocator())


def draw_panel(
    ax: Any, panel: Panel, signals: Mapping[str, OptimSignal], *, max_points: int = 2000
) -> None:
    """Draw one panel on a matplotlib Axes.

    Errors against truth spanning more than two decades are drawn as
    |error| on a log axis (convergence reads as a straight line); the title
    still gives the signed final residual.
    """
    import numpy as np

    panel.check(signals)
    names = display_names(panel.signals, signals)
    several = len(panel.signals) > 1
    signed = any(signals[n].kind == "error_vs_truth" for n in panel.signals)
    # First pass: what is drawn (x, y, label, style), to choose the scale.
    series: list[tuple[Any, Any, str, dict[str, Any]]] = []
    finals: list[str] = []
    units: list[str] = []
    for name in panel.signals:
        sig = signals[name]
        values = np.asarray(sig.values, dtype=np.float64)
        steps = np.arange(values.shape[0]) if sig.steps is None else np.asarray(sig.steps)
        units.append(sig.unit)
        label = names[name]
        if values.ndim == 1:
            series.append((steps, values, label, {}))
            if values.size:
                finals.append(f"{label} {_fmt(float(values[-1]))}")
            continue
        mode = panel.mode_for(values.shape[1])
        if mode in ("summary", "hybrid"):
            summ = _summary(values, panel.summary)
            text = panel.summary.replace("_", " ")
            series.append(
                (
                    steps,
                    summ,
                    f"{label} {text}" if several else text,
                    {"linewidth": 2.4, "zorder": 3},
                )
            )
            if summ.size:
                finals.append(f"{label + ' ' if several else ''}{text} {_fmt(float(summ[-1]))}")
        if mode in ("components", "hybrid"):
            k = values.shape[1]
            order: Sequence[int] = range(k)
            if mode == "hybrid" and values.shape[0]:
                order = np.argsort(-np.abs(values[-1]))[: panel.top_n].tolist()
            thin = mode == "hybrid" or k > 4
            for j in order:
                style = {"linewidth": 1.0, "alpha": 0.75} if thin else {}
                series.append(
                    (steps, values[:, j], _component_label(sig, j, label, several), style)
                )
            if mode == "components" and values.shape[0] and k <= 3:
                finals.extend(
                    f"{_component_label(sig, j, label, several)} {_fmt(float(values[-1, j]))}"
                    for j in range(k)
                )
    scale = _choose_scale(panel, [y for _, y, _, _ in series], signed)
    absolute = signed and scale == "log"
    for i, (x, y, label, style) in enumerate(series):
        keep = _decimate(y.shape[0], max_points)
        yy = np.abs(y[keep]) if absolute else y[keep]
        ax.plot(x[keep], yy, color=PALETTE[i % len(PALETTE)], label=label, **style)
    ax.set_yscale(scale)
    if scale == "log":
        _tidy_log_axis(ax)
    if signed and not absolute:
        ax.axhline(0.0, color="0.55", linewidth=0.8, zorder=0)
    title = panel.title or (panel.signals[0] if len(panel.signals) == 1 else "")
    unit_text = pretty(units[0]) if len(set(units)) == 1 and units[0] != "1" else ""
    if panel.show_final and finals:
        kind = "final residual" if signed else "final"
        shown = finals[:3] + (["..."] if len(finals) > 3 else [])
        title = f"{title}\n{kind}: " + ", ".join(shown) + (f" {unit_text}" if unit_text else "")
    ax.set_title(title, loc="left")
    ylabel = panel.ylabel
    if ylabel is None:
        if panel.signals == ("loss",):
            ylabel = "loss"
        elif signed:
            core = "|error|" if absolute else "error"
            ylabel = f"{core} ({unit_text})" if unit_text else core
        else:
            ylabel = unit_text
    ax.set_ylabel(ylabel)
    ax.set_xlabel("step")
    ax.margins(x=0.01)
    if 1 < len(series) <= 10:
        ax.legend(loc="best")


def plot_panels(
    signals: Mapping[str, Any],
    panels: Sequence[Panel | Sequence[str]] | None = None,
    *,
    ncols: int = 2,
    figure: Any = None,
    axes: Any = None,
    title: str | None = None,
    max_points: int = 2000,
    panel_size: tuple[float, float] = (5.0, 3.2),
    save: str | os.PathLike[str] | None = None,
    formats: Sequence[str] = FORMATS,
    dpi: int = 150,
) -> Any:
    """Draw a grid of panels and return the matplotlib ``Figure``.

    :param signals: name -> Signal (as built by :func:`~capsa_optim.build_signals`).
    :param panels: :class:`Panel` objects (or tuples of signal names);
        default: :func:`~capsa_optim.default_panels`.
    :param ncols: panels per row.
    :param figure: draw into this Figure (subplots are added to it).
    :param axes: draw into these Axes (one Axes for one panel, or a sequence).
    :param title: figure title.
    :param max_points: points per line at most (long traces are decimated).
    :param save: a path stem: writes ``<stem>.png`` and ``<stem>.pdf``.
    :raises MissingDependencyError: matplotlib is not installed.
    :raises ValidationError: unknown signal names, bad layout arguments.
    """
    import numpy as np

    matplotlib = require_matplotlib()
    from matplotlib.figure import Figure

    checked = {name: as_optim_signal(name, sig) for name, sig in signals.items()}
    if not checked:
        raise ValidationError("plot_panels: no signals to draw")
    chosen = (
        default_panels(checked)
        if panels is None
        else [p if isinstance(p, Panel) else Panel(signals=tuple(p)) for p in panels]
    )
    for panel in chosen:
        panel.check(checked)
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValidationError(f"plot_panels: ncols must be an int >= 1, got {ncols!r}")
    count = len(chosen)
    with matplotlib.rc_context(STYLE):
        if axes is not None:
            flat = [axes] if not isinstance(axes, Sequence | np.ndarray) else list(np.ravel(axes))
            if len(flat) < count:
                raise ValidationError(
                    f"plot_panels: {count} panels but {len(flat)} Axes were given"
                )
            fig = flat[0].figure
            unused: list[Any] = flat[count:]
        else:
            cols = min(ncols, count)
            rows = math.ceil(count / cols)
            if figure is None:
                fig = Figure(
                    figsize=(panel_size[0] * cols, panel_size[1] * rows), layout="constrained"
                )
            else:
                fig = figure
            grid = fig.subplots(rows, cols, squeeze=False)
            flat = list(grid.ravel())
            unused = flat[count:]
        for ax, panel in zip(flat, chosen, strict=False):
            draw_panel(ax, panel, checked, max_points=max_points)
        for ax in unused:
            ax.set_visible(False)
        if title:
            fig.suptitle(title, fontsize=12, fontweight="bold")
        if save is not None:
            save_figure(fig, save, formats=formats, dpi=dpi)
    return fig


def save_figure(
    fig: Any, stem: str | os.PathLike[str], *, formats: Sequence[str] = FORMATS, dpi: int = 150
) -> list[Path]:
    """Write ``<stem>.<fmt>`` for each format (PNG and PDF by default); return the paths."""
    matplotlib = require_matplotlib()
    bad = [f for f in formats if f not in ("png", "pdf", "svg")]
    if bad or not formats:
        raise ValidationError(f"save_figure: formats must be png, pdf or svg, got {list(formats)}")
    base = Path(stem)
    if base.suffix.lower() in (".png", ".pdf", ".svg"):
        base = base.with_suffix("")
    base.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    with matplotlib.rc_context(STYLE):
        for fmt in formats:
            path = base.with_name(f"{base.name}.{fmt}")
            fig.savefig(path, format=fmt, dpi=dpi)
            paths.append(path)
    return paths


def figure_bytes(fig: Any, fmt: str = "png", *, dpi: int = 150) -> bytes:
    """The figure encoded as ``png``, ``pdf`` or ``svg`` bytes."""
    matplotlib = require_matplotlib()
    if fmt not in ("png", "pdf", "svg"):
        raise ValidationError(f"figure_bytes: format must be png, pdf or svg, got {fmt!r}")
    buf = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buf, format=fmt, dpi=dpi)
    return buf.getvalue()


def plot_run(
    run_dir: RunDir,
    *,
    panels: Sequence[Panel | Sequence[str]] | None = None,
    truth: Any = None,
    decoder: Any = None,
    builders: Sequence[str] | None = None,
    use_cached: bool = True,
    save: str | os.PathLike[str] | None = None,
    **options: Any,
) -> Any:
    """Plot a saved run and return the Figure.

    Uses its cached ``signals.npz`` when present (and no truth or decoder is
    given), else signals built from the trace.
    """
    from capsa_optim.artifacts import RunArtifacts
    from capsa_optim.signals.build import build_signals

    run = RunArtifacts(run_dir)
    cached = run.signals if use_cached and truth is None and decoder is None else None
    signals = (
        cached
        if cached
        else build_signals(run.trace, run.meta, builders=builders, decoder=decoder, truth=truth)
    )
    options.setdefault("title", f"run {run.meta.run_id}")
    return plot_panels(signals, panels, save=save, **options)


def plots_artifact(
    fig: Any, panels: Sequence[Panel] | None = None, *, dpi: int = 150
) -> dict[str, Any]:
    """The members of an ``optim.plots`` artifact: PNG and PDF bytes, and the panel spec."""
    spec = [
        {"title": p.title, "signals": list(p.signals), "mode": p.mode, "summary": p.summary}
        for p in (panels or [])
    ]
    return {
        "png": figure_bytes(fig, "png", dpi=dpi),
        "pdf": figure_bytes(fig, "pdf", dpi=dpi),
        "spec": {"schema": "capsa.optim.plots", "schema_version": 1, "panels": spec},
    }
