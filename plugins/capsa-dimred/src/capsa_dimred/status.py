"""``write_run_status``: ``run_summary.json`` and exactly one run marker in the output root."""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
from collections.abc import Mapping
from typing import Any

import msgspec

from capsa.errors import ObjectNotFoundError, ValidationError
from capsa_dimred.constants import RUN_MARKERS, RUN_SUMMARY_JSON
from capsa_dimred.inventory import read_inventory
from capsa_dimred.jsoncheck import check_json, check_mapping, to_plain
from capsa_dimred.location import DimredPath, Located, StoreLocation, child, locate, locate_root
from capsa_dimred.schema import RunCounts, RunSummary


def _shown(path: DimredPath | None) -> str | None:
    if path is None:
        return None
    if isinstance(path, StoreLocation):
        return path.url
    return os.fspath(path)


def _counts(loc: Located) -> RunCounts:
    """Counts of an inventory; a missing one counts as empty."""
    found = read_inventory(loc)
    counts = RunCounts()
    if found is None:
        return counts
    for record in found[1]:
        counts.total += 1
        status = record.get("status")
        if status == "success":
            counts.success += 1
        elif status == "failed":
            counts.failed += 1
        else:
            counts.other += 1
    return counts


def run_status(successes: int, failures: int, fatal_error: str | None) -> str:
    """The seed's status logic.

    ``success``: at least one success and no failure (and no fatal error);
    ``partial``: successes and failures (or a fatal error) together;
    ``failed``: failures only, a fatal error without successes, or nothing at all.
    """
    failed = failures > 0 or fatal_error is not None
    if successes > 0:
        return "partial" if failed else "success"
    return "failed"


def write_run_status(
    output_root: DimredPath,
    fit_runs_path: DimredPath,
    eval_runs_path: DimredPath,
    *,
    run_summary_path: DimredPath | None = None,
    fatal_error: str | BaseException | None = None,
    report_path: DimredPath | None = None,
    run_metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``run_summary.json`` and a run-marker sentinel to ``output_root``.

    Reads both inventories (either may not exist yet: it counts as empty),
    counts successful and failed records, decides the status (see
    :func:`run_status`), writes the summary, then leaves exactly one of
    ``_RUN_SUCCESS``, ``_RUN_PARTIAL`` or ``_RUN_FAILED`` in ``output_root``
    (the other two are removed, before and again after the marker is written).

    :param output_root: the folder (path, URL or StoreLocation) receiving
        the summary and the marker.
    :param run_summary_path: where the summary goes instead of
        ``output_root/run_summary.json``.
    :param fatal_error: marks the run as at least partially failed.
    :param report_path: recorded in the summary as given.
    :param run_metadata: extra JSON-serialisable keys merged into the
        summary (they may not reuse the summary's own keys).
    :return: the summary written (a dict, as in ``run_summary.json``).
    :raises ValidationError: unserialisable or clashing ``run_metadata``,
        before anything is written.
    :raises InventoryFormatError: an inventory exists but is malformed.
    """
    extra = to_plain(dict(check_mapping(run_metadata or {}, "run_metadata")))
    check_json(extra, "run_metadata")
    reserved = set(RunSummary.__struct_fields__)
    clash = sorted(reserved & set(extra))
    if clash:
        raise ValidationError(
            f"run_metadata may not set the summary's own key(s) {', '.join(map(repr, clash))}"
        )
    root = locate_root(output_root, "output_root")
    fit_loc, eval_loc = (
        locate(fit_runs_path, "fit_runs_path"),
        locate(eval_runs_path, "eval_runs_path"),
    )
    summary_loc = (
        child(root, RUN_SUMMARY_JSON)
        if run_summary_path is None
        else locate(run_summary_path, "run_summary_path")
    )
    fit_counts, eval_counts = _counts(fit_loc), _counts(eval_loc)
    fatal = None if fatal_error is None else (str(fatal_error) or type(fatal_error).__name__)
    status = run_status(
        fit_counts.success + eval_counts.success, fit_counts.failed + eval_counts.failed, fatal
    )
    marker = RUN_MARKERS[status]
    summary = RunSummary(
        status=status,
        marker=marker,
        fit_runs=fit_counts,
        eval_runs=eval_counts,
        fatal_error=fatal,
        output_root=_shown(output_root) or "",
        fit_runs_path=_shown(fit_runs_path) or "",
        eval_runs_path=_shown(eval_runs_path) or "",
        report_path=_shown(report_path),
        written_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    )
    payload: dict[str, Any] = {**msgspec.to_builtins(summary), **extra}
    body = msgspec.json.format(msgspec.json.encode(payload), indent=2) + b"\n"
    summary_loc.backend.put(summary_loc.full_key, body)
    others = [child(root, name) for name in RUN_MARKERS.values() if name != marker]

    def _remove_others() -> None:
        for other in others:
            with contextlib.suppress(ObjectNotFoundError):
                other.backend.delete(other.full_key)

    _remove_others()
    mark = child(root, marker)
    mark.backend.put(mark.full_key, msgspec.json.encode({"status": status}) + b"\n")
    _remove_others()
    return payload
