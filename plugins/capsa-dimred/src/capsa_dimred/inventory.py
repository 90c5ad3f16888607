"""``load_fit_runs`` and ``update_runs``: the runs inventory, safe under concurrent writers.

The inventory file at ``path`` (``fit_runs.json``) keeps the seed's format
byte for byte (:mod:`capsa_dimred.jsonview`), so the seed's readers read it
unchanged. Its source of truth is a version chain under capsa's internal
folder (:mod:`capsa_dimred.chain`): each upsert creates the next version
create-only, so concurrent writers (threads, processes, machines sharing an
object store) never overwrite each other's records. The file is then
rewritten from the version the upsert created and re-checked against the
chain until no newer version exists, so it converges on the newest version
as soon as the last writer returns. ``load_fit_runs`` reads the chain, so it
always sees every upsert that has returned. Each upsert is also mirrored as
a ``dimred.run`` artifact (:mod:`capsa_dimred.mirror`) for catalogs.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

from capsa.errors import ObjectNotFoundError
from capsa_dimred.chain import VersionChain, pack_version, unpack_version
from capsa_dimred.errors import InventoryContentionError, InventoryNotFoundError
from capsa_dimred.jsonview import (
    check_key_fields,
    check_record,
    decode_inventory,
    encode_inventory,
    upsert_encoded,
)
from capsa_dimred.location import DimredPath, Located, locate
from capsa_dimred.locks import contention_guard

DEFAULT_TIMEOUT = 300.0
"""Seconds ``update_runs`` keeps retrying a contended inventory before giving up."""

_BACKOFF_BASE = 0.002
_BACKOFF_CAP = 0.25


def _chain(loc: Located) -> VersionChain:
    return VersionChain(loc.backend, loc.full_key, loc.shown)


def _read_file(loc: Located) -> bytes | None:
    try:
        return loc.backend.get(loc.full_key)
    except ObjectNotFoundError:
        return None


def read_inventory(loc: Located) -> tuple[int, list[dict[str, Any]]] | None:
    """``(version, records)`` of the inventory at ``loc``; version -1 for a file without chain.

    None when there is neither a chain nor a file.
    """
    n, raw = _chain(loc).read_newest()
    if raw is None:
        raw = _read_file(loc)
        if raw is None:
            return None
    else:
        raw = unpack_version(raw, loc.shown)[1]
    return n, decode_inventory(raw, loc.shown)


def load_fit_runs(path: DimredPath) -> list[dict[str, Any]]:
    """Load a runs inventory (written by :func:`update_runs` or the seed) as a list of dicts.

    Reads the inventory's newest version, so every :func:`update_runs` that
    has returned is included, even while other writers are still rewriting
    the file. A file written by the seed (no capsa chain yet) is read as is.

    :param path: the inventory file (``fit_runs.json``): a path, a capsa URL
        or a :class:`~capsa_dimred.StoreLocation`.
    :raises InventoryNotFoundError: there is no inventory at ``path`` (also a
        ``FileNotFoundError``).
    :raises InventoryFormatError: the file is not a JSON list of objects
        (also a ``ValueError``).
    """
    loc = locate(path, "path")
    found = read_inventory(loc)
    if found is None:
        raise InventoryNotFoundError(f"no runs inventory at {loc.shown}")
    return found[1]


def _backoff(attempt: int) -> float:
    """Full-jitter exponential backoff."""
    return random.uniform(0, min(_BACKOFF_CAP, _BACKOFF_BASE * (2**attempt)))


def _publish(loc: Located, chain: VersionChain, version: int, body: bytes, records: int) -> None:
    """Rewrite the file from ``version``, then from any newer version, until none is newer."""
    loc.backend.put(loc.full_key, body)
    chain.after_create(version, records)
    current = version
    while True:
        newest = chain.newest(current)
        if newest <= current:
            return
        # A newer writer exists; our put may have landed after its own: put its version.
        current, raw = chain.read_newest(newest)
        if raw is None:  # pragma: no cover - the chain never shrinks
            return
        loc.backend.put(loc.full_key, unpack_version(raw, loc.shown)[1])


def update_runs(
    path: DimredPath,
    record: Mapping[str, Any],
    key_fields: Sequence[str],
    *,
    mirror: bool = True,
    metric_columns: Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> None:
    """Upsert ``record`` into the runs inventory at ``path``; keep it sorted; lose nothing.

    As in the seed: the records whose ``key_fields`` values equal
    ``record``'s are replaced by it (else it is appended), and the list is
    sorted by ``key_fields`` then the run-taxonomy fields
    (:data:`~capsa_dimred.constants.RUN_TAXONOMY_FIELDS`) and written back.
    The folder is created if necessary.

    Unlike the seed, concurrent calls (threads, processes, machines on one
    object store) never lose an upsert: each one creates the next version of
    the inventory create-only and retries when another writer got there first
    (see ``docs/dimred.md``). With ``mirror=True`` the record is also
    committed as a ``dimred.run`` artifact, so catalogs can index runs
    without reading the whole file.

    :param record: the record (see :func:`~capsa_dimred.build_record`);
        JSON-serialisable, NaN allowed.
    :param key_fields: the fields that identify a run
        (:data:`~capsa_dimred.FIT_RUN_KEY_FIELDS` ...).
    :param mirror: also commit the record as a ``dimred.run`` artifact.
    :param metric_columns: columns copied into the mirror's meta (default:
        every fit and eval metric column the record has).
    :param timeout: seconds to keep retrying under contention.
    :raises ValidationError: a record that misses a key field, bad
        ``key_fields``, or a value JSON cannot hold, before anything is written.
    :raises InventoryFormatError: the existing inventory is malformed (nothing is written).
    :raises InventoryContentionError: no version could be won before ``timeout``.
    """
    fields = check_key_fields(key_fields)
    rec = check_record(record, fields)
    if metric_columns is not None:
        metric_columns = check_key_fields(metric_columns, what="metric_columns")
    loc = locate(path, "path")
    chain = _chain(loc)
    start = time.monotonic()
    deadline = start + timeout
    with contention_guard(loc.backend, chain.prefix, deadline):
        attempt = 0
        while True:
            n, raw = chain.read_newest()
            if raw is None:
                body, sorted_by = _read_file(loc), None  # a seed-written file is the base
            else:
                header, body = unpack_version(raw, loc.shown)
                sorted_by = header.sorted_by
            body, count = upsert_encoded(body, sorted_by, rec, fields, loc.shown)
            if chain.try_create(n + 1, pack_version(body, fields, count)):
                break
            attempt += 1
            if time.monotonic() >= deadline:
                raise InventoryContentionError(
                    f"update_runs {loc.shown}: lost the race for a new version {attempt} times "
                    f"in {time.monotonic() - start:.1f} s; nothing was written, retry"
                )
            time.sleep(_backoff(attempt))
        version = n + 1
        _publish(loc, chain, version, body, count)
    if mirror:
        from capsa_dimred.mirror import mirror_record

        mirror_record(loc, rec, fields, version, metric_columns)


def restore_runs(path: DimredPath) -> int:
    """Rewrite the inventory file from its source of truth; return the number of records.

    For when the file (or its version chain) was removed, e.g. by ``capsa
    gc`` over a folder that holds it, or edited by hand. The newest version
    of the chain is used when there is one; otherwise the inventory is
    rebuilt from its mirrored ``dimred.run`` artifacts (the newest revision
    of each record) and becomes version 0 of a new chain.

    :raises InventoryNotFoundError: neither a chain nor mirrored records exist.
    """
    from capsa_dimred.jsonview import sort_records
    from capsa_dimred.mirror import rebuild_from_mirrors

    loc = locate(path, "path")
    chain = _chain(loc)
    n, raw = chain.read_newest()
    if raw is None:
        records, key_fields = rebuild_from_mirrors(loc)
        if not records:
            raise InventoryNotFoundError(
                f"runs inventory {loc.shown} has neither a version chain nor mirrored records"
            )
        body = encode_inventory(sort_records(records, key_fields))
        if chain.try_create(0, pack_version(body, key_fields, len(records))):
            n, raw = 0, pack_version(body, key_fields, len(records))
        else:  # a writer started a new chain meanwhile: it is the newer truth
            n, raw = chain.read_newest()
            if raw is None:  # pragma: no cover - the chain never shrinks
                raise InventoryNotFoundError(f"runs inventory {loc.shown} vanished")
    body = unpack_version(raw, loc.shown)[1]
    count = len(decode_inventory(body, loc.shown))
    _publish(loc, chain, n, body, count)
    return count
