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
        "optim.run": "capsa-optim",
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
        "gauss_newton": "capsa-optim",
        "empirical_fisher": "capsa-optim",
        "squared_gradient_ema": "capsa-optim",
    },
    "signal builder": {},
}


def install_hint(family: str, name: str) -> str:
    """Return " It is provided by X: pip install X" for first-party names, else ""."""
    dist = FIRST_PARTY.get(family, {}).get(name)
    if dist is None:
        return ""
    return f" It is provided by the {dist} plugin: pip install {dist}"
