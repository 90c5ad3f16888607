"""Mirroring inventory records as ``dimred.run`` artifacts, for catalogs.

Every upsert also commits the record as a small capsa artifact next to the
inventory file::

    <inventory folder>/<stem>.records/<record id>/<revision>/record.json
                                                            /_SUCCESS

``<stem>`` is the inventory's file name without ``.json`` (``fit_runs``),
``<record id>`` a hash of the record's key-field values (the same for every
upsert of one run) and ``<revision>`` the inventory version the upsert
created (12 digits, so keys sort by revision). The newest revision of a
record id is the record's current state; older ones are its history.

The commit goes through the store like any save, so the
``capsa_artifact_committed`` event carries the record's key fields, metric
columns and status in ``manifest.meta`` (:class:`~capsa_dimred.schema.RunMirrorMeta`):
a catalog indexes runs from those events without parsing the inventory file.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from capsa_dimred.jsoncheck import to_plain
from capsa_dimred.kinds import DimredRunKind
from capsa_dimred.schema import RunMirrorMeta

if TYPE_CHECKING:
    from capsa.store.artifact import ArtifactRef
    from capsa_dimred.location import Located

RECORDS_SUFFIX = ".records"
"""Suffix of the folder that holds an inventory's mirrored records."""


def _canonical(value: Any) -> Any:
    """A JSON value that is equal for values Python considers equal (2 == 2.0)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            return repr(number)
        return int(number) if number.is_integer() else number
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return repr(value)


def record_id(record: Mapping[str, Any], key_fields: Sequence[str]) -> str:
    """A stable id of the record's key-field values (24 hex digits of a sha256)."""
    key = {f: _canonical(to_plain(record.get(f))) for f in key_fields}
    text = json.dumps([list(key_fields), key], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def strict(value: Any) -> Any:
    """``value`` with numpy values made plain and NaN/inf replaced by None (strict JSON)."""
    value = to_plain(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strict(v) for v in value]
    return value


def mirror_key(inventory: Located, rid: str, revision: int) -> str:
    """Store key of a record's mirror artifact."""
    folder, _, name = inventory.key.rpartition("/")
    stem = name[: -len(".json")] if name.endswith(".json") and len(name) > 5 else name
    base = f"{stem}{RECORDS_SUFFIX}/{rid}/{revision:012d}"
    return f"{folder}/{base}" if folder else base


def mirror_record(
    inventory: Located,
    record: Mapping[str, Any],
    key_fields: Sequence[str],
    revision: int,
    metric_columns: Sequence[str] | None = None,
) -> ArtifactRef:
    """Commit ``record`` as the ``dimred.run`` artifact of ``revision``; return its reference."""
    columns = tuple(metric_columns) if metric_columns is not None else DimredRunKind.metric_columns
    plain = strict(dict(record))
    metrics: dict[str, float | None] = {}
    for column in columns:
        if column in plain:
            value = plain[column]
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            metrics[column] = float(value) if ok else None
    status, artifact_path = plain.get("status"), plain.get("artifact_path")
    rid = record_id(record, key_fields)
    nonfinite = {
        str(k): repr(v) for k, v in record.items() if isinstance(v, float) and not math.isfinite(v)
    }
    meta = RunMirrorMeta(
        inventory=inventory.key,
        record_id=rid,
        revision=revision,
        key_fields=list(key_fields),
        key={f: plain.get(f) for f in key_fields},
        metrics=metrics,
        status=status if isinstance(status, str) else None,
        artifact_path=artifact_path if isinstance(artifact_path, str) else None,
        fingerprint=rid,
        nonfinite=nonfinite,
        field_order=[str(k) for k in record],
    )
    return inventory.store.save(
        mirror_key(inventory, rid, revision),
        "dimred.run",
        plain,
        meta=msgspec.to_builtins(meta),
    )


def records_prefix(inventory: Located) -> str:
    """Store key prefix of an inventory's mirrored records (with a trailing ``/``)."""
    folder, _, name = inventory.key.rpartition("/")
    stem = name[: -len(".json")] if name.endswith(".json") and len(name) > 5 else name
    base = f"{stem}{RECORDS_SUFFIX}/"
    return f"{folder}/{base}" if folder else base


def newest_revisions(inventory: Located) -> dict[str, str]:
    """Record id -> key of its newest mirrored revision (keys only, no manifest read)."""
    prefix = records_prefix(inventory)
    newest: dict[str, tuple[int, str]] = {}
    for info in inventory.store.iter_artifacts(prefix, kind="dimred.run"):
        rest = info.key[len(prefix) :].split("/")
        if len(rest) != 2 or not rest[1].isdigit():
            continue
        revision = int(rest[1])
        if rest[0] not in newest or revision > newest[rest[0]][0]:
            newest[rest[0]] = (revision, info.key)
    return {rid: key for rid, (_, key) in newest.items()}


def rebuild_from_mirrors(inventory: Located) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """The inventory's records rebuilt from the newest revision of each mirrored record.

    Top-level NaN/inf values come back from the mirror's meta; nested ones
    stay None. Also returns the key fields of the newest revision (for sorting).
    """
    records: list[tuple[int, dict[str, Any], tuple[str, ...]]] = []
    for key in newest_revisions(inventory).values():
        art = inventory.store.load(key)
        meta = msgspec.convert(art.meta, RunMirrorMeta)
        stored = dict(art["record"])
        for field, text in meta.nonfinite.items():
            stored[field] = float(text)
        order = [f for f in meta.field_order if f in stored]
        record = {f: stored[f] for f in [*order, *(f for f in stored if f not in order)]}
        records.append((meta.revision, record, tuple(meta.key_fields)))
    if not records:
        return [], ()
    key_fields = max(records, key=lambda item: item[0])[2]
    return [record for _, record, _ in records], key_fields
