"""The artifact kinds: ``dimred.fit``, ``dimred.eval`` and ``dimred.run``.

Registered by the plugin, so ``capsa ls``, ``show``, ``verify`` and ``gc``
know them, and ``store.save(key, "dimred.fit", ...)`` works without the
seed-style functions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec

from capsa.errors import ValidationError
from capsa.kinds.base import ArtifactKind, MemberSpec
from capsa_dimred.constants import (
    DIAGNOSTIC_ARRAY_PREFIX,
    EVAL_JSON,
    EVAL_METRIC_COLUMNS,
    FIT_JSON,
    FIT_METRIC_COLUMNS,
    FIT_NPZ,
)
from capsa_dimred.schema import FitDocument

RECORD_JSON = "record.json"
"""The one member of a ``dimred.run`` artifact: the inventory record."""


def metric_scalars(metrics: Mapping[str, Any], columns: tuple[str, ...]) -> dict[str, float]:
    """The finite numeric values of ``columns`` in ``metrics`` (for manifest meta)."""
    out: dict[str, float] = {}
    for column in columns:
        value = metrics.get(column)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(float(value)):
            out[column] = float(value)
    return out


class DimredFitKind(ArtifactKind):
    """A dimensionality-reduction fit: ``fit.npz`` (arrays) and ``fit.json`` (payloads).

    ``data`` is a :class:`~capsa_dimred.arrays.FitData`, a dict with its field
    names (``embedding``, ``ids``, ``fit``, ``metrics``, ``diagnostics``,
    ``allow_nonfinite``), or the two members by name (``arrays``/``fit.npz``
    and ``fit``/``fit.json``).
    """

    name: ClassVar[str] = "dimred.fit"
    version: ClassVar[int] = 1
    gc_keep: ClassVar[tuple[str, ...]] = (
        "*_runs.json",  # the seed's inventories (fit_runs.json, eval_runs.json)
        "run_summary.json",
        "_RUN_SUCCESS",
        "_RUN_PARTIAL",
        "_RUN_FAILED",
        "*/.capsa/dimred/*",  # inventory version chains of an output root below the store root
    )
    members: ClassVar[tuple[MemberSpec, ...]] = (
        MemberSpec(
            name="arrays",
            filename=FIT_NPZ,
            format="npz",
            description="embedding, ids and array diagnostics (diag__<name>)",
        ),
        MemberSpec(
            name="fit",
            filename=FIT_JSON,
            format="json",
            description="fit payload, metrics and JSON diagnostics (schema capsa.dimred.fit)",
        ),
    )
    description: ClassVar[str] = "dim-reduction fit: fit.npz (embedding, ids) + fit.json"
    metric_columns: ClassVar[tuple[str, ...]] = FIT_METRIC_COLUMNS
    """Metrics copied as finite floats into the manifest meta (``meta["metrics"]``)."""
    catalog_fields: ClassVar[tuple[str, ...]] = ("artifact_stem", "n_obs", "n_dims", "metrics.*")
    """Scalars ``capsa.catalog`` records per fit: the stem, the shape and every metric."""

    def to_members(self, data: Any) -> dict[str, Any]:
        """Split a :class:`FitData` (or its dict) into ``arrays`` and ``fit``."""
        from capsa_dimred.arrays import FitData, fit_data_from_mapping, pack_fit

        if isinstance(data, Mapping) and "embedding" in data:
            data = fit_data_from_mapping(data)
        if isinstance(data, FitData):
            arrays, document = pack_fit(data)
            return {"arrays": arrays, "fit": document}
        return super().to_members(data)

    def validate(self, members: Mapping[str, Any]) -> None:
        """Check the members agree: ids align with the embedding, finiteness as recorded."""
        from capsa_dimred.arrays import check_embedding, check_ids

        super().validate(members)
        document = members["fit"]
        if not isinstance(document, FitDocument):
            try:
                document = msgspec.convert(document, FitDocument)
            except msgspec.ValidationError as exc:
                raise ValidationError(
                    f"{FIT_JSON} is not a capsa.dimred.fit document: {exc}"
                ) from None
        arrays = members["arrays"]
        if not isinstance(arrays, Mapping) or "embedding" not in arrays or "ids" not in arrays:
            raise ValidationError(f"{FIT_NPZ} needs the arrays 'embedding' and 'ids'")
        embedding = check_embedding(arrays["embedding"], allow_nonfinite=document.allow_nonfinite)
        check_ids(arrays["ids"], int(embedding.shape[0]))
        stored = sorted(
            k[len(DIAGNOSTIC_ARRAY_PREFIX) :]
            for k in arrays
            if k.startswith(DIAGNOSTIC_ARRAY_PREFIX)
        )
        extra = sorted(
            set(arrays) - {"embedding", "ids"} - {DIAGNOSTIC_ARRAY_PREFIX + s for s in stored}
        )
        if extra:
            raise ValidationError(
                f"{FIT_NPZ} has unexpected array(s) {extra}; diagnostics go in as "
                f"{DIAGNOSTIC_ARRAY_PREFIX}<name>"
            )
        if stored != sorted(document.diagnostic_arrays):
            raise ValidationError(
                f"{FIT_JSON} lists diagnostic arrays {sorted(document.diagnostic_arrays)} "
                f"but {FIT_NPZ} holds {stored}"
            )


class DimredEvalKind(ArtifactKind):
    """A post-hoc evaluation of an embedding: the eval payload in ``eval.json``."""

    name: ClassVar[str] = "dimred.eval"
    version: ClassVar[int] = 1
    members: ClassVar[tuple[MemberSpec, ...]] = (
        MemberSpec(
            name="eval",
            filename=EVAL_JSON,
            format="json",
            description="the eval payload (a JSON object)",
        ),
    )
    description: ClassVar[str] = "dim-reduction evaluation: eval.json"
    metric_columns: ClassVar[tuple[str, ...]] = EVAL_METRIC_COLUMNS
    """Metrics (from ``payload["metrics"]``) copied into the manifest meta."""
    catalog_fields: ClassVar[tuple[str, ...]] = ("artifact_stem", "metrics.*")
    """Scalars ``capsa.catalog`` records per eval: the stem and every metric."""

    def validate(self, members: Mapping[str, Any]) -> None:
        """The payload must be a JSON object."""
        super().validate(members)
        if not isinstance(members["eval"], Mapping):
            raise ValidationError(
                f"the eval payload must be a dict, got {type(members['eval']).__name__}"
            )


class DimredRunKind(ArtifactKind):
    """One runs-inventory record, committed by ``update_runs`` for catalogs.

    The member ``record.json`` is the record (NaN written as null); the
    manifest meta (:class:`~capsa_dimred.schema.RunMirrorMeta`) carries its
    key fields, metric columns, status, record id and revision.
    """

    name: ClassVar[str] = "dimred.run"
    version: ClassVar[int] = 1
    members: ClassVar[tuple[MemberSpec, ...]] = (
        MemberSpec(
            name="record",
            filename=RECORD_JSON,
            format="json",
            description="one runs-inventory record",
        ),
    )
    description: ClassVar[str] = "one runs-inventory record (record.json) with its key in meta"
    metric_columns: ClassVar[tuple[str, ...]] = (*FIT_METRIC_COLUMNS, *EVAL_METRIC_COLUMNS)
    """Metric columns copied into ``meta["metrics"]`` when the record has them."""
    catalog_fields: ClassVar[tuple[str, ...]] = (
        "inventory",
        "record_id",
        "revision",
        "artifact_path",
        "key.*",
        "metrics.*",
    )
    """Scalars ``capsa.catalog`` records per run: its inventory, id, revision, key and
    metrics (the status and fingerprint columns come from ``meta`` directly)."""

    def validate(self, members: Mapping[str, Any]) -> None:
        """The record must be a JSON object."""
        super().validate(members)
        if not isinstance(members["record"], Mapping):
            raise ValidationError(
                f"a run record must be a dict, got {type(members['record']).__name__}"
            )
