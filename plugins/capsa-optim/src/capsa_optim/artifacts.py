"""``RunArtifacts``: a lightweight, lazy handle on one committed run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from capsa_optim.location import RunDir, RunLocation
from capsa_optim.run_reading import (
    open_run,
    read_arrays,
    read_checkpoint,
    read_diag_steps,
    read_meta,
    read_signals,
    read_summary,
    read_trace,
)

if TYPE_CHECKING:
    from capsa.store.artifact import Artifact
    from capsa.store.reports import Problem
    from capsa_optim.checkpoint import Checkpoint
    from capsa_optim.schema import RunMeta, RunSummary
    from capsa_optim.signals.signal import OptimSignal
    from capsa_optim.trace import Trace


class RunArtifacts:
    """A run directory handle with lazy loading helpers (the seed's optional wrapper).

    Nothing is read when it is made; the manifest is read on first use and
    each member when first asked for, then cached. Optional members that are
    absent give ``None`` (:meth:`checkpoint` raises instead)::

        run = RunArtifacts("runs/run-7")
        run.summary.loss_best, run.meta.theta.index_map
        run.trace.theta[:, 3]          # lazy
        run.checkpoint("best").theta
    """

    def __init__(self, run_dir: RunDir, *, verify: bool = False):
        self._run_dir = run_dir
        self._verify = verify
        self._opened: tuple[RunLocation, Artifact] | None = None
        self._cache: dict[str, Any] = {}

    def _open(self) -> tuple[RunLocation, Artifact]:
        if self._opened is None:
            self._opened = open_run(self._run_dir, verify=self._verify)
        return self._opened

    def _cached(self, name: str, load: Any) -> Any:
        if name not in self._cache:
            self._cache[name] = load()
        return self._cache[name]

    @property
    def location(self) -> RunLocation:
        """Store and key of the run."""
        return self._open()[0]

    @property
    def artifact(self) -> Artifact:
        """The underlying capsa artifact (manifest, raw members)."""
        return self._open()[1]

    @property
    def url(self) -> str:
        """URL of the run folder."""
        return self.artifact.url

    @property
    def run_id(self) -> str:
        """The run's id (from meta.json)."""
        return self.meta.run_id

    @property
    def members(self) -> list[str]:
        """File names of the members present (``trace.npz``, ``meta.json`` ...)."""
        return [m.file for m in self.artifact.manifest.members]

    def has(self, member: str) -> bool:
        """True when the run holds ``member`` (logical name or file name)."""
        return member in self.artifact

    @property
    def trace(self) -> Trace:
        """The lazy trace."""
        return self._cached("trace", lambda: read_trace(self.artifact))  # type: ignore[no-any-return]

    @property
    def meta(self) -> RunMeta:
        """``meta.json``."""
        return self._cached("meta", lambda: read_meta(self.artifact))  # type: ignore[no-any-return]

    @property
    def summary(self) -> RunSummary:
        """``summary.json``."""
        return self._cached("summary", lambda: read_summary(self.artifact))  # type: ignore[no-any-return]

    @property
    def signals(self) -> dict[str, OptimSignal] | None:
        """Signals cached in ``signals.npz``, or None."""
        if not self.has("signals"):
            return None
        return self._cached("signals", lambda: read_signals(self.artifact))  # type: ignore[no-any-return]

    def _optional_arrays(self, member: str) -> dict[str, Any] | None:
        if not self.has(member):
            return None
        return self._cached(member, lambda: read_arrays(self.artifact, member))  # type: ignore[no-any-return]

    @property
    def precond(self) -> dict[str, Any] | None:
        """Arrays of ``precond.npz``, or None."""
        return self._optional_arrays("precond")

    @property
    def curvature(self) -> dict[str, Any] | None:
        """Arrays of ``curvature.npz``, or None."""
        return self._optional_arrays("curvature")

    @property
    def grads(self) -> dict[str, Any] | None:
        """Arrays of ``grads.npz``, or None."""
        return self._optional_arrays("grads")

    @property
    def diag_steps(self) -> list[dict[str, Any]] | None:
        """Records of ``diag_steps.jsonl``, or None."""
        if not self.has("diag_steps"):
            return None
        return self._cached("diag_steps", lambda: read_diag_steps(self.artifact))  # type: ignore[no-any-return]

    def checkpoint(self, which: str = "best") -> Checkpoint:
        """The ``best`` or ``final`` checkpoint (MemberNotFoundError when absent)."""
        return self._cached(  # type: ignore[no-any-return]
            f"checkpoint_{which}", lambda: read_checkpoint(self.artifact, which)
        )

    def verify(self) -> list[Problem]:
        """Re-hash every member; return the problems (empty when intact)."""
        return self.artifact.verify()

    def __repr__(self) -> str:
        if self._opened is None:
            return f"<RunArtifacts {self._run_dir!s} (not opened)>"
        return f"<RunArtifacts {self.url} members={self.members}>"
