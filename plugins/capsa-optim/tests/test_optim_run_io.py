"""save_run / load_* / RunArtifacts: files, atomicity, URLs, bad input."""

from __future__ import annotations

import json
import uuid
import zipfile
from pathlib import Path

import numpy as np
import pytest
from capsa_optim import (
    Checkpoint,
    LayoutMismatchError,
    RunArtifacts,
    RunLocation,
    Trace,
    load_checkpoint,
    load_curvature,
    load_diag_steps,
    load_grads,
    load_meta,
    load_precond,
    load_signals,
    load_summary,
    load_trace,
    locate_run,
    save_run,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from optim_helpers import all_object_keys, layout, make_meta, make_trace

import capsa
from capsa.errors import (
    ArtifactExistsError,
    ArtifactNotFoundError,
    InvalidKeyError,
    MemberNotFoundError,
    ValidationError,
)
from capsa.estimators import CurvatureEstimate, Signal

ALWAYS = ["_SUCCESS", "meta.json", "summary.json", "trace.npz"]


def test_minimal_run_round_trip(root_url: str) -> None:
    trace = make_trace()
    ref = save_run(f"{root_url}/run-1", trace, make_meta())
    assert sorted(m.file for m in ref.manifest.members) == ALWAYS[1:]
    loaded = load_trace(f"{root_url}/run-1")
    assert loaded.channels == ["loss", "theta", "grad_norm", "step_norm"]
    for name, value in trace.items():
        np.testing.assert_array_equal(loaded[name], value)
    meta, summary = load_meta(f"{root_url}/run-1"), load_summary(f"{root_url}/run-1")
    assert meta.run_id == summary.run_id == "run-1"
    assert summary.num_steps_completed == 40 and summary.trace_storage == "npz"
    assert summary.loss_init == trace["loss"][0] and summary.loss_final == trace["loss"][-1]
    best = int(np.argmin(trace["loss"]))
    assert summary.best_step == best and summary.loss_best == trace["loss"][best]
    flags = [f for f in RUN_FLAGS if getattr(summary, f)]
    assert flags == []


RUN_FLAGS = (
    "has_signals",
    "has_precond",
    "has_curvature",
    "has_checkpoint_best",
    "has_checkpoint_final",
    "has_diag_steps",
    "has_grads",
)


def test_files_are_plain_and_readable_without_capsa(tmp_path: Path) -> None:
    trace = make_trace()
    save_run("runs/plain", trace, make_meta(index_map=layout()))
    folder = tmp_path / "runs" / "plain"
    assert sorted(p.name for p in folder.iterdir()) == ALWAYS
    with np.load(folder / "trace.npz") as npz:
        np.testing.assert_array_equal(npz["theta"], trace["theta"])
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["artifact_schema"] == "capsa.optim.meta" and meta["schema_version"] == 1
    assert meta["theta"]["index_map"]["entries"][3]["name"] == "primary.zernike_coeffs_nm"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["artifact_schema"] == "capsa.optim.summary"


def test_every_optional_member(root_url: str) -> None:
    trace = make_trace()
    dim = 12
    run = f"{root_url}/full"
    save_run(
        run,
        trace,
        make_meta(),
        signals={"loss": Signal(values=trace["loss"], unit="1", panel="loss")},
        precond={"lr_vec": np.full(dim, 0.1), "precond": np.ones(dim)},
        curvature=CurvatureEstimate(
            diagonal=np.arange(dim, dtype=float),
            metadata={"estimator": "gn_diag"},
            stderr=np.zeros(dim),
        ),
        checkpoint_best=Checkpoint("best", trace["theta"][3], 3, 0.25),
        checkpoint_final={"theta": trace["theta"][-1], "step": 39, "loss": 0.1},
        diag_steps=[{"step": 0, "lr": 0.1}, {"step": 10, "lr": 0.05}],
        grads={"step": np.array([0, 10]), "grad": np.ones((2, dim))},
    )
    summary = load_summary(run)
    assert all(getattr(summary, f) for f in RUN_FLAGS)
    assert sorted(RunArtifacts(run).members) == sorted(
        [
            "checkpoint_best.npz",
            "checkpoint_final.npz",
            "curvature.npz",
            "diag_steps.jsonl",
            "grads.npz",
            "meta.json",
            "precond.npz",
            "signals.npz",
            "summary.json",
            "trace.npz",
        ]
    )
    best = load_checkpoint(run, "best")
    assert best.step == 3 and best.loss == 0.25
    np.testing.assert_array_equal(best.theta, trace["theta"][3])
    final = load_checkpoint(run, which="final")
    assert final.step == 39 and final.which == "final"
    np.testing.assert_array_equal(load_curvature(run)["curv_stderr"], np.zeros(dim))
    np.testing.assert_array_equal(load_precond(run)["lr_vec"], np.full(dim, 0.1))
    assert load_grads(run)["step"].tolist() == [0, 10]
    assert load_diag_steps(run) == [{"step": 0, "lr": 0.1}, {"step": 10, "lr": 0.05}]
    assert load_signals(run)["loss"].panel == "loss"
    assert load_meta(run).extra["curvature"] == {"estimator": "gn_diag"}


def test_checkpoint_npz_uses_the_seed_names(tmp_path: Path) -> None:
    trace = make_trace()
    save_run(
        "runs/ck",
        trace,
        make_meta(),
        checkpoint_best={"theta_best": trace["theta"][1], "best_step": 1, "best_loss": 0.5},
    )
    with np.load(tmp_path / "runs" / "ck" / "checkpoint_best.npz") as npz:
        assert sorted(npz.files) == ["best_loss", "best_step", "theta_best"]
        assert int(npz["best_step"]) == 1


def test_run_artifacts_is_lazy_and_gives_none_for_absent_members(root_url: str) -> None:
    save_run(f"{root_url}/lazy", make_trace(), make_meta())
    run = RunArtifacts(f"{root_url}/lazy")
    assert "not opened" in repr(run)
    assert run.run_id == "lazy"
    assert run.signals is None and run.precond is None and run.curvature is None
    assert run.grads is None and run.diag_steps is None
    assert run.has("trace.npz") and not run.has("signals")
    assert run.verify() == []
    with pytest.raises(MemberNotFoundError, match=r"no checkpoint_best.npz"):
        run.checkpoint("best")
    with pytest.raises(ValidationError, match=r"which must be 'best' or 'final'"):
        load_checkpoint(f"{root_url}/lazy", "worst")


def test_production_runs_are_written_once(root_url: str) -> None:
    save_run(f"{root_url}/once", make_trace(), make_meta())
    with pytest.raises(ArtifactExistsError):
        save_run(f"{root_url}/once", make_trace(seed=1), make_meta())
    np.testing.assert_array_equal(load_trace(f"{root_url}/once").loss, make_trace()["loss"])


def test_development_store_location_overwrites(tmp_path: Path) -> None:
    store = capsa.open_store(str(tmp_path / "dev"), mode="development", session="s1")
    where = RunLocation(store, "exp/run-1")
    save_run(where, make_trace(), make_meta())
    save_run(where, make_trace(seed=1), make_meta())
    np.testing.assert_array_equal(load_trace(where).loss, make_trace(seed=1)["loss"])
    assert (tmp_path / "dev" / "dev" / "s1" / "exp" / "run-1" / "trace.npz").is_file()


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ({"loss": np.zeros(5), "theta": np.zeros((4, 3))}, r"theta has 4 steps but loss has 5"),
        ({"loss": np.zeros(5)}, r"required channel\(s\) \['theta'\] missing"),
        ({"loss": np.zeros((5, 1)), "theta": np.zeros((5, 3))}, r"'loss' must have shape \(T,\)"),
        ({"loss": np.zeros(5), "theta": np.zeros(5)}, r"'theta' must have shape \(T, D\)"),
        (
            {"loss": np.zeros(5), "theta": np.zeros((5, 3)), "grad_norm": np.zeros(4)},
            r"'grad_norm' has shape \(4,\)",
        ),
        (
            {"loss": np.zeros(5), "theta": np.zeros((5, 3)), "accepted": np.full(5, 0.5)},
            r"'accepted' must be booleans",
        ),
        (
            {"loss": np.zeros(5), "theta": np.zeros((5, 3)), "step": np.array([0, 2, 2, 3, 4])},
            r"strictly increasing",
        ),
        ({"loss": np.array(["a"] * 5), "theta": np.zeros((5, 3))}, r"only real numbers"),
        ({"loss": np.zeros(5), "theta": np.zeros((5, 0))}, r"D = 0"),
        (
            {"loss": np.zeros(5), "theta": np.zeros((5, 3)), "_hidden": np.zeros(5)},
            r"must be non-empty str not starting with '_'",
        ),
        ([1, 2, 3], r"a trace must be a Trace or a mapping"),
    ],
)
def test_bad_traces_are_refused_before_writing(root_url: str, bad: object, match: str) -> None:
    location = locate_run(f"{root_url}/bad")
    with pytest.raises(ValidationError, match=match):
        save_run(location, bad, {"theta": {"dim": 3}})
    assert all_object_keys(location.store) == []


