"""The on-disk schemas of a run: ``meta.json`` and ``summary.json`` (msgspec Structs).

Both documents carry capsa's own, versioned schema name
(``artifact_schema`` + ``schema_version``). ``meta.json`` written by the
seed's code under ``"dluxshera-run-v0"`` (no ``schema_version``) loads too:
see :mod:`capsa_optim.schema_codec`.

Field names follow the seed (optimization artifacts strategy v0):
``meta.json`` answers "how do I interpret θ?", ``summary.json`` "what happened?".
"""

from __future__ import annotations

from typing import Any

import msgspec

from capsa_optim.index_map import IndexMap

META_SCHEMA = "capsa.optim.meta"
"""``artifact_schema`` of the ``meta.json`` capsa-optim writes."""

SUMMARY_SCHEMA = "capsa.optim.summary"
"""``artifact_schema`` of the ``summary.json`` capsa-optim writes."""

SCHEMA_VERSION = 1
"""Version of both schemas written by this release (readers accept 0 (seed) and 1)."""

SEED_SCHEMA = "dluxshera-run-v0"
"""The seed's schema name; ``meta.json`` written under it loads as schema version 0."""

THETA_SPACES = ("primitive", "eigen")
"""Accepted values of ``theta.theta_space``."""

STATUSES = ("ok", "failed")
"""Accepted values of ``summary.status``."""


class GitInfo(msgspec.Struct, kw_only=True):
    """Source revision that produced the run.

    :ivar commit: the commit hash.
    :ivar dirty: True when the work tree had uncommitted changes.
    """

    commit: str | None = None
    dirty: bool | None = None


class ThetaInfo(msgspec.Struct, kw_only=True):
    """How to interpret θ.

    :ivar dim: θ dimension D.
    :ivar theta_space: ``"primitive"`` or ``"eigen"``.
    :ivar theta_map_id: optional identifier of the θ map (eigen bases).
    :ivar theta_map_hash: recommended when ``theta_space == "eigen"``.
    :ivar param_spec_hash: optional hash of the parameter spec.
    :ivar index_map: the θ layout (:class:`~capsa_optim.IndexMap`).
    """

    dim: int
    theta_space: str = "primitive"
    theta_map_id: str | None = None
    theta_map_hash: str | None = None
    param_spec_hash: str | None = None
    index_map: IndexMap | None = None


class ObjectiveInfo(msgspec.Struct, kw_only=True):
    """Identity of the objective.

    :ivar name: the loss name.
    :ivar data_ids: data identifiers (dataset name -> id or hash).
    """

    name: str = ""
    data_ids: dict[str, str] = msgspec.field(default_factory=dict)


class PreconditioningInfo(msgspec.Struct, kw_only=True):
    """How a per-index learning-rate vector was built (optional ``optimizer`` block).

    :ivar method: curvature source (``"hutchinson"``, ``"gn_diag"``, ``"ema_grad2"`` ...).
    :ivar power: exponent in ``lr = base_lr * (curv + eps) ** -power``.
    :ivar eps: damping added to the curvature.
    :ivar lr_clip: ``[lr_min, lr_max]`` (``None`` for no bound).
    :ivar curv_floor: lower bound applied to the curvature.
    :ivar negative: policy for negative curvature (``"abs"``, ``"floor"``, ``"raise"``).
    :ivar refresh_every: steps between curvature refreshes (``None``: fixed at init).
    :ivar fixed_at_init: True when the curvature was estimated once, at θ0.
    :ivar estimator: the estimator's metadata (probes, seed, beta, fd_step ...).
    :ivar counts: entries affected by each guardrail (negative, nan, clipped ...).
    """

    method: str
    power: float | None = None
    eps: float | None = None
    lr_clip: list[float | None] = msgspec.field(default_factory=lambda: [None, None])
    curv_floor: float | None = None
    negative: str | None = None
    refresh_every: int | None = None
    fixed_at_init: bool = True
    estimator: dict[str, Any] = msgspec.field(default_factory=dict)
    counts: dict[str, int] = msgspec.field(default_factory=dict)


class OptimizerInfo(msgspec.Struct, kw_only=True):
    """Algorithm identity and configuration.

    :ivar name: ``"simple_gd"``, ``"preconditioned_gd"``, ``"adam"`` ...
    :ivar num_steps: steps requested.
    :ivar base_lr: the global learning rate.
    :ivar schedule: learning-rate schedule, if any.
    :ivar convergence: convergence criteria, if any.
    :ivar preconditioning: present when a per-index learning rate was used.
    :ivar settings: any other hyperparameter.
    """

    name: str = ""
    num_steps: int | None = None
    base_lr: float | None = None
    schedule: dict[str, Any] | None = None
    convergence: dict[str, Any] | None = None
    preconditioning: PreconditioningInfo | None = None
    settings: dict[str, Any] = msgspec.field(default_factory=dict)


