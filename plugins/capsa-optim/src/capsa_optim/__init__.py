"""capsa-optim: optimization run artifacts, curvature estimators, learning rates, signals, plots.

The functions-first API of the seed's "optimization artifacts" strategy:

* runs: :func:`save_run`, :func:`load_trace`, :func:`load_meta`,
  :func:`load_summary`, :func:`load_checkpoint`, :class:`RunArtifacts`,
  :class:`TraceWriter` (streamed, bounded memory), the ``optim.run`` kind;
* schemas: :class:`RunMeta`, :class:`RunSummary`, :class:`IndexMap`;
* curvature: the estimators ``hutchinson``, ``exact_hessian_diag``,
  ``ema_grad2``, ``empirical_fisher``, ``gn_diag`` (registered with capsa),
  :func:`estimate_curvature`, :func:`lr_from_curvature`;
* reference optimizers: :func:`run_simple_gd`, :func:`run_preconditioned_gd`;
* signals and plots: :func:`build_signals`, :class:`Panel`, :func:`plot_panels`,
  :func:`plot_run`;
* experiments: :class:`Experiment`, :func:`build_table`.

Importing this package imports neither numpy nor matplotlib: the public
names are resolved on first attribute access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

from capsa.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from capsa_optim.artifacts import RunArtifacts
    from capsa_optim.checkpoint import Checkpoint
    from capsa_optim.curvature.api import estimate_curvature
    from capsa_optim.curvature.ema_grad2 import GradSquaredEMA
    from capsa_optim.errors import LayoutMismatchError
    from capsa_optim.experiment import Experiment, ExperimentManifest
    from capsa_optim.index_map import IndexEntry, IndexMap
    from capsa_optim.learning_rates import LearningRates, default_power, lr_from_curvature
    from capsa_optim.legacy import import_legacy_run
    from capsa_optim.location import RunLocation, locate_run
    from capsa_optim.plotting.panels import Panel, default_panels
    from capsa_optim.plotting.render import plot_panels, plot_run, save_figure
    from capsa_optim.reference_optimizers import (
        OptimizationResult,
        run_preconditioned_gd,
        run_simple_gd,
    )
    from capsa_optim.run_io import (
        load_checkpoint,
        load_curvature,
        load_diag_steps,
        load_grads,
        load_meta,
        load_precond,
        load_signals,
        load_summary,
        load_trace,
        save_run,
    )
    from capsa_optim.schema import (
        GitInfo,
        ObjectiveInfo,
        OptimizerInfo,
        PreconditioningInfo,
        RunMeta,
        RunSummary,
        ThetaInfo,
    )
    from capsa_optim.signals.build import build_signals
    from capsa_optim.signals.signal import OptimSignal
    from capsa_optim.table import RunTable, build_table, write_table
    from capsa_optim.trace import Trace
    from capsa_optim.trace_writer import TraceWriter

_LAZY = {
    "Checkpoint": "capsa_optim.checkpoint",
    "Experiment": "capsa_optim.experiment",
    "ExperimentManifest": "capsa_optim.experiment",
    "GitInfo": "capsa_optim.schema",
    "GradSquaredEMA": "capsa_optim.curvature.ema_grad2",
    "IndexEntry": "capsa_optim.index_map",
    "IndexMap": "capsa_optim.index_map",
    "LayoutMismatchError": "capsa_optim.errors",
    "LearningRates": "capsa_optim.learning_rates",
    "ObjectiveInfo": "capsa_optim.schema",
    "OptimSignal": "capsa_optim.signals.signal",
    "OptimizationResult": "capsa_optim.reference_optimizers",
    "OptimizerInfo": "capsa_optim.schema",
    "Panel": "capsa_optim.plotting.panels",
    "PreconditioningInfo": "capsa_optim.schema",
    "RunArtifacts": "capsa_optim.artifacts",
    "RunLocation": "capsa_optim.location",
    "RunMeta": "capsa_optim.schema",
    "RunSummary": "capsa_optim.schema",
    "RunTable": "capsa_optim.table",
    "ThetaInfo": "capsa_optim.schema",
    "Trace": "capsa_optim.trace",
    "TraceWriter": "capsa_optim.trace_writer",
    "build_signals": "capsa_optim.signals.build",
    "build_table": "capsa_optim.table",
    "default_panels": "capsa_optim.plotting.panels",
    "default_power": "capsa_optim.learning_rates",
    "estimate_curvature": "capsa_optim.curvature.api",
    "import_legacy_run": "capsa_optim.legacy",
    "load_checkpoint": "capsa_optim.run_io",
    "load_curvature": "capsa_optim.run_io",
    "load_diag_steps": "capsa_optim.run_io",
    "load_grads": "capsa_optim.run_io",
    "load_meta": "capsa_optim.run_io",
    "load_precond": "capsa_optim.run_io",
    "load_signals": "capsa_optim.run_io",
    "load_summary": "capsa_optim.run_io",
    "load_trace": "capsa_optim.run_io",
    "locate_run": "capsa_optim.location",
    "lr_from_curvature": "capsa_optim.learning_rates",
    "plot_panels": "capsa_optim.plotting.render",
    "plot_run": "capsa_optim.plotting.render",
    "run_preconditioned_gd": "capsa_optim.reference_optimizers",
    "run_simple_gd": "capsa_optim.reference_optimizers",
    "save_figure": "capsa_optim.plotting.render",
    "save_run": "capsa_optim.run_io",
    "write_table": "capsa_optim.table",
}

__all__ = [
    "Checkpoint",
    "Experiment",
    "ExperimentManifest",
    "GitInfo",
    "GradSquaredEMA",
    "IndexEntry",
    "IndexMap",
    "LayoutMismatchError",
    "LearningRates",
    "ObjectiveInfo",
    "OptimSignal",
    "OptimizationResult",
    "OptimizerInfo",
    "Panel",
    "PreconditioningInfo",
    "RunArtifacts",
    "RunLocation",
    "RunMeta",
    "RunSummary",
    "RunTable",
    "ThetaInfo",
    "Trace",
    "TraceWriter",
    "__version__",
    "build_signals",
    "build_table",
    "default_panels",
    "default_power",
    "estimate_curvature",
    "import_legacy_run",
    "load_checkpoint",
    "load_curvature",
    "load_diag_steps",
    "load_grads",
    "load_meta",
    "load_precond",
    "load_signals",
    "load_summary",
    "load_trace",
    "locate_run",
    "lr_from_curvature",
    "plot_panels",
    "plot_run",
    "run_preconditioned_gd",
    "run_simple_gd",
    "save_figure",
    "save_run",
    "write_table",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