@pytest.mark.parametrize(
    ("options", "match"),
    [
        (
            {"checkpoint_best": {"theta": np.zeros(3), "step": 0, "loss": 1.0}},
            r"checkpoint_best: theta must be a real vector of shape \(12,\)",
        ),
        (
            {"checkpoint_final": {"theta": np.zeros(12), "step": -1, "loss": 1.0}},
            r"step must be an int >= 0",
        ),
        ({"checkpoint_best": {"theta": np.zeros(12), "step": 0}}, r"missing \['best_loss'\]"),
        ({"checkpoint_best": Checkpoint("final", np.zeros(12), 0, 1.0)}, r"got a 'final'"),
        ({"precond": {"lr_vec": np.zeros(11)}}, r"'lr_vec' has shape \(11,\)"),
        ({"precond": {}}, r"precond: no arrays given"),
        ({"curvature": [1, 2]}, r"curvature must be a mapping"),
        ({"diag_steps": [{"lr": 0.1}]}, r"diag_steps\[0\] needs an int 'step'"),
        ({"diag_steps": [{"step": 1, "lr": float("nan")}]}, r"diag_steps\[0\].lr is nan"),
        ({"diag_steps": {"step": 1}}, r"diag_steps must be a list"),
        ({"grads": {"grad": np.zeros((2, 12))}}, r"grads must be a mapping with 'step'"),
        ({"grads": {"step": [0, 1], "grad": np.zeros((2, 5))}}, r"'grad' must be real"),
        ({"signals": {"loss": np.zeros(3)}}, r"must be a capsa.estimators.Signal"),
        ({"signals": {"a/b": Signal(values=np.zeros(3))}}, r"must not contain '/'"),
        ({"trace_storage": "hdf5"}, r"trace_storage must be one of"),
        ({"summary": {"num_steps_completed": 99}}, r"holds 40 steps"),
        ({"summary": {"run_id": "other"}}, r"differs from meta's"),
    ],
)
def test_bad_optional_members_are_refused_before_writing(
    root_url: str, options: dict[str, object], match: str
) -> None:
    location = locate_run(f"{root_url}/bad")
    options = dict(options)
    summary = options.pop("summary", None)
    with pytest.raises(ValidationError, match=match):
        save_run(location, make_trace(), make_meta(), summary, **options)  # type: ignore[arg-type]
    assert all_object_keys(location.store) == []


