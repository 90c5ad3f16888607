"""``save_eval_artifact`` and ``load_eval_artifact``: the seed's eval layer on capsa's store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from capsa.errors import ObjectNotFoundError, ValidationError
from capsa_dimred.constants import EVAL_METRIC_COLUMNS, SUCCESS
from capsa_dimred.errors import WrongKindError
from capsa_dimred.jsoncheck import check_json, check_mapping, to_plain
from capsa_dimred.legacy import is_capsa_marker, listing, read_foreign_eval, require_success
from capsa_dimred.location import DimredPath, locate

if TYPE_CHECKING:
    from capsa.store.artifact import ArtifactRef


def save_eval_artifact(path: DimredPath, eval_payload: Mapping[str, Any]) -> ArtifactRef:
    """Write an eval artifact to ``path`` and stamp it with ``_SUCCESS``, atomically.

    The directory receives exactly ``eval.json`` (the payload, as given) and
    ``_SUCCESS`` (capsa's manifest, written last): a ``dimred.eval``
    artifact. ``eval_payload["artifact_stem"]``, when present, and the
    payload's metrics (``eval_payload["metrics"]``, the
    :data:`~capsa_dimred.EVAL_METRIC_COLUMNS`) are recorded in the manifest meta.

    :param path: artifact directory: a path, a capsa URL or a
        :class:`~capsa_dimred.StoreLocation`.
    :return: where the artifact was committed (the seed returned None).
    :raises ValidationError: a payload that is not a JSON-serialisable dict
        (NaN included), before anything is written.
    :raises ArtifactExistsError: an artifact is already at ``path``.
    """
    payload = check_mapping(eval_payload, "eval_payload")
    check_json(payload, "eval_payload")
    stem = payload.get("artifact_stem")
    if stem is not None and not isinstance(stem, str):
        raise ValidationError(
            f"eval_payload.artifact_stem must be a string, got {type(stem).__name__}"
        )
    plain = to_plain(dict(payload))
    loc = locate(path, "path")
    return loc.store.save(loc.key, "dimred.eval", plain, meta=eval_meta(plain))


def eval_meta(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest meta of an eval: its stem and finite eval metrics (catalog fields)."""
    from capsa_dimred.kinds import metric_scalars

    stem, metrics = payload.get("artifact_stem"), payload.get("metrics")
    found = metric_scalars(metrics, EVAL_METRIC_COLUMNS) if isinstance(metrics, Mapping) else {}
    return {"artifact_stem": stem if isinstance(stem, str) else None, "metrics": found}


def load_eval_artifact(path: DimredPath, *, verify: bool = False) -> dict[str, Any]:
    """Read an eval artifact's payload, whichever layout wrote it.

    A capsa ``dimred.eval`` artifact, the seed's ``eval.json`` + sentinel
    ``_SUCCESS``, or the older layout with one ``<stem>_eval.json`` (see
    ``docs/dimred.md``). The seed's private ``_load_eval_payload`` is this.

    :raises ArtifactNotFoundError: nothing at ``path``.
    :raises LegacyLayoutError: no ``_SUCCESS``, or no (or several) eval files.
    """
    loc = locate(path, "path")
    try:
        raw: bytes | None = loc.backend.get(loc.object_key(SUCCESS))
    except ObjectNotFoundError:
        raw = None
    if raw is None:
        require_success(loc, listing(loc), "eval")
    if raw is not None and is_capsa_marker(raw):
        art = loc.store.load(loc.key, verify=verify)
        if art.kind != "dimred.eval":
            raise WrongKindError(f"{loc.shown} is a {art.kind!r} artifact, not a 'dimred.eval'")
        payload: dict[str, Any] = art["eval"]
        return payload
    return read_foreign_eval(loc)


_load_eval_payload = load_eval_artifact
"""The seed's private name for :func:`load_eval_artifact`."""
