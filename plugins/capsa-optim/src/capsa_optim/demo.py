"""The capsa-optim part of ``capsa demo``: a small optimizer ensemble.

On an ill-conditioned least-squares problem (condition number ≥ 1e4), three
problem seeds are each solved by simple GD (the best single learning rate,
2/(λmax+λmin)), EMA-preconditioned GD (RMSProp-like), and GD preconditioned
by Hutchinson and by Gauss-Newton curvature (power 1). Every run is saved
with its signals (errors against truth in µas, nm and ppm); the experiment
manifest, the aggregated table and two panel figures (one run, the
ensemble's losses) are saved too. The demo prints where they all are.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from capsa.cli.demo import DemoArtifact

PREFIX = "demo/optim"
"""Key prefix of the demo's experiment."""

SEEDS = (0, 1, 2)
"""Problem seeds of the ensemble."""

METHODS = ("simple_gd", "ema_gd", "hutchinson_gd", "gn_gd")
"""The optimizers compared."""

NUM_STEPS = 300
"""Updates per run at most."""


def _run_one(method: str, seed: int) -> Any:
    import numpy as np

    from capsa_optim.curvature.api import estimate_curvature
    from capsa_optim.curvature.ema_grad2 import GradSquaredEMA
    from capsa_optim.demo_problem import make_problem
    from capsa_optim.learning_rates import lr_from_curvature
    from capsa_optim.reference_optimizers import run_preconditioned_gd, run_simple_gd

    p = make_problem(seed)
    common: dict[str, Any] = {
        "num_steps": NUM_STEPS,
        "target_loss": p.optimum_loss * (1 + 1e-6) + 1e-15,
        "index_map": p.index_map,
        "run_id": f"{method}-s{seed}",
    }
    if method == "simple_gd":
        eig = np.linalg.eigvalsh(p.hessian)
        return run_simple_gd(p.loss, p.grad, p.theta0, lr=2.0 / (eig[-1] + eig[0]), **common)
    if method == "ema_gd":
        ema = GradSquaredEMA(p.index_map.dim, beta=0.9)
        return run_preconditioned_gd(p.loss, p.grad, p.theta0, ema=ema, base_lr=0.02, **common)
    if method == "hutchinson_gd":
        curv = estimate_curvature("hutchinson", p.theta0, hvp=p.hvp, probes=200, seed=seed)
    else:
        curv = estimate_curvature("gn_diag", p.theta0, jacobian=p.design, weights=p.weights)
    rates = lr_from_curvature(curv, 0.5, eps=1e-12)
    return run_preconditioned_gd(p.loss, p.grad, p.theta0, lr_vec=rates, curvature=curv, **common)


@functools.lru_cache(maxsize=1)
def ensemble() -> dict[str, dict[str, Any]]:
    """Every run of the demo, keyed by run id, with its signals (computed once per process)."""
    from capsa_optim.demo_problem import make_problem
    from capsa_optim.signals.build import build_signals

    runs: dict[str, dict[str, Any]] = {}
    for seed in SEEDS:
        truth = make_problem(seed).theta_true
        for method in METHODS:
            result = _run_one(method, seed)
            signals = build_signals(result.trace, result.meta, truth=truth)
            runs[f"{method}-s{seed}"] = {"result": result, "signals": signals, "method": method}
    return runs


def _run_data(run_id: str) -> dict[str, Any]:
    entry = ensemble()[run_id]
    r = entry["result"]
    return {
        "trace": r.trace,
        "meta": r.meta,
        "summary": r.summary,
        "signals": entry["signals"],
        "precond": r.precond,
        "curvature": r.curvature,
        "checkpoint_best": r.checkpoint_best,
        "checkpoint_final": r.checkpoint_final,
    }


def _manifest() -> dict[str, Any]:
    return {
        "experiment_id": "optim-demo",
        "kind": "ensemble",
        "description": "simple vs curvature-preconditioned GD on ill-conditioned least squares",
        "sweep": {"method": list(METHODS), "seed": list(SEEDS)},
        "datasets": {"least_squares": "make_problem(seed), 60 observations, 12 parameters"},
    }