def test_trace_object_and_extra_channels(root_url: str) -> None:
    trace = Trace(
        loss=[3, 2, 1],
        theta=np.eye(3),
        accepted=[1, 0, 1],
        step=[0, 5, 10],
        lr_channel=np.ones((3, 2)),
    )
    assert trace.loss.dtype == np.float64 and trace.accepted.dtype == bool
    save_run(f"{root_url}/obj", trace, {"theta": {"dim": 3}})
    loaded = load_trace(f"{root_url}/obj")
    assert loaded.steps.tolist() == [0, 5, 10]
    assert loaded["lr_channel"].shape == (3, 2) and loaded.accepted.tolist() == [True, False, True]
    assert load_summary(f"{root_url}/obj").best_step == 10


def test_store_save_with_the_kind_checks_the_same_way(root_url: str) -> None:
    store = locate_run(f"{root_url}/k").store
    store.save("k", "optim.run", {"trace": make_trace(), "meta": make_meta()})
    assert load_summary(RunLocation(store, "k")).num_steps_completed == 40
    with pytest.raises(ValidationError, match=r"unknown key\(s\) \['trace_npz'\]"):
        store.save("k2", "optim.run", {"trace_npz": make_trace(), "meta": make_meta()})
    with pytest.raises(ValidationError, match=r"expects a mapping"):
        store.save("k2", "optim.run", make_trace()["theta"])
    with pytest.raises(ValidationError, match=r"not both"):
        store.save(
            "k2",
            "optim.run",
            {"trace": make_trace(), "trace_zarr": make_trace(), "meta": make_meta()},
        )


