"""Turning caller input and stored JSON into the schema Structs, and back.

* :func:`coerce_meta` / :func:`coerce_summary`: a :class:`RunMeta` /
  :class:`RunSummary` or a plain mapping from the caller, checked
  (:class:`~capsa.errors.ValidationError` naming the field) before anything
  is written.
* :func:`decode_meta` / :func:`decode_summary`: the stored documents, either
  capsa's schema (version 1) or the seed's ``"dluxshera-run-v0"`` (version 0).
  A newer version raises :class:`~capsa.errors.IncompatibleVersionError`; a
  document that does not fit the schema raises
  :class:`~capsa.errors.IntegrityError`.

Keys the schema does not know are kept, never dropped: top-level ones in
``extra``, nested ones in ``extra`` under their dotted path
(``"optimizer.momentum"``).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

from capsa.errors import IncompatibleVersionError, IntegrityError, ValidationError
from capsa.formats.jsonsafe import check_finite
from capsa_optim.index_map import IndexMap
from capsa_optim.schema import (
    META_SCHEMA,
    SCHEMA_VERSION,
    SEED_SCHEMA,
    STATUSES,
    SUMMARY_SCHEMA,
    THETA_SPACES,
    GitInfo,
    ObjectiveInfo,
    OptimizerInfo,
    PreconditioningInfo,
    RunMeta,
    RunSummary,
    ThetaInfo,
)

S = TypeVar("S", bound=msgspec.Struct)

_NESTED: dict[type[msgspec.Struct], dict[str, type[msgspec.Struct]]] = {
    RunMeta: {
        "theta": ThetaInfo,
        "objective": ObjectiveInfo,
        "optimizer": OptimizerInfo,
        "git": GitInfo,
    },
    OptimizerInfo: {"preconditioning": PreconditioningInfo},
    ThetaInfo: {},
}


def now_iso() -> str:
    """The current UTC time, ISO-8601 with a ``Z`` suffix."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def to_document(obj: msgspec.Struct) -> dict[str, Any]:
    """A Struct as a plain JSON-ready dict; NaN/inf refused with the field's path."""
    doc = msgspec.to_builtins(obj)
    assert isinstance(doc, dict)
    check_finite(doc)
    return doc


def _split_unknown(
    doc: Mapping[str, Any], cls: type[msgspec.Struct], path: str, extras: dict[str, Any]
) -> dict[str, Any]:
    """Keep the keys ``cls`` knows (recursing into nested Structs); move the rest to ``extras``."""
    fields = set(cls.__struct_fields__)
    nested = _NESTED.get(cls, {})
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if not isinstance(key, str):
            raise ValidationError(f"{path or '$'}: keys must be str, got {key!r}")
        if key == "extra" and "extra" in fields:
            if not isinstance(value, Mapping):
                raise ValidationError(f"{path}extra must be a mapping, got {type(value).__name__}")
            extras.update(value)
        elif key in fields:
            sub = nested.get(key)
            if sub is not None and isinstance(value, Mapping):
                value = _split_unknown(value, sub, f"{path}{key}.", extras)
            out[key] = value
        else:
            extras[f"{path}{key}"] = value
    return out


def _convert(doc: Mapping[str, Any], cls: type[S], what: str, error: type[Exception]) -> S:
    extras: dict[str, Any] = {}
    known = _split_unknown(doc, cls, "", extras)
    if extras and "extra" in cls.__struct_fields__:
        known["extra"] = extras
    try:
        return msgspec.convert(known, cls, strict=False)
    except msgspec.ValidationError as exc:
        raise error(f"{what}: {exc}") from None


def _legacy_meta_fixes(doc: dict[str, Any]) -> dict[str, Any]:
    """Seed (v0) spellings -> capsa's: ``lr_clip`` as a number, ``refresh_cadence``."""
    optimizer = doc.get("optimizer")
    if isinstance(optimizer, Mapping):
        optimizer = dict(optimizer)
        pre = optimizer.get("preconditioning")
        if isinstance(pre, Mapping):
            pre = dict(pre)
            clip = pre.get("lr_clip")
            if isinstance(clip, int | float) and not isinstance(clip, bool):
                pre["lr_clip"] = [None, float(clip)]
            elif isinstance(clip, Mapping):
                pre["lr_clip"] = [
                    clip.get("min", clip.get("lr_min")),
                    clip.get("max", clip.get("lr_max")),
                ]
            if "refresh_cadence" in pre and "refresh_every" not in pre:
                pre["refresh_every"] = pre.pop("refresh_cadence")
            optimizer["preconditioning"] = pre
        doc["optimizer"] = optimizer
    return doc


