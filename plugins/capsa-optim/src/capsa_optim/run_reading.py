"""Reading the members of a committed ``optim.run`` artifact.

Shared by the ``load_*`` functions and :class:`~capsa_optim.RunArtifacts`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from capsa.errors import ArtifactNotFoundError, MemberNotFoundError, ValidationError
from capsa_optim.kinds import RUN_KIND
from capsa_optim.location import RunDir, RunLocation, locate_run

if TYPE_CHECKING:
    from capsa.store.artifact import Artifact, StoredMember
    from capsa_optim.checkpoint import Checkpoint
    from capsa_optim.schema import RunMeta, RunSummary
    from capsa_optim.signals.signal import OptimSignal
    from capsa_optim.trace import Trace

SEED_FILES = ("trace.npz", "meta.json", "summary.json")
"""Files whose presence in a folder without ``_SUCCESS`` suggests a run written without capsa."""


def open_run(run_dir: RunDir, *, verify: bool = False) -> tuple[RunLocation, Artifact]:
    """Locate and load the run artifact (manifest only; members are read on access).

    :raises ArtifactNotFoundError: nothing committed there (with a hint when
        the folder holds a run written by the seed's code, without capsa).
    :raises ValidationError: the artifact there is not an ``optim.run``.
    """
    location = locate_run(run_dir)
    try:
        artifact = location.store.load(location.key, verify=verify)
    except ArtifactNotFoundError as exc:
        folder = location.store.backend.local_path(location.store._full(location.key))
        if folder is not None and any(os.path.exists(folder / f) for f in SEED_FILES):
            raise ArtifactNotFoundError(
                f"{exc}; the folder {folder} holds run files written without capsa (no "
                "_SUCCESS): import it with capsa_optim.import_legacy_run"
            ) from None
        raise
    if artifact.kind != RUN_KIND:
        raise ValidationError(
            f"artifact {location.key!r} at {artifact.url} is a {artifact.kind!r} artifact, "
            f"not an {RUN_KIND!r} run"
        )
    return location, artifact


class _GroupArrays(Mapping[str, Any]):
    """The arrays of a lazy zarr group as a mapping (each a lazy ``zarr.Array``)."""

    def __init__(self, group: Any):
        self._group = group
        self._names = sorted(group.array_keys())

    def __getitem__(self, name: str) -> Any:
        if name not in self._names:
            raise KeyError(name)
        return self._group[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def file_source(artifact: Artifact, name: str) -> StoredMember:
    """The stored source of a file member (a directory member here means a corrupt run)."""
    from capsa.errors import IntegrityError
    from capsa.store.artifact import StoredMember

    source = artifact.source(name)
    if not isinstance(source, StoredMember):
        raise IntegrityError(f"run {artifact.key!r}: member {name!r} is not a file")
    return source


def _ordered(names: list[str]) -> list[str]:
    first = [n for n in ("loss", "theta") if n in names]
    return first + [n for n in names if n not in first]


def read_trace(artifact: Artifact, *, mmap: bool = True) -> Trace:
    """The run's trace, lazily.

    npz arrays are read on first access (memory-mapped on local disks); zarr
    arrays are lazy ``zarr.Array`` objects that read only the chunks sliced.
    """
    from capsa_optim.trace import Trace

    if "trace_zarr" in artifact:
        group = artifact["trace_zarr"]
        arrays: Mapping[str, Any] = _GroupArrays(group)
    elif "trace" in artifact:
        fmt = artifact._registry.format("npz")
        arrays = fmt.read_lazy(file_source(artifact, "trace"), mmap=mmap)
    else:
        raise MemberNotFoundError(f"run {artifact.key!r} has no trace member")
    return Trace.lazy(arrays, _ordered(list(arrays)))


def read_meta(artifact: Artifact) -> RunMeta:
    """The run's ``meta.json`` as a :class:`~capsa_optim.RunMeta` (seed documents included)."""
    from capsa_optim.schema_codec import decode_meta

    return decode_meta(file_source(artifact, "meta").read_bytes(), what=f"{artifact.key}/meta.json")


def read_summary(artifact: Artifact) -> RunSummary:
    """The run's ``summary.json`` as a :class:`~capsa_optim.RunSummary`."""
    from capsa_optim.schema_codec import decode_summary

    return decode_summary(
        file_source(artifact, "summary").read_bytes(), what=f"{artifact.key}/summary.json"
    )


def read_checkpoint(artifact: Artifact, which: str) -> Checkpoint:
    """The ``best`` or ``final`` checkpoint."""
    from capsa_optim.checkpoint import WHICH, Checkpoint

    if which not in WHICH:
        raise ValidationError(f"which must be 'best' or 'final', got {which!r}")
    member = f"checkpoint_{which}"
    if member not in artifact:
        raise MemberNotFoundError(f"run {artifact.key!r} has no {member}.npz")
    return Checkpoint.from_npz(which, artifact[member], where=f"{artifact.key}/{member}.npz")


def read_signals(artifact: Artifact) -> dict[str, OptimSignal]:
    """The cached signals of ``signals.npz``."""
    from capsa_optim.signals.signals_npz import decode_signals

    if "signals" not in artifact:
        raise MemberNotFoundError(f"run {artifact.key!r} has no signals.npz")
    return decode_signals(artifact["signals"], where=f"{artifact.key}/signals.npz")


def read_arrays(artifact: Artifact, member: str) -> dict[str, Any]:
    """All arrays of one optional npz member (``precond``, ``curvature``, ``grads``)."""
    import numpy as np

    if member not in artifact:
        raise MemberNotFoundError(f"run {artifact.key!r} has no {member}.npz")
    lazy = artifact[member]
    return {name: np.asarray(lazy[name]) for name in lazy}


def read_diag_steps(artifact: Artifact) -> list[dict[str, Any]]:
    """The sparse per-step logs of ``diag_steps.jsonl``."""
    if "diag_steps" not in artifact:
        raise MemberNotFoundError(f"run {artifact.key!r} has no diag_steps.jsonl")
    records = artifact.read("diag_steps")
    return list(records)
