"""Readers for artifact directories that capsa did not commit (see ``docs/dimred.md``).

Three fit layouts and two eval layouts written by the seed are read here,
on any backend (plain gets and listings, no local path needed):

- **seed compact fit**: ``fit.npz`` + ``fit.json`` + a ``_SUCCESS`` that is
  a plain sentinel (not a capsa manifest);
- **legacy seven-file fit**: ``<stem>_embedding.npy``, ``<stem>_ids.npy``,
  ``<stem>_fit.json``, ``<stem>_metrics.json``, ``<stem>_diagnostics.json``,
  ``artifact_manifest.json`` and ``_SUCCESS``; files are found through
  ``artifact_manifest.json``, and by glob when it is absent or lacks a role;
- **seed eval**: ``eval.json`` + sentinel ``_SUCCESS``;
- **older eval**: ``<stem>_eval.json`` + ``_SUCCESS``.

JSON here is read with Python's :mod:`json` (the seed's writer), so ``NaN``
tokens load as nan. A directory without ``_SUCCESS`` is incomplete and is
refused.
"""

from __future__ import annotations

import fnmatch
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from capsa.errors import ArtifactNotFoundError, ObjectNotFoundError
from capsa_dimred.constants import (
    DIAGNOSTIC_ARRAY_PREFIX,
    EVAL_JSON,
    FIT_JSON,
    FIT_NPZ,
    LEGACY_MANIFEST,
    SUCCESS,
)
from capsa_dimred.errors import LegacyLayoutError
from capsa_dimred.schema import LegacyManifest

if TYPE_CHECKING:
    from capsa_dimred.location import Located

ROLES: dict[str, tuple[str, bool]] = {
    "embedding": ("*embedding.npy", True),
    "ids": ("*ids.npy", True),
    "fit": ("*fit.json", True),
    "metrics": ("*metrics.json", False),
    "diagnostics": ("*diagnostics.json", False),
}
"""Seven-file roles: glob pattern used when ``artifact_manifest.json`` does not name the
file, and whether the role is required."""


@dataclass
class FitParts:
    """A fit read from any layout, before it is shaped into the seed's dict."""

    embedding: Any
    ids: Any
    fit: dict[str, Any]
    metrics: dict[str, Any]
    diagnostics: dict[str, Any]
    manifest: dict[str, Any]


def is_capsa_marker(raw: bytes) -> bool:
    """True when a ``_SUCCESS`` holds a capsa manifest (rather than a seed sentinel)."""
    head = raw.lstrip()[:4096]
    return head.startswith(b"{") and b'"capsa.manifest"' in head


def listing(loc: Located) -> list[str]:
    """File names directly inside the directory ``loc`` (sorted)."""
    prefix = loc.object_key("")
    names = []
    for info in loc.backend.list(prefix):
        rest = info.key[len(prefix) :]
        if rest and "/" not in rest:
            names.append(rest)
    return sorted(names)


def _get(loc: Located, name: str) -> bytes:
    try:
        return loc.backend.get(loc.object_key(name))
    except ObjectNotFoundError:
        raise LegacyLayoutError(f"{loc.shown}: {name} is missing") from None


def _json(loc: Located, name: str) -> Any:
    raw = _get(loc, name)
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise LegacyLayoutError(f"{loc.shown}: {name} is not valid JSON: {exc}") from None


def _json_object(loc: Located, name: str) -> dict[str, Any]:
    value = _json(loc, name)
    if not isinstance(value, dict):
        raise LegacyLayoutError(
            f"{loc.shown}: {name} must hold a JSON object, got {type(value).__name__}"
        )
    return value


