"""The capsa-dimred demo: a PCA pipeline through the seed-style API, on any backend.

:func:`run_pipeline` is what a dimensionality-reduction pipeline does with
capsa-dimred: on a synthetic dataset (three classes, 12 features) it fits
PCA through ``numpy.linalg.svd`` for several ``n_components``, saves each
fit and its evaluations, upserts fit and eval records into the runs
inventories, records which ``n_components`` were feasible, and writes the
run status. ``python -m capsa_dimred demo <root>`` runs it on a path or URL
and prints the inventories as tables.

``capsa demo`` shows the same work: the fits and evals as ``dimred.fit``
and ``dimred.eval`` artifacts, and a ``demo/dimred/run`` bundle with the
inventories, the run summary and the availability records of a pipeline run
on a scratch ``memory://`` root (its inventory table goes to stderr).
"""

from __future__ import annotations

import functools
import os
import sys
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from capsa_dimred.constants import (
    EVAL_METRIC_COLUMNS,
    EVAL_RUN_KEY_FIELDS,
    FIT_METRIC_COLUMNS,
    FIT_RUN_KEY_FIELDS,
    SEPARATION_METRIC_KEY,
)
from capsa_dimred.location import DimredPath, StoreLocation

if TYPE_CHECKING:
    from capsa.cli.demo import DemoArtifact

PREFIX = "demo/dimred"
"""Key prefix of the demo's artifacts in ``capsa demo``."""

N_COMPONENTS = (2, 3, 5, 16)
"""``n_components`` requested; 16 exceeds the 12 features and is skipped."""

LABELS = {"scope": "demo", "condition": "synthetic", "unit": "all_features", "method": "pca"}
"""The demo's run taxonomy."""


def join(root: DimredPath, *parts: str) -> DimredPath:
    """``root/part/...`` for a path, a URL or a :class:`StoreLocation`."""
    if isinstance(root, StoreLocation):
        return root.child(*parts)
    text = os.fspath(root)
    if "://" in text:
        return "/".join([text.rstrip("/"), *parts])
    return os.path.join(text, *parts)


@functools.lru_cache(maxsize=4)
def compute(seed: int = 7, n_components: tuple[int, ...] = N_COMPONENTS) -> dict[str, Any]:
    """Fit and evaluate every feasible ``n_components`` (cached per process)."""
    import numpy as np

    from capsa_dimred.pca import (
        fit_metrics,
        knn_label_accuracy,
        pca_svd,
        separation_score,
        silhouette,
        synthetic_dataset,
    )

    data = synthetic_dataset(seed)
    x, labels, ids = data["x"], data["labels"], data["ids"]
    feasible = [k for k in n_components if k <= min(x.shape)]
    fits: dict[int, dict[str, Any]] = {}
    for k in feasible:
        fit = pca_svd(x, k)
        stem = f"pca_k{k}"
        payload = {
            **LABELS,
            "n_components": k,
            "artifact_stem": stem,
            "component_names": [f"PC{i + 1}" for i in range(k)],
            "reducer": {"name": "pca", "solver": "numpy.linalg.svd", "centred": True},
            "dataset": {"name": "three_gaussians", "seed": seed, "n_obs": int(x.shape[0])},
        }
        diagnostics = {
            "explained_variance_ratio": fit.explained_variance_ratio,
            "singular_values": fit.singular_values,
            "components": fit.components,
            "svd_solver": "full",
        }
        evals: list[dict[str, Any]] = []
        for evaluation, target in (("class", labels), ("batch", np.zeros_like(labels))):
            eval_payload: dict[str, Any] = {
                **LABELS,
                "n_components": k,
                "evaluation": evaluation,
                "artifact_stem": f"{stem}_{evaluation}",
            }
            try:
                separation, folds = separation_score(fit.embedding, target, seed=seed)
            except ValueError as exc:  # one batch only: the metric is undefined
                evals.append({"payload": eval_payload, "error": str(exc)})
                continue
            eval_payload["metrics"] = {
                SEPARATION_METRIC_KEY: separation,
                "silhouette": silhouette(fit.embedding, target),
                "knn_label_accuracy": knn_label_accuracy(fit.embedding, target),
            }
            eval_payload["records"] = [{"fold": i, "score": s} for i, s in enumerate(folds)]
            evals.append({"payload": eval_payload, "error": None})
        fits[k] = {
            "embedding": fit.embedding,
            "ids": ids,
            "fit": payload,
            "metrics": fit_metrics(x, fit),
            "diagnostics": diagnostics,
            "evals": evals,
        }
    return {"shape": x.shape, "requested": list(n_components), "feasible": feasible, "fits": fits}


