"""``save_fit_artifact`` and ``load_fit_artifact``: the seed's fit layer on capsa's store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from capsa.errors import IntegrityError, ObjectNotFoundError
from capsa_dimred.constants import DIAGNOSTIC_ARRAY_PREFIX, FIT_METRIC_COLUMNS, SUCCESS
from capsa_dimred.container import container_for
from capsa_dimred.errors import WrongKindError
from capsa_dimred.legacy import (
    FitParts,
    is_capsa_marker,
    listing,
    read_foreign_fit,
    require_success,
)
from capsa_dimred.location import DimredPath, Located, locate
from capsa_dimred.schema import FitDocument

if TYPE_CHECKING:
    from capsa.store.artifact import ArtifactRef


def save_fit_artifact(
    path: DimredPath,
    embedding: Any,
    ids: Any,
    fit_payload: Mapping[str, Any],
    metrics_payload: Mapping[str, Any],
    diagnostics: Mapping[str, Any],
    *,
    allow_nonfinite: bool = False,
) -> ArtifactRef:
    """Write a fit artifact to ``path`` and stamp it with ``_SUCCESS``, atomically.

    The directory receives exactly ``fit.npz`` (``embedding``, ``ids`` and
    each array diagnostic as ``diag__<name>``), ``fit.json`` (the fit
    payload, the metrics and the other diagnostics) and ``_SUCCESS`` (capsa's
    manifest, written last). It is a ``dimred.fit`` capsa artifact:
    ``capsa ls/show/verify`` know it. ``fit_payload["artifact_stem"]`` is
    recorded in ``fit.json`` and in the manifest meta.

    Everything is checked before anything is written: ids must be 1-D and
    as long as the embedding has rows; the embedding must be numeric and,
    unless ``allow_nonfinite=True``, finite; every payload must be
    JSON-serialisable (no NaN, no custom objects; the error names the field).

    :param path: artifact directory: a path, a capsa URL or a
        :class:`~capsa_dimred.StoreLocation`. On a path or URL the store is
        production (immutable): saving twice raises ``ArtifactExistsError``.
    :return: where the artifact was committed (the seed returned None).
    :raises ValidationError: bad input, before anything is written.
    :raises ArtifactExistsError: an artifact is already at ``path``.
    """
    from capsa_dimred.arrays import FitData, pack_fit

    arrays, document = pack_fit(
        FitData(
            embedding=embedding,
            ids=ids,
            fit=fit_payload,
            metrics=metrics_payload,
            diagnostics=diagnostics,
            allow_nonfinite=allow_nonfinite,
        )
    )
    loc = locate(path, "path")
    meta = fit_meta(arrays, document)
    return loc.store.save(loc.key, "dimred.fit", {"arrays": arrays, "fit": document}, meta=meta)


def fit_meta(arrays: Mapping[str, Any], document: FitDocument) -> dict[str, Any]:
    """The manifest meta of a fit: stem, shape and finite fit metrics (catalog fields)."""
    from capsa_dimred.kinds import metric_scalars

    shape = [int(n) for n in arrays["embedding"].shape]
    return {
        "artifact_stem": document.artifact_stem,
        "shape": shape,
        "n_obs": shape[0],
        "n_dims": shape[1] if len(shape) > 1 else 1,
        "metrics": metric_scalars(document.metrics, FIT_METRIC_COLUMNS),
    }


def _read_marker(loc: Located) -> bytes | None:
    try:
        return loc.backend.get(loc.object_key(SUCCESS))
    except ObjectNotFoundError:
        return None


def _from_capsa(loc: Located, *, verify: bool) -> FitParts:
    art = loc.store.load(loc.key, verify=verify)
    if art.kind != "dimred.fit":
        raise WrongKindError(f"{loc.shown} is a {art.kind!r} artifact, not a 'dimred.fit'")
    try:
        document = msgspec.convert(art["fit"], FitDocument)
    except msgspec.ValidationError as exc:
        raise IntegrityError(
            f"{loc.shown}: fit.json is not a capsa.dimred.fit document: {exc}"
        ) from None
    arrays = art["arrays"]
    diagnostics: dict[str, Any] = dict(document.diagnostics)
    for name in document.diagnostic_arrays:
        diagnostics[name] = arrays[DIAGNOSTIC_ARRAY_PREFIX + name]
    manifest = {"layout": "capsa", **msgspec.to_builtins(art.manifest)}
    return FitParts(
        arrays["embedding"], arrays["ids"], document.fit, document.metrics, diagnostics, manifest
    )


def load_fit_artifact(path: DimredPath, *, verify: bool = False) -> dict[str, Any]:
    """Load a fit artifact directory into a dict, whichever layout wrote it.

    Layouts, in the order they are tried: a capsa ``dimred.fit`` artifact
    (``_SUCCESS`` holds a capsa manifest), the seed's compact layout
    (``fit.npz`` + ``fit.json`` + a sentinel ``_SUCCESS``), and the legacy
    seven-file layout (through ``artifact_manifest.json``, falling back to a
    glob). ``docs/dimred.md`` defines each.

    :param verify: re-hash every member of a capsa artifact first.
    :return: ``embedding``, ``ids``, ``fit``, ``metrics``, ``diagnostics``,
        ``manifest`` (the capsa manifest as a dict, or a description of the
        legacy files; ``manifest["layout"]`` says which layout was read),
        ``path`` (a :class:`pathlib.Path` for local paths, else as given) and
        ``embedding_container`` (an
        :class:`~capsa_dimred.container.EmbeddingContainer`, or None when
        the embedding is not 2-D).
    :raises ArtifactNotFoundError: nothing at ``path``.
    :raises LegacyLayoutError: a directory without ``_SUCCESS`` or with
        missing, ambiguous or unreadable legacy files.
    :raises IntegrityError: a member does not match its manifest (with
        ``verify=True``, or when read).
    """
    loc = locate(path, "path")
    raw = _read_marker(loc)
    if raw is None:
        require_success(loc, listing(loc), "fit")
    if raw is not None and is_capsa_marker(raw):
        parts = _from_capsa(loc, verify=verify)
    else:
        parts = read_foreign_fit(loc)
    return {
        "embedding": parts.embedding,
        "ids": parts.ids,
        "fit": parts.fit,
        "metrics": parts.metrics,
        "diagnostics": parts.diagnostics,
        "manifest": parts.manifest,
        "path": loc.given,
        "embedding_container": container_for(parts.embedding, parts.ids, parts.fit),
    }
