"""``query_runs``: query an inventory through the capsa catalog instead of parsing its file.

Every upsert is committed as a ``dimred.run`` artifact (:mod:`capsa_dimred.mirror`),
and the core's catalog (:mod:`capsa.catalog`) records each commit with the
fields the kind declares: the record's key fields, metric columns, status,
record id and revision. A query runs in the catalog's index (SQLite on a
local folder, records on an object store); only the newest revision of each
record counts, so a run upserted twice appears once, with its latest values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from capsa_dimred.location import DimredPath, locate
from capsa_dimred.mirror import records_prefix


def query_runs(
    path: DimredPath,
    *,
    where: Mapping[str, Any] | Sequence[str] | None = None,
    order_by: str | None = None,
    descending: bool = False,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Current records of the inventory at ``path`` that match ``where``, from the catalog.

    :param path: the inventory file (``fit_runs.json``), as for :func:`~capsa_dimred.update_runs`.
    :param where: catalog filters: a mapping for equality
        (``{"method": "pca", "status": "success"}``) or strings such as
        ``"trustworthiness>0.9"`` (see ``capsa.catalog``).
    :param order_by: a field (``"trustworthiness"``) or column; rows without it are left out.
    :param descending: largest first.
    :param limit: at most this many rows.
    :return: one flat dict per run: the catalog columns (``key`` of the
        mirror artifact, ``status``, ``created_at`` ...) and fields (key
        fields, metrics, ``record_id``, ``revision``, ``artifact_path``).
    :raises CapsaError: the installed capsa has no catalog.
    """
    try:
        from capsa.catalog import open_catalog
    except ImportError as exc:  # pragma: no cover - an older capsa core
        from capsa.errors import CapsaError

        raise CapsaError(f"query_runs needs capsa's catalog (capsa.catalog): {exc}") from None
    loc = locate(path, "path")
    catalog = open_catalog(loc.store)
    prefix = records_prefix(loc)
    newest: dict[str, tuple[int, str]] = {}
    for row in catalog.query(kind="dimred.run", prefix=prefix):
        rid, revision = row.fields.get("record_id"), row.fields.get("revision")
        if not isinstance(rid, str) or not isinstance(revision, int):
            continue
        if rid not in newest or revision > newest[rid][0]:
            newest[rid] = (revision, row.key)
    current = {key for _, key in newest.values()}
    rows = catalog.query(
        kind="dimred.run", prefix=prefix, where=where, order_by=order_by, descending=descending
    )
    out = [row.flat() for row in rows if row.key in current]
    return out if limit is None else out[:limit]
