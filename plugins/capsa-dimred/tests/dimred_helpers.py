"""Helpers shared by the capsa-dimred tests: sample fits, object listings, legacy writers.

The legacy writers follow the definitions of ``docs/dimred.md`` ("Legacy
layouts") and write with plain numpy and :mod:`json`, the way the seed did;
they put the files through a capsa backend so that fixtures exist on every
backend the suite runs on.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from capsa_dimred import FIT_RUN_KEY_FIELDS, update_runs
from capsa_dimred.demo import join
from capsa_dimred.location import DimredPath, locate

__all__ = ["join"]


def sample_fit(
    n: int = 40, dims: int = 2, seed: int = 0, stem: str = "pca_k2", **fit_extra: Any
) -> dict[str, Any]:
    """A small fit: embedding, ids, payloads and diagnostics (an array and scalars)."""
    rng = np.random.default_rng(seed)
    return {
        "embedding": rng.standard_normal((n, dims)),
        "ids": np.array([f"obs-{i:03d}" for i in range(n)]),
        "fit_payload": {
            "scope": "subject",
            "condition": "rest",
            "unit": "all",
            "method": "pca",
            "n_components": dims,
            "artifact_stem": stem,
            **fit_extra,
        },
        "metrics_payload": {"trustworthiness": 0.91, "continuity": 0.95},
        "diagnostics": {
            "explained_variance_ratio": np.linspace(0.5, 0.1, dims),
            "n_iter": 3,
            "solver": "svd",
        },
    }


def save_args(fit: dict[str, Any]) -> tuple[Any, ...]:
    """The positional arguments of ``save_fit_artifact`` after the path."""
    return (
        fit["embedding"],
        fit["ids"],
        fit["fit_payload"],
        fit["metrics_payload"],
        fit["diagnostics"],
    )


def objects_under(path: DimredPath) -> list[str]:
    """Names of the objects inside the directory ``path`` (recursive, relative)."""
    loc = locate(path)
    prefix = loc.object_key("")
    return sorted(info.key[len(prefix) :] for info in loc.backend.list(prefix))


def read_object(path: DimredPath, name: str | None = None) -> bytes:
    """The bytes of a file (``path``) or of ``name`` inside the directory ``path``."""
    loc = locate(path)
    return loc.backend.get(loc.object_key(name) if name else loc.full_key)


def object_exists(path: DimredPath) -> bool:
    """True when the file ``path`` exists."""
    loc = locate(path)
    return loc.backend.exists(loc.full_key)


def put_object(path: DimredPath, data: bytes) -> None:
    """Write the file ``path`` directly (as a non-capsa tool would)."""
    loc = locate(path)
    loc.backend.put(loc.full_key, data)


def delete_object(path: DimredPath) -> None:
    """Delete the file ``path`` directly."""
    loc = locate(path)
    loc.backend.delete(loc.full_key)


def put_files(path: DimredPath, files: dict[str, bytes]) -> None:
    """Write each ``name: bytes`` inside the directory ``path``."""
    loc = locate(path)
    for name, data in files.items():
        loc.backend.put(loc.object_key(name), data)


def _npy(array: Any) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    return buf.getvalue()


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2).encode("utf-8")


def seed_compact_files(fit: dict[str, Any]) -> dict[str, bytes]:
    """The seed's compact layout: ``fit.npz`` (``np.savez``), ``fit.json``, empty ``_SUCCESS``."""
    arrays = {"embedding": fit["embedding"], "ids": fit["ids"]}
    json_diag = {}
    for name, value in fit["diagnostics"].items():
        if isinstance(value, np.ndarray):
            arrays[f"diag__{name}"] = value
        else:
            json_diag[name] = value
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    document = {
        "fit": fit["fit_payload"],
        "metrics": fit["metrics_payload"],
        "diagnostics": json_diag,
    }
    return {"fit.npz": buf.getvalue(), "fit.json": _json(document), "_SUCCESS": b""}


def seven_file_files(
    fit: dict[str, Any], *, manifest: bool = True, roles: tuple[str, ...] | None = None
) -> dict[str, bytes]:
    """The legacy seven-file layout (``artifact_manifest.json`` optional, or partial)."""
    stem = fit["fit_payload"]["artifact_stem"]
    diagnostics = {
        k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in fit["diagnostics"].items()
    }
    names = {
        "embedding": f"{stem}_embedding.npy",
        "ids": f"{stem}_ids.npy",
        "fit": f"{stem}_fit.json",
        "metrics": f"{stem}_metrics.json",
        "diagnostics": f"{stem}_diagnostics.json",
    }
    files = {
        names["embedding"]: _npy(fit["embedding"]),
        names["ids"]: _npy(fit["ids"]),
        names["fit"]: _json(fit["fit_payload"]),
        names["metrics"]: _json(fit["metrics_payload"]),
        names["diagnostics"]: _json(diagnostics),
        "_SUCCESS": b"",
    }
    if manifest:
        listed = {role: names[role] for role in (roles or tuple(names))}
        files["artifact_manifest.json"] = _json(
            {"artifact_stem": stem, "layout": "seven-file", "files": listed}
        )
    return files


def seed_eval_files(payload: dict[str, Any]) -> dict[str, bytes]:
    """The seed's eval layout: ``eval.json`` and an empty ``_SUCCESS``."""
    return {"eval.json": _json(payload), "_SUCCESS": b""}


def older_eval_files(stem: str, payload: dict[str, Any]) -> dict[str, bytes]:
    """The older eval layout: ``<stem>_eval.json`` and an empty ``_SUCCESS``."""
    return {f"{stem}_eval.json": _json(payload), "_SUCCESS": b""}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_s3_config(folder: Path, server: Any) -> None:
    """A ``capsa.toml`` whose named store lends the server's options to ``s3://<bucket>/...``."""
    options = ", ".join(f"{k} = {_toml_value(v)}" for k, v in server.options.items())
    (folder / "capsa.toml").write_text(
        f'[stores.loopback]\nurl = "s3://{server.bucket}"\noptions = {{ {options} }}\n',
        encoding="utf-8",
    )


def run_record(worker: int, i: int, **extra: Any) -> dict[str, Any]:
    """A fit record whose key is unique per ``(worker, i)``."""
    return {
        "scope": "subject",
        "condition": f"w{worker:02d}",
        "unit": "all",
        "method": "pca",
        "n_components": i,
        "status": "success",
        "trustworthiness": 1.0 / (1 + i),
        **extra,
    }


def upsert_worker(path: str, worker: int, count: int, barrier: Any, mirror: bool, cwd: str) -> None:
    """Process entry point: wait for the others, then upsert ``count`` distinct records."""
    import os

    os.chdir(cwd)  # the capsa.toml of an S3 run is found from the working folder
    barrier.wait()
    for i in range(count):
        update_runs(path, run_record(worker, i), FIT_RUN_KEY_FIELDS, mirror=mirror)