def _table() -> Any:
    from capsa_optim.run_members import prepare_run
    from capsa_optim.schema_codec import decode_meta, decode_summary
    from capsa_optim.table import table_from_records

    records = []
    for run_id in ensemble():
        members = prepare_run(**_run_data(run_id), run_id=run_id)
        records.append((decode_summary(members["summary"]), decode_meta(members["meta"])))
    table = table_from_records(records)
    from capsa.plugins import get_registry

    try:
        get_registry().kind("table")
        return table.columns
    except Exception:
        return table.to_csv()


def _table_kind() -> str:
    from capsa.errors import UnknownNameError
    from capsa.plugins import get_registry

    try:
        get_registry().kind("table")
        return "table"
    except UnknownNameError:
        return "optim.table"


@functools.lru_cache(maxsize=1)
def _run_plots() -> dict[str, Any]:
    from capsa_optim.plotting.panels import Panel
    from capsa_optim.plotting.render import plot_panels, plots_artifact

    signals = ensemble()["hutchinson_gd-s0"]["signals"]
    panels = [
        Panel(("loss",), title="loss"),
        Panel(
            ("binary.x_position_error_uas", "binary.y_position_error_uas"), title="astrometry error"
        ),
        Panel(("system.plate_scale_error_ppm",), title="plate scale error"),
        Panel(
            ("primary.zernike_coeffs_error_nm",),
            title="primary.zernikes error",
            mode="hybrid",
            top_n=3,
        ),
    ]
    fig = plot_panels(signals, panels, title="Hutchinson-preconditioned GD (seed 0)")
    return plots_artifact(fig, panels)


@functools.lru_cache(maxsize=1)
def _ensemble_plots() -> dict[str, Any]:
    import numpy as np

    from capsa_optim.plotting.panels import Panel
    from capsa_optim.plotting.render import plot_panels, plots_artifact
    from capsa_optim.signals.signal import OptimSignal

    signals: dict[str, Any] = {}
    for method in METHODS:
        curves = [np.asarray(ensemble()[f"{method}-s{s}"]["signals"]["loss"].values) for s in SEEDS]
        length = NUM_STEPS + 1
        # A run that stopped early has converged: its loss stays at its final value.
        padded = np.stack([np.pad(c, (0, length - len(c)), mode="edge") for c in curves], axis=1)
        signals[method] = OptimSignal(values=np.median(padded, axis=1), panel="ensemble")
    panels = [Panel(tuple(signals), title="loss, median over seeds", yscale="log", ylabel="loss")]
    fig = plot_panels(
        signals,
        panels,
        ncols=1,
        panel_size=(7.0, 4.0),
        title="simple vs preconditioned GD (condition number ≥ 1e4)",
    )
    return plots_artifact(fig, panels)


def demo_artifacts() -> list[DemoArtifact]:
    """The demo's artifacts: runs, manifest, table and (with matplotlib) plots."""
    import importlib.util

    from capsa.cli.demo import DemoArtifact

    out = [
        DemoArtifact(
            key=f"{PREFIX}/manifest",
            kind="optim.experiment",
            make=_manifest,
            description="the ensemble's manifest.json",
        )
    ]
    for seed in SEEDS:
        for method in METHODS:
            run_id = f"{method}-s{seed}"
            out.append(
                DemoArtifact(
                    key=f"{PREFIX}/runs/{run_id}",
                    kind="optim.run",
                    make=functools.partial(_run_data, run_id),
                    description=f"{method} on problem seed {seed}: trace, meta, summary, signals",
                )
            )
    out.append(
        DemoArtifact(
            key=f"{PREFIX}/table",
            kind=_table_kind(),
            make=_table,
            description="one row per run: summary.json + optimizer/theta meta keys",
        )
    )
    if importlib.util.find_spec("matplotlib") is not None:
        out.append(
            DemoArtifact(
                key=f"{PREFIX}/plots/hutchinson_gd-s0",
                kind="optim.plots",
                make=_run_plots,
                description="panel plots of one run (PNG, PDF)",
            )
        )
        out.append(
            DemoArtifact(
                key=f"{PREFIX}/plots/ensemble",
                kind="optim.plots",
                make=_ensemble_plots,
                description="median loss per method (PNG, PDF)",
            )
        )
    return out
