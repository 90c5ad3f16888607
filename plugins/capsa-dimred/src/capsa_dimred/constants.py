"""The seed's public constants: metric columns, run key fields and file names.

The metric and key names are capsa-dimred's choice (the seed names the
constants, not their values); ``docs/dimred.md`` documents each one.
"""

from __future__ import annotations

SEPARATION_METRIC_KEY = "separation_logreg_balanced_accuracy"
"""Canonical key of the logistic-regression separation metric of an eval payload.

The cross-validated balanced accuracy of a logistic regression that predicts
the evaluation's labels from the embedding (0.5 = chance for two balanced
classes, 1.0 = perfectly separated).
"""

FIT_METRIC_COLUMNS: tuple[str, ...] = (
    "trustworthiness",
    "continuity",
    "knn_preservation",
    "explained_variance_ratio",
    "reconstruction_error",
)
"""Geometry quality metrics of a fit, in column order (fit records and ``fit.json``).

- ``trustworthiness``: how many embedding neighbours are true neighbours (0..1);
- ``continuity``: how many true neighbours stay neighbours (0..1);
- ``knn_preservation``: mean fraction of the k nearest neighbours shared by
  the input and the embedding (0..1);
- ``explained_variance_ratio``: total variance ratio kept by the components
  (linear reducers; nan otherwise);
- ``reconstruction_error``: mean squared error of the back-projection
  (reducers with an inverse; nan otherwise).
"""

EVAL_METRIC_COLUMNS: tuple[str, ...] = (
    SEPARATION_METRIC_KEY,
    "silhouette",
    "knn_label_accuracy",
)
"""Post-hoc evaluation metrics of an embedding, in column order (eval records).

- :data:`SEPARATION_METRIC_KEY`: logistic-regression balanced accuracy;
- ``silhouette``: silhouette score of the labels in the embedding (-1..1);
- ``knn_label_accuracy``: leave-one-out k-nearest-neighbour label accuracy.
"""

FIT_RUN_KEY_FIELDS: tuple[str, ...] = ("scope", "condition", "unit", "method", "n_components")
"""Fields that identify one fit run in the fit runs inventory.

``scope`` (the analysis scope, e.g. ``"subject"``), ``condition`` (the
experimental condition), ``unit`` (the unit of analysis, e.g. a channel
group), ``method`` (the reducer, e.g. ``"pca"``) and ``n_components``.
"""

EVAL_RUN_KEY_FIELDS: tuple[str, ...] = (*FIT_RUN_KEY_FIELDS, "evaluation")
"""Fields that identify one eval run: the fit's key fields plus ``evaluation``
(the name of the post-hoc evaluation, e.g. the label it separates)."""

RUN_TAXONOMY_FIELDS: tuple[str, ...] = (
    "scope",
    "condition",
    "unit",
    "method",
    "n_components",
    "evaluation",
    "status",
    "artifact_stem",
)
"""Fields an inventory is sorted by after its key fields (those not already among them)."""

STRIPPED_PAYLOAD_KEYS: tuple[str, ...] = ("metrics", "records", "metadata", "artifacts")
"""Bulky sub-dicts that :func:`~capsa_dimred.build_record` leaves out of a record."""

FIT_NPZ = "fit.npz"
"""Compact fit layout: embedding, ids and array diagnostics."""

FIT_JSON = "fit.json"
"""Compact fit layout: fit payload, metrics and JSON diagnostics."""

EVAL_JSON = "eval.json"
"""Eval layout: the eval payload."""

SUCCESS = "_SUCCESS"
"""Completion marker of an artifact directory (capsa's manifest)."""

RUN_SUMMARY_JSON = "run_summary.json"
"""Run-level summary written by :func:`~capsa_dimred.write_run_status`."""

RUN_MARKERS: dict[str, str] = {
    "success": "_RUN_SUCCESS",
    "partial": "_RUN_PARTIAL",
    "failed": "_RUN_FAILED",
}
"""Run status -> the marker file :func:`~capsa_dimred.write_run_status` leaves."""

LEGACY_MANIFEST = "artifact_manifest.json"
"""Legacy seven-file layout: the file that maps roles to file names."""

DIAGNOSTIC_ARRAY_PREFIX = "diag__"
"""Array diagnostics are stored in ``fit.npz`` as ``diag__<name>``."""

__all__ = [
    "DIAGNOSTIC_ARRAY_PREFIX",
    "EVAL_JSON",
    "EVAL_METRIC_COLUMNS",
    "EVAL_RUN_KEY_FIELDS",
    "FIT_JSON",
    "FIT_METRIC_COLUMNS",
    "FIT_NPZ",
    "FIT_RUN_KEY_FIELDS",
    "LEGACY_MANIFEST",
    "RUN_MARKERS",
    "RUN_SUMMARY_JSON",
    "RUN_TAXONOMY_FIELDS",
    "SEPARATION_METRIC_KEY",
    "STRIPPED_PAYLOAD_KEYS",
    "SUCCESS",
]
