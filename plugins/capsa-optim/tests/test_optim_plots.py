"""Panels and plots (matplotlib, headless): layouts, modes, injection, PNG/PDF output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from capsa_optim import Panel, build_signals, default_panels, plot_panels, plot_run, save_run
from capsa_optim.plotting.render import display_names, figure_bytes, plots_artifact
from optim_helpers import layout, make_meta

from capsa.errors import ValidationError
from capsa.estimators import Signal

PNG = b"\x89PNG\r\n\x1a\n"


def run_signals(steps: int = 200) -> tuple[dict, dict, dict]:
    rng = np.random.default_rng(0)
    truth = rng.normal(size=12)
    decay = np.exp(-np.arange(steps) / 20.0)[:, None]
    theta = truth + decay * rng.normal(size=(1, 12))
    trace = {"loss": decay[:, 0] ** 2, "theta": theta, "grad_norm": decay[:, 0]}
    meta = make_meta(index_map=layout())
    return build_signals(trace, meta, truth=truth), trace, meta


def lines(ax) -> list:  # type: ignore[no-untyped-def]
    return [
        line for line in ax.get_lines() if line.get_label() and not line.get_label().startswith("_")
    ]


def test_default_panels_group_by_panel_loss_first() -> None:
    signals, _, _ = run_signals()
    panels = default_panels(signals)
    titles = [p.title for p in panels]
    assert titles[0] == "loss"
    assert "astrometry error" in titles and "primary.zernikes" in titles
    error_panel = next(p for p in panels if p.title == "astrometry error")
    assert error_panel.signals == ("binary.x_position_error_uas", "binary.y_position_error_uas")
    # RMS/norm summaries of leaves are drawn by the vector's own panel, not separately.
    assert not any("rms" in s for p in panels for s in p.signals)


def test_grid_is_drawn_and_saved_as_png_and_pdf(tmp_path: Path) -> None:
    signals, _, _ = run_signals()
    keep = ("loss", "binary.x_position_error_uas", "binary.y_position_error_uas", "grad_norm")
    subset = {name: signals[name] for name in keep}
    fig = plot_panels(subset, ncols=2, save=tmp_path / "figs" / "run7", title="run 7")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == len(default_panels(subset)) == 3
    assert sum(not ax.get_visible() for ax in fig.axes) == 1  # a 2x2 grid, one hidden
    assert (tmp_path / "figs" / "run7.png").read_bytes().startswith(PNG)
    assert (tmp_path / "figs" / "run7.pdf").read_bytes().startswith(b"%PDF")
    loss_ax = visible[0]
    assert loss_ax.get_yscale() == "log" and loss_ax.get_ylabel() == "loss"
    assert "final: loss" in loss_ax.get_title(loc="left")
    assert fig.get_suptitle() == "run 7"


def test_error_panel_titles_show_the_final_residual_and_use_log_abs() -> None:
    signals, _, _ = run_signals()
    panel = Panel(("binary.x_position_error_uas", "binary.y_position_error_uas"), title="astro")
    fig = plot_panels(signals, [panel])
    ax = fig.axes[0]
    title = ax.get_title(loc="left")
    final_x = signals["binary.x_position_error_uas"].values[-1]
    assert title.startswith("astro\nfinal residual: x_position ") and title.endswith("µas")
    assert f"{final_x:.4g}" in title or f"{final_x:.2e}" in title
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "|error| (µas)"
    assert [line.get_label() for line in lines(ax)] == ["x_position", "y_position"]


@pytest.mark.parametrize(("mode", "count"), [("components", 9), ("summary", 1), ("hybrid", 4)])
def test_vector_modes(mode: str, count: int) -> None:
    signals, _, _ = run_signals()
    fig = plot_panels(signals, [Panel(("primary.zernike_coeffs_nm",), mode=mode, top_n=3)])
    drawn = lines(fig.axes[0])
    assert len(drawn) == count
    if mode != "components":
        summary = drawn[0].get_ydata()
        values = signals["primary.zernike_coeffs_nm"].values
        np.testing.assert_allclose(summary, np.sqrt((values**2).mean(axis=1)))


def test_hybrid_picks_the_largest_final_components() -> None:
    values = np.zeros((10, 5))
    values[-1] = [0.1, -5.0, 0.2, 3.0, -0.05]
    sig = {"v_nm": Signal(values=values, unit="nm")}
    fig = plot_panels(sig, [Panel(("v_nm",), mode="hybrid", top_n=2, yscale="linear")])
    labels = [line.get_label() for line in lines(fig.axes[0])]
    assert labels == ["rms", "[1]", "[3]"]


def test_long_series_are_decimated() -> None:
    sig = {"loss": Signal(values=np.linspace(2, 1, 100_000))}
    fig = plot_panels(sig, max_points=500)
    line = lines(fig.axes[0])
    assert len(fig.axes[0].get_lines()[0].get_xdata()) <= 500
    assert fig.axes[0].get_lines()[0].get_xdata()[-1] == 99_999
    del line


def test_axes_and_figure_injection() -> None:
    from matplotlib.figure import Figure

    signals, _, _ = run_signals()
    fig = Figure()
    ax = fig.add_subplot()
    out = plot_panels(signals, [("loss",)], axes=ax)
    assert out is fig and len(lines(ax)) == 1
    fig2 = Figure()
    axes = fig2.subplots(1, 3)
    plot_panels(signals, [("loss",), ("grad_norm",)], axes=axes)
    assert not axes[2].get_visible() and len(lines(axes[1])) == 1
    fig3 = Figure()
    assert plot_panels(signals, [("loss",), ("grad_norm",)], figure=fig3) is fig3
    assert len(fig3.axes) == 2
    with pytest.raises(ValidationError, match=r"2 panels but 1 Axes"):
        plot_panels(signals, [("loss",), ("grad_norm",)], axes=ax)


def test_plot_run_from_a_saved_run(tmp_path: Path) -> None:
    signals, trace, meta = run_signals()
    save_run("runs/p", trace, meta, signals={"loss": signals["loss"]})
    fig = plot_run("runs/p", save=tmp_path / "p", formats=("png",))  # the cached signals.npz
    assert fig.get_suptitle() == "run p" and len(fig.axes) == 1
    assert (tmp_path / "p.png").read_bytes().startswith(PNG)
    built = plot_run("runs/p", truth=np.zeros(12))  # with truth: built from the trace
    titles = [a.get_title(loc="left").split("\n")[0] for a in built.axes if a.get_visible()]
    assert "astrometry error" in titles and "loss" in titles


def test_plots_artifact_members() -> None:
    signals, _, _ = run_signals()
    panels = [Panel(("loss",))]
    members = plots_artifact(plot_panels(signals, panels), panels)
    assert members["png"].startswith(PNG) and members["pdf"].startswith(b"%PDF")
    assert members["spec"]["panels"][0]["signals"] == ["loss"]
    assert figure_bytes(plot_panels(signals, panels), "svg").lstrip().startswith(b"<?xml")


def test_display_names_fall_back_when_they_clash() -> None:
    sigs = {n: Signal(values=np.zeros(2)) for n in ("a.x_nm", "b.x_nm")}
    from capsa_optim.signals.signal import as_optim_signal

    checked = {n: as_optim_signal(n, s) for n, s in sigs.items()}
    assert display_names(list(checked), checked) == {"a.x_nm": "a.x", "b.x_nm": "b.x"}


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda s: plot_panels(s, [("nope",)]), r"unknown signal\(s\) \['nope'\]"),
        (lambda s: plot_panels({}), r"no signals to draw"),
        (lambda s: plot_panels(s, ncols=0), r"ncols must be an int >= 1"),
        (lambda s: Panel(()), r"needs at least one signal"),
        (lambda s: Panel(("loss",), mode="stacked"), r"Panel.mode must be one of"),
        (lambda s: Panel(("loss",), top_n=-1), r"top_n must be an int >= 0"),
        (lambda s: Panel("loss"), r"must be a tuple of names"),  # type: ignore[arg-type]
        (lambda s: figure_bytes(plot_panels(s, [("loss",)]), "gif"), r"png, pdf or svg"),
    ],
)
def test_bad_plot_requests(call, match: str) -> None:  # type: ignore[no-untyped-def]
    signals, _, _ = run_signals(20)
    with pytest.raises(ValidationError, match=match):
        call(signals)