def _check_meta(meta: RunMeta, where: str) -> RunMeta:
    theta = meta.theta
    if isinstance(theta.dim, bool) or theta.dim < 0:
        raise ValidationError(f"{where}: theta.dim must be an int >= 0, got {theta.dim!r}")
    if theta.theta_space not in THETA_SPACES:
        raise ValidationError(
            f"{where}: theta.theta_space must be one of {list(THETA_SPACES)}, "
            f"got {theta.theta_space!r}"
        )
    if theta.index_map is not None:
        try:
            theta.index_map = theta.index_map.validated(theta.dim)
        except ValidationError as exc:
            raise ValidationError(f"{where}: theta.index_map: {exc}") from None
    pre = meta.optimizer.preconditioning
    if pre is not None and len(pre.lr_clip) != 2:
        raise ValidationError(
            f"{where}: optimizer.preconditioning.lr_clip must be [lr_min, lr_max], "
            f"got {pre.lr_clip!r}"
        )
    return meta


def coerce_meta(
    meta: RunMeta | Mapping[str, Any],
    *,
    dim: int | None = None,
    run_id: str | None = None,
) -> RunMeta:
    """Check the caller's meta; fill ``run_id`` and ``created_at`` when empty.

    :param dim: θ dimension of the trace; ``theta.dim`` must match it. A
        mapping without ``theta`` gets ``{"dim": dim}``.
    :raises ValidationError: wrong types, NaN, bad IndexMap, dim mismatch.
    """
    if isinstance(meta, RunMeta):
        doc: dict[str, Any] = msgspec.to_builtins(meta)
    elif isinstance(meta, Mapping):
        doc = dict(meta)
    else:
        raise ValidationError(
            f"meta must be a RunMeta or a mapping, got {type(meta).__module__}."
            f"{type(meta).__qualname__}"
        )
    try:
        check_finite(doc, "meta")
    except ValidationError as exc:
        raise ValidationError(str(exc)) from None
    if "theta" not in doc:
        if dim is None:
            raise ValidationError("meta: 'theta' (with at least 'dim') is required")
        doc["theta"] = {"dim": dim}
    schema = doc.get("artifact_schema", META_SCHEMA)
    if schema == SEED_SCHEMA:
        doc = _legacy_meta_fixes(doc)
        doc["artifact_schema"], doc["schema_version"] = META_SCHEMA, SCHEMA_VERSION
    elif schema != META_SCHEMA:
        raise ValidationError(
            f"meta: artifact_schema {schema!r} is not {META_SCHEMA!r} "
            f"(or the seed's {SEED_SCHEMA!r})"
        )
    doc.setdefault("schema_version", SCHEMA_VERSION)
    result = _check_meta(_convert(doc, RunMeta, "meta", ValidationError), "meta")
    if result.schema_version != SCHEMA_VERSION:
        raise ValidationError(
            f"meta: schema_version {result.schema_version} is not the one this release writes "
            f"({SCHEMA_VERSION})"
        )
    if dim is not None and result.theta.dim != dim:
        raise ValidationError(
            f"meta: theta.dim is {result.theta.dim} but the trace's theta has D = {dim}"
        )
    if not result.run_id:
        result.run_id = run_id or ""
    if not result.created_at:
        result.created_at = now_iso()
    return result


def coerce_summary(summary: RunSummary | Mapping[str, Any] | None) -> RunSummary:
    """Check the caller's summary (``None`` gives an empty one to be filled from the trace)."""
    if summary is None:
        return RunSummary()
    if isinstance(summary, RunSummary):
        doc: dict[str, Any] = msgspec.to_builtins(summary)
    elif isinstance(summary, Mapping):
        doc = dict(summary)
    else:
        raise ValidationError(
            f"summary must be a RunSummary, a mapping or None, got {type(summary).__name__}"
        )
    try:
        check_finite(doc, "summary")
    except ValidationError as exc:
        raise ValidationError(
            f"{exc} (leave loss fields as None to have them computed from the trace)"
        ) from None
    schema = doc.pop("artifact_schema", SUMMARY_SCHEMA)
    if schema not in (SUMMARY_SCHEMA, SEED_SCHEMA):
        raise ValidationError(f"summary: artifact_schema {schema!r} is not {SUMMARY_SCHEMA!r}")
    doc.pop("schema_version", None)
    _legacy_summary_fixes(doc)
    result = _convert(doc, RunSummary, "summary", ValidationError)
    if result.status not in STATUSES:
        raise ValidationError(
            f"summary: status must be one of {list(STATUSES)}, got {result.status!r}"
        )
    if result.num_steps_completed is not None and result.num_steps_completed < 0:
        raise ValidationError(
            f"summary: num_steps_completed must be >= 0, got {result.num_steps_completed}"
        )
    return result