def run_pipeline(
    output_root: DimredPath, *, seed: int = 7, n_components: Sequence[int] = N_COMPONENTS
) -> dict[str, Any]:
    """Run the demo pipeline into ``output_root`` (a path, a URL or a StoreLocation).

    Writes ``fits/pca_k<k>``, ``evals/pca_k<k>_<evaluation>``,
    ``fit_runs.json``, ``eval_runs.json`` (+ their ``*.records`` mirrors),
    ``run_summary.json`` and one ``_RUN_*`` marker. Returns the two
    inventories and the summary.
    """
    from capsa_dimred import (
        build_availability_record,
        build_record,
        load_fit_runs,
        save_eval_artifact,
        save_fit_artifact,
        update_runs,
        write_run_status,
    )

    done = compute(seed, tuple(n_components))
    fit_runs, eval_runs = join(output_root, "fit_runs.json"), join(output_root, "eval_runs.json")
    for k, item in done["fits"].items():
        fit_path = join(output_root, "fits", f"pca_k{k}")
        save_fit_artifact(
            fit_path,
            item["embedding"],
            item["ids"],
            item["fit"],
            item["metrics"],
            item["diagnostics"],
        )
        record = build_record(
            item["fit"], fit_path, output_root, FIT_METRIC_COLUMNS, item["metrics"]
        )
        update_runs(fit_runs, record, FIT_RUN_KEY_FIELDS)
        for ev in item["evals"]:
            payload = ev["payload"]
            eval_path = None
            if ev["error"] is None:
                eval_path = join(output_root, "evals", payload["artifact_stem"])
                save_eval_artifact(eval_path, payload)
            record = build_record(
                payload, eval_path, output_root, EVAL_METRIC_COLUMNS, error=ev["error"]
            )
            update_runs(eval_runs, record, EVAL_RUN_KEY_FIELDS)
    availability = build_availability_record(
        scope=LABELS["scope"],
        condition=LABELS["condition"],
        unit_spec={"unit": LABELS["unit"], "features": int(done["shape"][1])},
        container=done["shape"],
        requested_components=done["requested"],
        valid_components=done["feasible"],
    )
    summary = write_run_status(
        output_root,
        fit_runs,
        eval_runs,
        run_metadata={"availability": [availability], "pipeline": "capsa_dimred.demo"},
    )
    return {
        "fit_runs": load_fit_runs(fit_runs),
        "eval_runs": load_fit_runs(eval_runs),
        "summary": summary,
        "availability": [availability],
    }


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "" if value is None else str(value)


def inventory_table(records: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """An inventory as a plain text table of ``columns`` (floats to 3 decimals)."""
    from capsa.cli.render import table

    rows = [[_cell(r.get(c)) for c in columns] for r in records]
    return table(rows, list(columns))


FIT_TABLE_COLUMNS = ("method", "n_components", "status", *FIT_METRIC_COLUMNS[:3], "artifact_path")
"""Columns printed for the fit inventory."""

EVAL_TABLE_COLUMNS = (
    "n_components",
    "evaluation",
    "status",
    SEPARATION_METRIC_KEY,
    "silhouette",
    "error",
)
"""Columns printed for the eval inventory."""


def report(result: dict[str, Any]) -> str:
    """The two inventories as tables, and the run status."""
    summary = result["summary"]
    avail = result["availability"][0]
    return "\n".join(
        [
            "fit_runs.json",
            inventory_table(result["fit_runs"], FIT_TABLE_COLUMNS),
            "",
            "eval_runs.json",
            inventory_table(result["eval_runs"], EVAL_TABLE_COLUMNS),
            "",
            f"n_components requested {avail['requested_components']}, "
            f"feasible {avail['valid_components']}, skipped {avail['skipped_components']}",
            f"run status: {summary['status']} ({summary['marker']})",
        ]
    )


def _fit_data(k: int) -> dict[str, Any]:
    item = compute()["fits"][k]
    return {key: item[key] for key in ("embedding", "ids", "fit", "metrics", "diagnostics")}


def _eval_payload(k: int, index: int) -> dict[str, Any]:
    payload: dict[str, Any] = compute()["fits"][k]["evals"][index]["payload"]
    return payload


def _run_bundle() -> dict[str, Any]:
    from capsa_dimred.mirror import strict

    root = f"memory://capsa-dimred-demo-{uuid.uuid4().hex[:8]}/out"
    result = run_pipeline(root)
    print(f"capsa-dimred demo pipeline at {root}", file=sys.stderr)
    print(report(result), file=sys.stderr)
    # The bundle's json members are strict JSON: the failed eval's nan metrics become null.
    return {
        "fit_runs.json": strict(result["fit_runs"]),
        "eval_runs.json": strict(result["eval_runs"]),
        "run_summary.json": result["summary"],
        "availability.json": result["availability"],
    }


def demo_artifacts() -> list[DemoArtifact]:
    """What capsa-dimred contributes to ``capsa demo``."""
    from capsa.cli.demo import DemoArtifact
    from capsa_dimred.arrays import FitData, pack_fit
    from capsa_dimred.evals import eval_meta
    from capsa_dimred.fit import fit_meta

    out = []
    for k in compute()["feasible"]:
        arrays, document = pack_fit(FitData(**_fit_data(k)))
        out.append(
            DemoArtifact(
                key=f"{PREFIX}/fits/pca_k{k}",
                kind="dimred.fit",
                make=functools.partial(_fit_data, k),
                description=f"PCA (numpy SVD), {k} components: fit.npz + fit.json",
                meta=fit_meta(arrays, document),
            )
        )
        out.append(
            DemoArtifact(
                key=f"{PREFIX}/evals/pca_k{k}_class",
                kind="dimred.eval",
                make=functools.partial(_eval_payload, k, 0),
                description=f"class separation of the {k}-component embedding",
                meta=eval_meta(_eval_payload(k, 0)),
            )
        )
    out.append(
        DemoArtifact(
            key=f"{PREFIX}/run",
            kind="bundle",
            make=_run_bundle,
            description="runs inventories, run summary and availability of a pipeline run",
        )
    )
    return out
