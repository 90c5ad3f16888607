"""Checking and packing what ``save_fit_artifact`` receives into the two fit members.

Everything here runs before anything is written; each refusal is a
:class:`~capsa.errors.ValidationError` naming the argument at fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from capsa.errors import ValidationError
from capsa_dimred.constants import DIAGNOSTIC_ARRAY_PREFIX
from capsa_dimred.jsoncheck import check_json, check_mapping, to_plain
from capsa_dimred.schema import FitDocument

if TYPE_CHECKING:
    from numpy.typing import NDArray


@dataclass
class FitData:
    """What a fit artifact holds, before it is split into ``fit.npz`` and ``fit.json``.

    ``store.save(key, "dimred.fit", FitData(...))`` (or a dict with the same
    keys) is what :func:`~capsa_dimred.save_fit_artifact` does.

    :ivar embedding: array of shape ``(n_obs, ...)`` (usually ``(n_obs, n_dims)``).
    :ivar ids: 1-D array of ``n_obs`` observation ids.
    :ivar fit: the fit payload (JSON-serialisable dict).
    :ivar metrics: the metrics payload (JSON-serialisable dict).
    :ivar diagnostics: reducer diagnostics; numpy arrays go to ``fit.npz``,
        the rest to ``fit.json``.
    :ivar allow_nonfinite: accept NaN/inf in the embedding.
    """

    embedding: Any
    ids: Any
    fit: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)
    diagnostics: Mapping[str, Any] = field(default_factory=dict)
    allow_nonfinite: bool = False


FIT_DATA_KEYS = frozenset({"embedding", "ids", "fit", "metrics", "diagnostics", "allow_nonfinite"})
"""Keys of a dict accepted in place of a :class:`FitData`."""


def fit_data_from_mapping(data: Mapping[str, Any]) -> FitData:
    """Build a :class:`FitData` from a dict with its field names."""
    unknown = sorted(set(map(str, data)) - FIT_DATA_KEYS)
    if unknown:
        raise ValidationError(
            f"fit data has unknown key(s) {', '.join(map(repr, unknown))}; "
            f"expected {', '.join(sorted(FIT_DATA_KEYS))}"
        )
    if "embedding" not in data or "ids" not in data:
        raise ValidationError("fit data needs both 'embedding' and 'ids'")
    return FitData(**{str(k): v for k, v in data.items()})


def check_embedding(embedding: Any, *, allow_nonfinite: bool) -> NDArray[Any]:
    """The embedding as an ndarray; refuse non-numeric, 0-d or (unless allowed) non-finite."""
    import numpy as np

    if isinstance(embedding, np.ma.MaskedArray):
        raise ValidationError("embedding is a masked array; store .filled() or drop the mask")
    try:
        arr = np.asarray(embedding)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"embedding cannot be made an array: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise ValidationError(
            f"embedding must hold numbers (bool, int or float), got dtype {arr.dtype}"
        )
    if arr.ndim == 0:
        raise ValidationError("embedding must have at least one dimension (n_obs, ...)")
    if not allow_nonfinite and arr.dtype.kind == "f" and not bool(np.isfinite(arr).all()):
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        first = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise ValidationError(
            f"embedding holds {bad} non-finite value(s) (NaN or inf), the first at index "
            f"{first}; pass allow_nonfinite=True to store them anyway"
        )
    return arr


def check_ids(ids: Any, n_obs: int) -> NDArray[Any]:
    """Return the ids as a plain 1-D ndarray of ``n_obs`` entries."""
    import numpy as np

    try:
        arr = np.asarray(ids)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"ids cannot be made an array: {exc}") from None
    if arr.ndim != 1:
        raise ValidationError(f"ids must be 1-D, got shape {arr.shape}")
    if arr.dtype.hasobject:
        if not all(isinstance(v, str) for v in arr.tolist()):
            raise ValidationError(
                "ids hold Python objects that are not all str; use ints or strings "
                "(nothing is ever pickled)"
            )
        arr = arr.astype(str)
    if arr.dtype.kind not in "biuUS":
        raise ValidationError(f"ids must be ints or strings, got dtype {arr.dtype}")
    if len(arr) != n_obs:
        raise ValidationError(
            f"ids has {len(arr)} entries but the embedding has {n_obs} rows; "
            "they must be aligned (one id per row)"
        )
    return arr


def split_diagnostics(diagnostics: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split diagnostics into ``(json values, arrays)``; numpy arrays of any ndim are arrays."""
    import numpy as np
    from capsa_npz.format import check_key

    json_part: dict[str, Any] = {}
    arrays: dict[str, Any] = {}
    for name, value in diagnostics.items():
        if not isinstance(name, str):
            raise ValidationError(f"diagnostics has the non-string key {name!r}")
        if isinstance(value, np.ndarray) and value.ndim > 0:
            if value.dtype.hasobject:
                raise ValidationError(
                    f"diagnostics.{name} is an object array; only plain arrays are stored"
                )
            try:
                check_key(DIAGNOSTIC_ARRAY_PREFIX + name)
            except ValidationError as exc:
                raise ValidationError(f"diagnostics.{name}: {exc}") from None
            arrays[name] = value
        else:
            json_part[name] = value
    check_json(json_part, "diagnostics")
    return to_plain(json_part), arrays


def pack_fit(data: FitData) -> tuple[dict[str, Any], FitDocument]:
    """Check ``data``; return the two members: ``fit.npz`` arrays and the ``fit.json`` document."""
    fit = check_mapping(data.fit, "fit_payload")
    metrics = check_mapping(data.metrics, "metrics_payload")
    diagnostics = check_mapping(
        data.diagnostics if data.diagnostics is not None else {}, "diagnostics"
    )
    if not isinstance(data.allow_nonfinite, bool):
        raise ValidationError(
            f"allow_nonfinite must be a bool, got {type(data.allow_nonfinite).__name__}"
        )
    embedding = check_embedding(data.embedding, allow_nonfinite=data.allow_nonfinite)
    ids = check_ids(data.ids, int(embedding.shape[0]))
    check_json(fit, "fit_payload")
    check_json(metrics, "metrics_payload")
    json_diag, array_diag = split_diagnostics(diagnostics)
    stem = fit.get("artifact_stem")
    if stem is not None and not isinstance(stem, str):
        raise ValidationError(
            f"fit_payload.artifact_stem must be a string, got {type(stem).__name__}"
        )
    arrays: dict[str, Any] = {"embedding": embedding, "ids": ids}
    for name, value in array_diag.items():
        arrays[DIAGNOSTIC_ARRAY_PREFIX + name] = value
    document = FitDocument(
        fit=to_plain(dict(fit)),
        metrics=to_plain(dict(metrics)),
        diagnostics=json_diag,
        diagnostic_arrays=sorted(array_diag),
        artifact_stem=stem,
        allow_nonfinite=data.allow_nonfinite,
    )
    return arrays, document
