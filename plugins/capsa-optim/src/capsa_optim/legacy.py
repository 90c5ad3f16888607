"""Importing a run directory written by the seed's code (plain files, no ``_SUCCESS``).

The seed's ``save_run`` wrote ``trace.npz``, ``meta.json`` (schema
``"dluxshera-run-v0"``), ``summary.json`` and optional files straight into
a folder. :func:`import_legacy_run` reads such a folder (never unpickling)
and saves it as a checked, atomically committed ``optim.run``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capsa.errors import ArtifactNotFoundError, IntegrityError

if TYPE_CHECKING:
    from capsa.store.artifact import ArtifactRef
    from capsa_optim.location import RunDir

NPZ_MEMBERS = ("signals", "grads", "curvature", "precond", "checkpoint_best", "checkpoint_final")
"""Optional npz files of a seed run directory (``<name>.npz``)."""


def _npz(path: Path) -> dict[str, Any]:
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as archive:
            return {k: archive[k] for k in archive.files}
    except (OSError, ValueError) as exc:
        raise IntegrityError(f"{path} is not a readable npz file: {exc}") from None


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IntegrityError(f"{path} is not a readable JSON file: {exc}") from None


def import_legacy_run(source: str | os.PathLike[str], run_dir: RunDir) -> ArtifactRef:
    """Save the seed-layout folder ``source`` as a capsa run at ``run_dir``.

    ``summary.json``'s ``has_*`` flags are recomputed; its other fields are
    kept. ``signals.npz`` arrays become signals with units taken from their
    names.

    :raises ArtifactNotFoundError: ``source`` lacks ``trace.npz`` or ``meta.json``.
    :raises IntegrityError: a file that cannot be read.
    :raises ValidationError: contents that do not fit the run's checks.
    """
    from capsa_optim.run_io import save_run
    from capsa_optim.signals.signals_npz import decode_signals

    folder = Path(source)
    for required in ("trace.npz", "meta.json"):
        if not (folder / required).is_file():
            raise ArtifactNotFoundError(f"{folder} has no {required}: not a seed run directory")
    extras: dict[str, Any] = {}
    for name in NPZ_MEMBERS:
        path = folder / f"{name}.npz"
        if path.is_file():
            extras[name] = _npz(path)
    if "signals" in extras:
        extras["signals"] = decode_signals(extras["signals"], where=str(folder / "signals.npz"))
    diag = folder / "diag_steps.jsonl"
    if diag.is_file():
        lines = diag.read_text(encoding="utf-8").splitlines()
        try:
            extras["diag_steps"] = [json.loads(line) for line in lines if line.strip()]
        except ValueError as exc:
            raise IntegrityError(f"{diag} is not valid JSON Lines: {exc}") from None
    summary_path = folder / "summary.json"
    summary = _json(summary_path) if summary_path.is_file() else None
    if isinstance(summary, dict):
        summary = {k: v for k, v in summary.items() if not k.startswith("has_")}
    return save_run(
        run_dir, _npz(folder / "trace.npz"), _json(folder / "meta.json"), summary, **extras
    )