def test_zarr_trace_storage_via_save_run(root_url: str) -> None:
    pytest.importorskip("capsa_zarr")
    trace = make_trace(dim=300)
    ref = save_run(f"{root_url}/z", trace, make_meta(dim=300), trace_storage="zarr")
    run = RunArtifacts(f"{root_url}/z")
    assert "trace.zarr" in run.members and run.summary.trace_storage == "zarr"
    np.testing.assert_array_equal(run.trace.theta[:, 4], trace["theta"][:, 4])
    info = next(m.info for m in ref.manifest.members if m.file == "trace.zarr")
    assert info["arrays"]["theta"]["chunks"][1] == 128  # column-chunked for lazy column reads


def test_layout_check_against_a_decoder(root_url: str) -> None:
    save_run(f"{root_url}/l", make_trace(), make_meta(index_map=layout()))
    assert load_trace(f"{root_url}/l", expect_layout=layout()).dim == 12

    class OtherDecoder:
        layout_hash = "0123456789abcdef"

    with pytest.raises(LayoutMismatchError, match=r"expects '0123456789abcdef'"):
        load_trace(f"{root_url}/l", expect_layout=OtherDecoder())
    save_run(f"{root_url}/nomap", make_trace(), make_meta())
    with pytest.raises(LayoutMismatchError, match=r"records no IndexMap"):
        load_trace(f"{root_url}/nomap", expect_layout=layout())


def test_missing_and_foreign_artifacts(tmp_path: Path) -> None:
    with pytest.raises(ArtifactNotFoundError):
        load_meta("runs/nothing")
    capsa.open_store(str(tmp_path / "runs")).save("metrics", "json", {"a": 1})
    with pytest.raises(ValidationError, match=r"is a 'json' artifact, not an 'optim.run' run"):
        load_trace("runs/metrics")
    seedlike = tmp_path / "runs" / "legacy"
    seedlike.mkdir(parents=True)
    np.savez(seedlike / "trace.npz", loss=np.zeros(2), theta=np.zeros((2, 2)))
    with pytest.raises(ArtifactNotFoundError, match=r"import_legacy_run"):
        load_summary("runs/legacy")


@pytest.mark.parametrize(
    ("where", "error"),
    [
        ("", InvalidKeyError),
        ("memory://only", InvalidKeyError),
        ("runs/..", InvalidKeyError),
        (42, InvalidKeyError),
    ],
)
def test_bad_run_locations(where: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        locate_run(where)  # type: ignore[arg-type]


def test_file_url_and_memory_url_forms(tmp_path: Path) -> None:
    url = (tmp_path / "u" / "run").as_uri()
    save_run(url, make_trace(), make_meta())
    assert load_summary(str(tmp_path / "u" / "run")).run_id == "run"
    space = f"memory://m-{uuid.uuid4().hex[:6]}/exp/runs/r9"
    save_run(space, make_trace(), make_meta())
    assert load_meta(space).run_id == "r9"


def test_trace_npz_is_a_real_zip_written_once(tmp_path: Path) -> None:
    save_run("runs/z", make_trace(), make_meta())
    with zipfile.ZipFile(tmp_path / "runs" / "z" / "trace.npz") as zf:
        assert sorted(zf.namelist()) == ["grad_norm.npy", "loss.npy", "step_norm.npy", "theta.npy"]


@settings(max_examples=25, deadline=None)
@given(
    steps=st.integers(0, 30),
    dim=st.integers(1, 6),
    dtype=st.sampled_from(["float32", "float64"]),
    with_norm=st.booleans(),
)
def test_any_trace_round_trips(steps: int, dim: int, dtype: str, with_norm: bool) -> None:
    rng = np.random.default_rng(steps * 10 + dim)
    trace = {"loss": rng.random(steps), "theta": rng.normal(size=(steps, dim)).astype(dtype)}
    if with_norm:
        trace["grad_norm"] = rng.random(steps)
    where = f"memory://rt-{uuid.uuid4().hex[:8]}/runs/r"
    save_run(where, trace, {"theta": {"dim": dim}})
    loaded = load_trace(where)
    assert loaded.channels == list(trace)
    for name, values in trace.items():
        np.testing.assert_array_equal(loaded[name], values)
        assert loaded[name].dtype == values.dtype
    summary = load_summary(where)
    assert summary.num_steps_completed == steps
    assert summary.best_step == (int(np.argmin(trace["loss"])) if steps else None)