class RunMeta(msgspec.Struct, kw_only=True):
    """``meta.json``: identity, θ interpretation and optimizer configuration of one run.

    :ivar artifact_schema: :data:`META_SCHEMA` (or the seed's ``"dluxshera-run-v0"``).
    :ivar schema_version: :data:`SCHEMA_VERSION` (0 for seed documents).
    :ivar run_id: the run identifier (default: the run folder's name).
    :ivar created_at: ISO-8601 creation time (default: when saved).
    :ivar git: optional source revision.
    :ivar theta: θ interpretation, with the IndexMap.
    :ivar objective: objective identity.
    :ivar optimizer: optimizer identity, with its optional preconditioning block.
    :ivar environment: optional runtime details (package versions, platform).
    :ivar extra: any other top-level key (kept on load, written back).
    """

    theta: ThetaInfo
    artifact_schema: str = META_SCHEMA
    schema_version: int = SCHEMA_VERSION
    run_id: str = ""
    created_at: str = ""
    git: GitInfo | None = None
    objective: ObjectiveInfo = msgspec.field(default_factory=ObjectiveInfo)
    optimizer: OptimizerInfo = msgspec.field(default_factory=OptimizerInfo)
    environment: dict[str, str] = msgspec.field(default_factory=dict)
    extra: dict[str, Any] = msgspec.field(default_factory=dict)


class RunSummary(msgspec.Struct, kw_only=True):
    """``summary.json``: what happened, in a few scalars for sweep tables.

    The ``has_*`` flags and ``trace_storage`` are always computed from the
    members actually written; values given by the caller are overwritten.
    Loss statistics the caller leaves as ``None`` are computed from the trace.

    :ivar artifact_schema: :data:`SUMMARY_SCHEMA`.
    :ivar schema_version: :data:`SCHEMA_VERSION`.
    :ivar run_id: the run identifier (default: ``meta.json``'s; a different
        one is refused).
    :ivar created_at: ISO-8601 creation time (default: ``meta.json``'s).
    :ivar git_commit: the source commit (default: ``meta.json``'s ``git.commit``).
    :ivar status: ``"ok"`` or ``"failed"``; ``message`` says why.
    :ivar message: why the run failed, or any note.
    :ivar num_steps_completed: rows in the trace (default: computed from it).
    :ivar loss_init: first loss (computed from the trace when ``None``).
    :ivar loss_final: last loss, ``None`` when not finite (computed from the
        trace when ``None``).
    :ivar loss_best: lowest finite loss (computed from the trace when ``None``).
    :ivar best_step: the step of ``loss_best`` (computed from the trace when ``None``).
    :ivar runtime_total_s: wall time, approximate.
    :ivar trace_storage: ``"npz"`` (``trace.npz``) or ``"zarr"`` (``trace.zarr``);
        always computed.
    :ivar has_signals: ``signals.npz`` was written; always computed.
    :ivar has_precond: ``precond.npz`` was written; always computed.
    :ivar has_curvature: ``curvature.npz`` was written; always computed.
    :ivar has_checkpoint_best: ``checkpoint_best.npz`` was written; always computed.
    :ivar has_checkpoint_final: ``checkpoint_final.npz`` was written; always computed.
    :ivar has_diag_steps: ``diag_steps.jsonl`` was written; always computed.
    :ivar has_grads: ``grads.npz`` was written; always computed.
    :ivar metrics: other scalars for sweep tables (final errors ...).
    :ivar extra: any other top-level key (kept on load, written back).
    """

    artifact_schema: str = SUMMARY_SCHEMA
    schema_version: int = SCHEMA_VERSION
    run_id: str = ""
    created_at: str = ""
    git_commit: str | None = None
    status: str = "ok"
    message: str | None = None
    num_steps_completed: int | None = None
    loss_init: float | None = None
    loss_final: float | None = None
    loss_best: float | None = None
    best_step: int | None = None
    runtime_total_s: float | None = None
    trace_storage: str = "npz"
    has_signals: bool = False
    has_precond: bool = False
    has_curvature: bool = False
    has_checkpoint_best: bool = False
    has_checkpoint_final: bool = False
    has_diag_steps: bool = False
    has_grads: bool = False
    metrics: dict[str, Any] = msgspec.field(default_factory=dict)
    extra: dict[str, Any] = msgspec.field(default_factory=dict)


HAS_FLAGS: dict[str, str] = {
    "signals": "has_signals",
    "precond": "has_precond",
    "curvature": "has_curvature",
    "checkpoint_best": "has_checkpoint_best",
    "checkpoint_final": "has_checkpoint_final",
    "diag_steps": "has_diag_steps",
    "grads": "has_grads",
}
"""Optional member -> the summary flag computed from its presence."""