def _legacy_summary_fixes(doc: dict[str, Any]) -> None:
    git = doc.get("git")
    if isinstance(git, Mapping) and "git_commit" not in doc:
        doc.pop("git")
        doc["git_commit"] = git.get("commit")


def _decode_json(raw: bytes | Mapping[str, Any], what: str) -> dict[str, Any]:
    if isinstance(raw, Mapping):
        return dict(raw)
    from capsa.formats.json import JSON_DECODE_ERRORS, json_error_reason

    try:
        doc = msgspec.json.decode(raw)
    except JSON_DECODE_ERRORS as exc:
        raise IntegrityError(f"{what} is not valid JSON: {json_error_reason(exc)}") from None
    if not isinstance(doc, dict):
        raise IntegrityError(f"{what} must hold a JSON object, got {type(doc).__name__}")
    return doc


def _stored_version(doc: Mapping[str, Any], expected: str, what: str) -> int:
    schema = doc.get("artifact_schema", expected if what.endswith("summary.json") else None)
    if schema == SEED_SCHEMA:
        return 0
    if schema != expected:
        raise IntegrityError(
            f"{what} has artifact_schema {schema!r}; expected {expected!r} or {SEED_SCHEMA!r}"
        )
    version = doc.get("schema_version", 0 if what.endswith("summary.json") else None)
    if isinstance(version, bool) or not isinstance(version, int):
        raise IntegrityError(f"{what}: schema_version must be an int, got {version!r}")
    if version > SCHEMA_VERSION:
        raise IncompatibleVersionError(
            f"{what} is schema {expected!r} version {version}, newer than this capsa-optim "
            f"reads ({SCHEMA_VERSION}); upgrade capsa-optim"
        )
    return version


def decode_meta(raw: bytes | Mapping[str, Any], *, what: str = "meta.json") -> RunMeta:
    """Decode a stored ``meta.json`` (capsa schema v1, or the seed's ``dluxshera-run-v0``).

    The result always has ``artifact_schema`` set to what the file says and
    ``schema_version`` 0 for seed documents.
    """
    doc = _decode_json(raw, what)
    version = _stored_version(doc, META_SCHEMA, what)
    schema = doc.get("artifact_schema")
    if version == 0:
        doc = _legacy_meta_fixes(doc)
    doc["schema_version"] = version
    try:
        meta = _convert(doc, RunMeta, what, IntegrityError)
        meta.artifact_schema = str(schema)
        return _check_meta(meta, what)
    except ValidationError as exc:
        raise IntegrityError(str(exc)) from None


def decode_summary(raw: bytes | Mapping[str, Any], *, what: str = "summary.json") -> RunSummary:
    """Decode a stored ``summary.json`` (capsa schema v1, or a seed summary without a schema)."""
    doc = _decode_json(raw, what)
    version = _stored_version(doc, SUMMARY_SCHEMA, what)
    doc.pop("artifact_schema", None)
    doc["schema_version"] = version
    _legacy_summary_fixes(doc)
    summary = _convert(doc, RunSummary, what, IntegrityError)
    summary.artifact_schema = SEED_SCHEMA if version == 0 else SUMMARY_SCHEMA
    return summary


def as_index_map(meta: RunMeta | Mapping[str, Any] | IndexMap | None) -> IndexMap | None:
    """The IndexMap of a meta (Struct or mapping), of an IndexMap itself, or None."""
    if meta is None:
        return None
    if isinstance(meta, IndexMap):
        return meta
    if isinstance(meta, RunMeta):
        return meta.theta.index_map
    theta = meta.get("theta") if isinstance(meta, Mapping) else None
    raw = theta.get("index_map") if isinstance(theta, Mapping) else None
    if raw is None:
        return None
    if isinstance(raw, IndexMap):
        return raw
    try:
        return msgspec.convert(raw, IndexMap, strict=False)
    except msgspec.ValidationError as exc:
        raise ValidationError(f"meta.theta.index_map: {exc}") from None
