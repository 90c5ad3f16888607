"""meta.json / summary.json schemas: caller input checks, versions, the seed's schema name."""

from __future__ import annotations

import json
import math

import msgspec
import pytest
from capsa_optim import RunMeta, RunSummary, load_meta, load_summary, save_run
from capsa_optim.schema import META_SCHEMA, SCHEMA_VERSION, SEED_SCHEMA, SUMMARY_SCHEMA
from capsa_optim.schema_codec import coerce_meta, coerce_summary, decode_meta, decode_summary
from optim_helpers import layout, make_meta, make_trace

from capsa.errors import IncompatibleVersionError, IntegrityError, ValidationError

SEED_META = {
    "artifact_schema": "dluxshera-run-v0",
    "run_id": "run-0042",
    "created_at": "2025-01-01T00:00:00Z",
    "git": {"commit": "abc123", "dirty": False},
    "theta": {
        "dim": 12,
        "theta_space": "eigen",
        "theta_map_hash": "deadbeef",
        "index_map": {
            "layout_hash": None,
            "entries": [
                {
                    "name": "binary.x_position_as",
                    "start": 0,
                    "stop": 1,
                    "shape": [1],
                    "block": "astrometry",
                },
                {
                    "name": "binary.y_position_as",
                    "start": 1,
                    "stop": 2,
                    "shape": [1],
                    "block": "astrometry",
                },
                {"name": "system.plate_scale", "start": 2, "stop": 3, "shape": [1]},
                {
                    "name": "primary.zernike_coeffs_nm",
                    "start": 3,
                    "stop": 12,
                    "shape": [9],
                    "block": "primary.zernikes",
                },
            ],
        },
    },
    "objective": {"name": "shera_nll", "data_ids": {"frames": "obs-7"}},
    "optimizer": {
        "name": "preconditioned_gd",
        "num_steps": 500,
        "base_lr": 0.3,
        "momentum": 0.9,
        "preconditioning": {
            "method": "hutchinson_hessian_diag",
            "eps": 1e-8,
            "lr_clip": 10.0,
            "refresh_cadence": 50,
        },
    },
    "environment": {"jax": "0.4.30"},
    "notes": "first light",
}


def test_seed_meta_decodes_with_every_field() -> None:
    meta = decode_meta(json.dumps(SEED_META).encode())
    assert meta.artifact_schema == SEED_SCHEMA and meta.schema_version == 0
    assert meta.run_id == "run-0042" and meta.git is not None and meta.git.commit == "abc123"
    assert meta.theta.theta_space == "eigen" and meta.theta.theta_map_hash == "deadbeef"
    assert meta.theta.index_map is not None
    assert meta.theta.index_map.layout_hash == layout().layout_hash
    pre = meta.optimizer.preconditioning
    assert pre is not None and pre.lr_clip == [None, 10.0] and pre.refresh_every == 50
    # Keys the schema does not know are kept, under their dotted path.
    assert meta.extra == {"notes": "first light", "optimizer.momentum": 0.9}


def test_seed_meta_saves_as_capsa_schema_and_loads_back(root_url: str) -> None:
    save_run(f"{root_url}/seed", make_trace(), SEED_META)
    meta = load_meta(f"{root_url}/seed")
    assert meta.artifact_schema == META_SCHEMA and meta.schema_version == SCHEMA_VERSION
    assert meta.run_id == "run-0042"
    assert meta.extra["notes"] == "first light"


def test_meta_defaults_and_struct_input() -> None:
    meta = coerce_meta(RunMeta(theta={"dim": 3}), dim=3, run_id="r")  # type: ignore[arg-type]
    assert meta.run_id == "r" and meta.created_at.endswith("Z")
    assert coerce_meta({}, dim=4).theta.dim == 4