def _npy(loc: Located, name: str) -> Any:
    import numpy as np

    try:
        return np.load(io.BytesIO(_get(loc, name)), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise LegacyLayoutError(f"{loc.shown}: {name} is not a readable .npy file: {exc}") from None


def require_success(loc: Located, names: list[str], what: str) -> None:
    """Refuse a directory without ``_SUCCESS`` (incomplete) or without anything (missing)."""
    if SUCCESS in names:
        return
    if names:
        raise LegacyLayoutError(
            f"{loc.shown} has no {SUCCESS}: the {what} artifact is incomplete "
            "(an interrupted save?)"
        )
    raise ArtifactNotFoundError(f"no {what} artifact at {loc.shown}")


def read_compact_fit(loc: Located) -> FitParts:
    """Read the seed's compact layout (``fit.npz`` + ``fit.json``, sentinel ``_SUCCESS``)."""
    import numpy as np

    raw = _get(loc, FIT_NPZ)
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (ValueError, OSError, EOFError) as exc:
        raise LegacyLayoutError(f"{loc.shown}: {FIT_NPZ} is not a readable .npz: {exc}") from None
    for required in ("embedding", "ids"):
        if required not in arrays:
            raise LegacyLayoutError(f"{loc.shown}: {FIT_NPZ} has no array {required!r}")
    doc = _json_object(loc, FIT_JSON)
    fit, metrics = doc.get("fit"), doc.get("metrics", {})
    diagnostics = doc.get("diagnostics", {})
    if not isinstance(fit, dict) or not isinstance(metrics, dict):
        raise LegacyLayoutError(
            f"{loc.shown}: {FIT_JSON} must hold the objects 'fit' and 'metrics'"
        )
    if not isinstance(diagnostics, dict):
        raise LegacyLayoutError(f"{loc.shown}: {FIT_JSON} 'diagnostics' must be an object")
    for name, value in arrays.items():
        if name in ("embedding", "ids"):
            continue
        short = (
            name[len(DIAGNOSTIC_ARRAY_PREFIX) :]
            if name.startswith(DIAGNOSTIC_ARRAY_PREFIX)
            else name
        )
        diagnostics[short] = value
    manifest = {"layout": "seed-compact", "files": [FIT_NPZ, FIT_JSON, SUCCESS]}
    return FitParts(arrays["embedding"], arrays["ids"], fit, metrics, diagnostics, manifest)


def _resolve_roles(loc: Located, names: list[str]) -> tuple[dict[str, str], dict[str, Any], str]:
    """Role -> file name, via ``artifact_manifest.json`` then glob; also the manifest and how."""
    files: dict[str, str] = {}
    recorded: dict[str, Any] = {}
    how = "glob"
    if LEGACY_MANIFEST in names:
        recorded = _json_object(loc, LEGACY_MANIFEST)
        try:
            parsed = msgspec.convert(recorded, LegacyManifest)
        except msgspec.ValidationError as exc:
            raise LegacyLayoutError(f"{loc.shown}: {LEGACY_MANIFEST} is malformed: {exc}") from None
        for role, name in msgspec.structs.asdict(parsed.files).items():
            if name is None:
                continue
            if "/" in name or "\\" in name or name in ("", ".", ".."):
                raise LegacyLayoutError(
                    f"{loc.shown}: {LEGACY_MANIFEST} names {name!r} for {role!r}, "
                    "which is not a file of this directory"
                )
            if name not in names:
                raise LegacyLayoutError(
                    f"{loc.shown}: {LEGACY_MANIFEST} names {name!r} for {role!r}, "
                    "but the file is missing"
                )
            files[role] = name
        how = "manifest"
    for role, (pattern, required) in ROLES.items():
        if role in files:
            continue
        hits = [n for n in names if fnmatch.fnmatchcase(n, pattern) and n != LEGACY_MANIFEST]
        if len(hits) > 1:
            raise LegacyLayoutError(
                f"{loc.shown}: {len(hits)} files match {pattern!r} for the {role!r} role "
                f"({', '.join(hits)}); name them in {LEGACY_MANIFEST}"
            )
        if hits:
            files[role] = hits[0]
            if how == "manifest":
                how = "manifest+glob"
        elif required:
            raise LegacyLayoutError(
                f"{loc.shown}: no file for the {role!r} role (looked for {pattern!r})"
            )
    return files, recorded, how


def read_seven_file_fit(loc: Located, names: list[str]) -> FitParts:
    """Read the legacy seven-file layout through ``artifact_manifest.json``, else by glob."""
    files, recorded, how = _resolve_roles(loc, names)
    embedding = _npy(loc, files["embedding"])
    ids = _npy(loc, files["ids"])
    fit = _json_object(loc, files["fit"])
    metrics = _json_object(loc, files["metrics"]) if "metrics" in files else {}
    diagnostics = _json_object(loc, files["diagnostics"]) if "diagnostics" in files else {}
    stem = recorded.get("artifact_stem")
    if not isinstance(stem, str):
        emb = files["embedding"]
        stem = emb[: -len("_embedding.npy")] if emb.endswith("_embedding.npy") else None
    manifest = {
        **recorded,
        "layout": "legacy-seven-file",
        "resolved_by": how,
        "files": dict(files),
        "artifact_stem": stem,
    }
    return FitParts(embedding, ids, fit, metrics, diagnostics, manifest)


def read_foreign_fit(loc: Located) -> FitParts:
    """Read a fit directory that capsa did not commit, whichever seed layout it has."""
    names = listing(loc)
    require_success(loc, names, "fit")
    if FIT_NPZ in names and FIT_JSON in names:
        return read_compact_fit(loc)
    return read_seven_file_fit(loc, names)


def read_foreign_eval(loc: Located) -> dict[str, Any]:
    """Read an eval directory that capsa did not commit: ``eval.json`` or ``<stem>_eval.json``."""
    names = listing(loc)
    require_success(loc, names, "eval")
    if EVAL_JSON in names:
        return _json_object(loc, EVAL_JSON)
    hits = [n for n in names if fnmatch.fnmatchcase(n, "*_eval.json")]
    if len(hits) != 1:
        found = ", ".join(hits) if hits else "none"
        raise LegacyLayoutError(
            f"{loc.shown}: expected {EVAL_JSON} or exactly one <stem>_eval.json, found {found}"
        )
    return _json_object(loc, hits[0])


def stem_of_eval(names: list[str]) -> str | None:
    """The ``<stem>`` of an older eval layout's file, if there is exactly one."""
    hits = [n[: -len("_eval.json")] for n in names if n.endswith("_eval.json")]
    return hits[0] if len(hits) == 1 else None


def merge_diagnostics(json_part: Mapping[str, Any], arrays: Mapping[str, Any]) -> dict[str, Any]:
    """JSON diagnostics and array diagnostics in one dict (arrays win on a name clash)."""
    return {**dict(json_part), **dict(arrays)}
