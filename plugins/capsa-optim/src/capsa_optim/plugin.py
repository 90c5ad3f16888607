"""capsa hook implementations of the capsa-optim plugin (entry point ``optim``).

Importing this module imports neither numpy nor matplotlib: the kinds,
estimators and builders are imported inside the hooks, and those modules
import numpy only in the methods that compute.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from capsa.markers import hookimpl

if TYPE_CHECKING:
    from capsa.cli.commands import CliCommand
    from capsa.cli.demo import DemoArtifact
    from capsa.estimators import CurvatureEstimator, SignalBuilder
    from capsa.kinds.base import ArtifactKind


@hookimpl
def capsa_register_artifact_kinds(register: Callable[[ArtifactKind], None]) -> None:
    """Register ``optim.run``, ``optim.experiment``, ``optim.table`` and ``optim.plots``."""
    from capsa_optim.kinds import (
        ExperimentManifestKind,
        OptimRunKind,
        PanelPlotsKind,
        RunTableCsvKind,
    )

    for kind in (OptimRunKind(), ExperimentManifestKind(), RunTableCsvKind(), PanelPlotsKind()):
        register(kind)


@hookimpl
def capsa_register_curvature_estimators(register: Callable[[CurvatureEstimator], None]) -> None:
    """Register the five built-in curvature estimators.

    ``hutchinson``, ``exact_hessian_diag``, ``ema_grad2``, ``empirical_fisher``, ``gn_diag``;
    each is imported when first used (:mod:`capsa_optim.lazy`).
    """
    from capsa_optim.lazy import ESTIMATORS, DeferredEstimator

    for name, target in ESTIMATORS.items():
        register(DeferredEstimator(name, target))


@hookimpl
def capsa_register_signal_builders(register: Callable[[SignalBuilder], None]) -> None:
    """Register the built-in signal builders (``optim.loss``, ``optim.theta`` ...).

    Each is imported when first used (:mod:`capsa_optim.lazy`).
    """
    from capsa_optim.lazy import BUILDERS, DeferredBuilder

    for name, target in BUILDERS.items():
        register(DeferredBuilder(name, target))


@hookimpl
def capsa_demo_artifacts(register: Callable[[DemoArtifact], None]) -> None:
    """Contribute an optimizer ensemble (runs, manifest, table, plots) to ``capsa demo``."""
    from capsa_optim.demo import demo_artifacts

    for artifact in demo_artifacts():
        register(artifact)


@hookimpl
def capsa_register_commands(register: Callable[[CliCommand], None]) -> None:
    """Mount ``capsa optim table EXP`` and ``capsa optim plot RUN``."""
    from capsa.cli.commands import CliCommand
    from capsa_optim import cli

    register(
        CliCommand(
            name="optim",
            help="optimizer experiments: aggregate tables and run plots",
            configure=cli.configure,
            run=cli.run,
        )
    )