@pytest.mark.parametrize(
    ("meta", "match"),
    [
        ({"theta": {"dim": 5}}, r"theta.dim is 5 but the trace's theta has D = 12"),
        ({"theta": {"dim": 12, "theta_space": "whitened"}}, r"theta_space must be one of"),
        ({"theta": {"dim": "twelve"}}, r"Expected `int`"),
        ({"theta": {"dim": 12}, "optimizer": {"base_lr": math.nan}}, r"optimizer.base_lr is nan"),
        ({"theta": {"dim": 12}, "artifact_schema": "other-v1"}, r"artifact_schema 'other-v1'"),
        ({"theta": {"dim": 12}, "schema_version": 7}, r"schema_version 7"),
        ("not a mapping", r"meta must be a RunMeta or a mapping"),
        ({"theta": {"dim": 12, "index_map": {"entries": []}}}, r"covers theta\[0:0\]"),
        (
            {
                "theta": {"dim": 12},
                "optimizer": {"preconditioning": {"method": "x", "lr_clip": [1.0]}},
            },
            r"lr_clip must be \[lr_min, lr_max\]",
        ),
    ],
)
def test_bad_meta_is_refused(meta: object, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        coerce_meta(meta, dim=12)  # type: ignore[arg-type]


def test_stored_meta_versions() -> None:
    doc = msgspec.json.encode(coerce_meta(make_meta(), dim=12))
    assert decode_meta(doc).schema_version == SCHEMA_VERSION
    newer = json.loads(doc)
    newer["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(IncompatibleVersionError, match=r"newer than this capsa-optim reads"):
        decode_meta(json.dumps(newer).encode())
    with pytest.raises(IntegrityError, match=r"not valid JSON"):
        decode_meta(b"{not json")
    with pytest.raises(IntegrityError, match=r"artifact_schema 'x'"):
        decode_meta(b'{"artifact_schema": "x", "theta": {"dim": 1}}')
    with pytest.raises(IntegrityError, match=r"Expected `int`"):
        decode_meta(
            b'{"artifact_schema": "capsa.optim.meta", "schema_version": 1, "theta": {"dim": "x"}}'
        )


def test_summary_checks_and_seed_summary() -> None:
    assert coerce_summary(None) == RunSummary()
    with pytest.raises(ValidationError, match=r"status must be one of"):
        coerce_summary({"status": "crashed"})
    with pytest.raises(ValidationError, match=r"loss_final is nan.*computed from the trace"):
        coerce_summary({"loss_final": math.nan})
    with pytest.raises(ValidationError, match=r"num_steps_completed must be >= 0"):
        coerce_summary({"num_steps_completed": -1})
    seed = decode_summary(
        json.dumps(
            {
                "run_id": "r",
                "git": {"commit": "abc"},
                "status": "ok",
                "loss_final": 0.5,
                "has_signals": True,
                "wall": 3,
            }
        ).encode()
    )
    assert seed.artifact_schema == SEED_SCHEMA and seed.schema_version == 0
    assert seed.git_commit == "abc" and seed.extra == {"wall": 3}
    mine = decode_summary(msgspec.json.encode(RunSummary(run_id="r")))
    assert mine.artifact_schema == SUMMARY_SCHEMA and mine.schema_version == SCHEMA_VERSION


def test_summary_caller_values_kept_and_flags_computed(root_url: str) -> None:
    lying = {
        "has_signals": True,
        "has_precond": True,
        "loss_final": 123.0,
        "metrics": {"x_error_uas": 0.5},
        "status": "failed",
        "message": "diverged",
    }
    save_run(f"{root_url}/r", make_trace(), make_meta(), lying)
    summary = load_summary(f"{root_url}/r")
    assert summary.has_signals is False and summary.has_precond is False
    assert summary.loss_final == 123.0  # given by the caller, kept
    assert summary.loss_init is not None  # left empty, computed
    assert summary.status == "failed" and summary.message == "diverged"
    assert summary.metrics == {"x_error_uas": 0.5}
