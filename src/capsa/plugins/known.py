"""Names provided by first-party plugins, for "pip install" hints in errors.

Used only to word error messages: nothing here is imported or loaded.
"""

from __future__ import annotations

FIRST_PARTY: dict[str, dict[str, str]] = {
    "format": {
        "npz": "capsa-npz",
        "zarr": "capsa-zarr",
        "parquet": "capsa-parquet",
        "csv": "capsa-parquet",
        "tsv": "capsa-parquet",
        "arrow": "capsa-parquet",
        "feather": "capsa-parquet",
        ".npz": "capsa-npz",
        ".zarr": "capsa-zarr",
        ".parquet": "capsa-parquet",
        ".csv": "capsa-parquet",
        ".tsv": "capsa-parquet",
        ".arrow": "capsa-parquet",
        ".feather": "capsa-parquet",
    },
    "kind": {
        "arrays": "capsa-npz",
        "table": "capsa-parquet",
        "zarr.array": "capsa-zarr",
        "dimred.fit": "capsa-dimred",
        "dimred.eval": "capsa-dimred",
        "dimred.run": "capsa-dimred",
        "optim.run": "capsa-optim",
        "optim.experiment": "capsa-optim",
        "optim.table": "capsa-optim",
        "optim.plots": "capsa-optim",
    },
    "backend": {
        "s3": "capsa-cloud",
        "gs": "capsa-cloud",
        "gcs": "capsa-cloud",
        "az": "capsa-cloud",
        "abfs": "capsa-cloud",
    },
    "estimator": {
        "hutchinson": "capsa-optim",
        "exact_hessian_diag": "capsa-optim",
        "ema_grad2": "capsa-optim",
        "empirical_fisher": "capsa-optim",
        "gn_diag": "capsa-optim",
    },
    "signal builder": {
        "optim.loss": "capsa-optim",
        "optim.theta": "capsa-optim",
        "optim.norms": "capsa-optim",
        "optim.vector_summary": "capsa-optim",
        "optim.error_vs_truth": "capsa-optim",
    },
}


def install_hint(family: str, name: str) -> str:
    """Return " It is provided by X: pip install X" for first-party names, else ""."""
    dist = FIRST_PARTY.get(family, {}).get(name)
    if dist is None:
        return ""
    return f" It is provided by the {dist} plugin: pip install {dist}"
