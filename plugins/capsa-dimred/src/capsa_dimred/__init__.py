"""capsa-dimred: dimensionality-reduction artifacts on capsa's store (a drop-in for the seed).

The seed's public API, with its names and signatures::

    from capsa_dimred import (
        FIT_METRIC_COLUMNS, FIT_RUN_KEY_FIELDS, build_record, load_fit_artifact,
        save_fit_artifact, update_runs, write_run_status,
    )

    save_fit_artifact("out/fits/pca_2", embedding, ids, fit_payload, metrics, diagnostics)
    art = load_fit_artifact("out/fits/pca_2")          # also the seed's legacy layouts
    record = build_record(fit_payload, "out/fits/pca_2", "out", FIT_METRIC_COLUMNS, metrics)
    update_runs("out/fit_runs.json", record, FIT_RUN_KEY_FIELDS)   # safe under concurrency
    write_run_status("out", "out/fit_runs.json", "out/eval_runs.json")

Every ``path`` is a local path, a capsa URL (``memory://...``, ``s3://...``)
or a :class:`StoreLocation`. Fit and eval directories are capsa artifacts of
the kinds ``dimred.fit`` and ``dimred.eval``. See ``docs/dimred.md``.

Importing this package imports neither numpy nor the modules behind the
functions: they are resolved on first attribute access. The constants are
plain values defined in :mod:`capsa_dimred.constants`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from capsa_dimred.constants import (
    EVAL_METRIC_COLUMNS,
    EVAL_RUN_KEY_FIELDS,
    FIT_METRIC_COLUMNS,
    FIT_RUN_KEY_FIELDS,
    RUN_TAXONOMY_FIELDS,
    SEPARATION_METRIC_KEY,
)

__version__ = "0.1.0"

from capsa.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from capsa_dimred.arrays import FitData
    from capsa_dimred.catalog import query_runs
    from capsa_dimred.container import EmbeddingContainer
    from capsa_dimred.errors import (
        InventoryContentionError,
        InventoryFormatError,
        InventoryNotFoundError,
        LegacyLayoutError,
        WrongKindError,
    )
    from capsa_dimred.evals import load_eval_artifact, save_eval_artifact
    from capsa_dimred.fit import load_fit_artifact, save_fit_artifact
    from capsa_dimred.inventory import load_fit_runs, restore_runs, update_runs
    from capsa_dimred.location import StoreLocation
    from capsa_dimred.records import build_availability_record, build_record
    from capsa_dimred.status import write_run_status

_LAZY = {
    "save_fit_artifact": "capsa_dimred.fit",
    "load_fit_artifact": "capsa_dimred.fit",
    "save_eval_artifact": "capsa_dimred.evals",
    "load_eval_artifact": "capsa_dimred.evals",
    "_load_eval_payload": "capsa_dimred.evals",
    "load_fit_runs": "capsa_dimred.inventory",
    "query_runs": "capsa_dimred.catalog",
    "update_runs": "capsa_dimred.inventory",
    "restore_runs": "capsa_dimred.inventory",
    "build_record": "capsa_dimred.records",
    "build_availability_record": "capsa_dimred.records",
    "write_run_status": "capsa_dimred.status",
    "StoreLocation": "capsa_dimred.location",
    "EmbeddingContainer": "capsa_dimred.container",
    "FitData": "capsa_dimred.arrays",
    "InventoryContentionError": "capsa_dimred.errors",
    "InventoryFormatError": "capsa_dimred.errors",
    "InventoryNotFoundError": "capsa_dimred.errors",
    "LegacyLayoutError": "capsa_dimred.errors",
    "WrongKindError": "capsa_dimred.errors",
}

__all__ = [
    "EVAL_METRIC_COLUMNS",
    "EVAL_RUN_KEY_FIELDS",
    "FIT_METRIC_COLUMNS",
    "FIT_RUN_KEY_FIELDS",
    "RUN_TAXONOMY_FIELDS",
    "SEPARATION_METRIC_KEY",
    "EmbeddingContainer",
    "FitData",
    "InventoryContentionError",
    "InventoryFormatError",
    "InventoryNotFoundError",
    "LegacyLayoutError",
    "StoreLocation",
    "WrongKindError",
    "__version__",
    "build_availability_record",
    "build_record",
    "load_eval_artifact",
    "load_fit_artifact",
    "load_fit_runs",
    "query_runs",
    "restore_runs",
    "save_eval_artifact",
    "save_fit_artifact",
    "update_runs",
    "write_run_status",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
