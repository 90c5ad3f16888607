"""``build_record`` and ``build_availability_record``: flat records for inventories."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from capsa.errors import ValidationError
from capsa_dimred.constants import STRIPPED_PAYLOAD_KEYS
from capsa_dimred.jsoncheck import check_json, check_mapping, to_plain
from capsa_dimred.location import DimredPath, StoreLocation


def _as_text(path: DimredPath, what: str) -> str:
    """A comparable spelling: the URL for locations and URLs, an absolute path otherwise."""
    if isinstance(path, StoreLocation):
        return path.url
    if not isinstance(path, str | os.PathLike):
        raise ValidationError(f"{what} must be a path, a URL or a StoreLocation, got {path!r}")
    text = os.fspath(path)
    if not isinstance(text, str) or not text:
        raise ValidationError(f"{what} {path!r} is empty")
    if "://" in text:
        return text.rstrip("/")
    return os.path.normpath(os.path.abspath(os.path.expanduser(text)))


def relative_artifact_path(artifact_path: DimredPath, output_root: DimredPath) -> str:
    """``artifact_path`` relative to ``output_root``, ``/``-separated.

    :raises ValidationError: ``artifact_path`` is not inside ``output_root``.
    """
    target, root = _as_text(artifact_path, "artifact_path"), _as_text(output_root, "output_root")
    if "://" in target or "://" in root:
        if target == root or not target.startswith(root + "/"):
            raise ValidationError(f"artifact_path {target!r} is not inside output_root {root!r}")
        return target[len(root) + 1 :]
    rel = os.path.relpath(target, root)
    if rel == "." or rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
        raise ValidationError(f"artifact_path {target!r} is not inside output_root {root!r}")
    return rel.replace(os.sep, "/")


def _metric(value: Any) -> float:
    """``float(value)``, or nan when it is not a number."""
    if isinstance(value, str):
        value = value.strip()
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def build_record(
    payload: Mapping[str, Any],
    artifact_path: DimredPath | None,
    output_root: DimredPath,
    metric_columns: Sequence[str],
    metrics_payload: Mapping[str, Any] | None = None,
    error: str | BaseException | None = None,
) -> dict[str, Any]:
    """Build a flat run-inventory record from an artifact payload dict.

    Used for fit and eval records alike (pass
    :data:`~capsa_dimred.FIT_METRIC_COLUMNS` or
    :data:`~capsa_dimred.EVAL_METRIC_COLUMNS`). The record is, in order:

    1. ``payload``'s fields except the bulky sub-dicts ``metrics``,
       ``records``, ``metadata`` and ``artifacts``;
    2. ``artifact_path``: relative to ``output_root`` (``/``-separated), or
       None when ``artifact_path`` is None (a run that failed before saving);
    3. one float per metric column, taken from ``metrics_payload`` (default:
       ``payload["metrics"]``), nan when missing or not a number;
    4. ``status``: ``"success"``, or ``"failed"`` when ``error`` is given;
       ``error``: the error's text, or None.

    Nothing is written; numpy values become Python values.

    :raises ValidationError: ``payload`` or ``metrics_payload`` is not a dict,
        ``metric_columns`` is not a sequence of names, or ``artifact_path``
        is not inside ``output_root``.
    """
    payload = check_mapping(payload, "payload")
    if isinstance(metric_columns, str) or not isinstance(metric_columns, Sequence):
        raise ValidationError(
            f"metric_columns must be a sequence of names (FIT_METRIC_COLUMNS ...), "
            f"got {metric_columns!r}"
        )
    for column in metric_columns:
        if not isinstance(column, str):
            raise ValidationError(f"metric_columns must hold strings, got {column!r}")
    if metrics_payload is None:
        source = payload.get("metrics")
        metrics: Mapping[str, Any] = source if isinstance(source, Mapping) else {}
    else:
        metrics = check_mapping(metrics_payload, "metrics_payload")
    record: dict[str, Any] = {
        str(k): to_plain(v) for k, v in payload.items() if k not in STRIPPED_PAYLOAD_KEYS
    }
    record["artifact_path"] = (
        None if artifact_path is None else relative_artifact_path(artifact_path, output_root)
    )
    for column in metric_columns:
        record[column] = _metric(to_plain(metrics.get(column)))
    record["status"] = "success" if error is None else "failed"
    record["error"] = None if error is None else (str(error) or type(error).__name__)
    return record


def _shape_of(container: Any) -> tuple[int, ...]:
    """The shape of a container: ``.X.shape``, ``.shape``, or a shape tuple itself."""
    target = getattr(container, "X", None)
    if not hasattr(target, "shape"):
        target = container
    shape = getattr(target, "shape", target)
    if isinstance(shape, Sequence) and not isinstance(shape, str) and len(shape) > 0:
        dims: list[int] = []
        for n in shape:
            if isinstance(n, bool) or not hasattr(n, "__index__") or int(n) < 0:
                break
            dims.append(int(n))
        else:
            return tuple(dims)
    raise ValidationError(
        f"container must have a shape (.X.shape or .shape) or be a shape tuple, got "
        f"{type(container).__name__}"
    )


def _components(values: object, what: str) -> list[int]:
    if isinstance(values, str) or not isinstance(values, Sequence | range):
        raise ValidationError(f"{what} must be a sequence of ints, got {values!r}")
    out: list[int] = []
    for value in values:
        if isinstance(value, bool) or not hasattr(value, "__index__"):
            raise ValidationError(f"{what} must hold ints, got {value!r}")
        number = int(value)
        if number < 1:
            raise ValidationError(f"{what} must hold positive ints, got {number}")
        if number not in out:
            out.append(number)
    return out


def build_availability_record(
    *,
    scope: Any,
    condition: Any,
    unit_spec: Any,
    container: Any,
    requested_components: Sequence[int],
    valid_components: Sequence[int],
) -> dict[str, Any]:
    """Build a data-availability record from container shape information.

    Captures the matrix dimensions and which ``n_components`` values were
    feasible and which were skipped, for run-level provenance (e.g.
    ``write_run_status(..., run_metadata={"availability": [records]})``):

    ``scope``, ``condition``, ``unit_spec`` (as given), ``n_obs``,
    ``n_features`` (product of the dimensions after the first), ``shape``,
    ``max_components`` (``min(n_obs, n_features)``), ``requested_components``,
    ``valid_components``, ``skipped_components`` (requested but not valid, in
    request order) and ``available`` (at least one valid value).

    :param container: anything with ``.X.shape`` (a data container) or
        ``.shape`` (an array), or a shape tuple.
    :raises ValidationError: no usable shape, component lists that are not
        positive ints, a valid value that was not requested, or labels JSON
        cannot hold.
    """
    shape = _shape_of(container)
    requested = _components(requested_components, "requested_components")
    valid = _components(valid_components, "valid_components")
    stray = [n for n in valid if n not in requested]
    if stray:
        raise ValidationError(
            f"valid_components {stray} were not requested (requested_components: {requested})"
        )
    labels = {
        "scope": to_plain(scope),
        "condition": to_plain(condition),
        "unit_spec": to_plain(unit_spec),
    }
    check_json(labels, "availability")
    n_obs = shape[0]
    n_features = math.prod(shape[1:]) if len(shape) > 1 else 1
    return {
        **labels,
        "n_obs": n_obs,
        "n_features": n_features,
        "shape": list(shape),
        "max_components": min(n_obs, n_features),
        "requested_components": requested,
        "valid_components": valid,
        "skipped_components": [n for n in requested if n not in valid],
        "available": bool(valid),
    }
