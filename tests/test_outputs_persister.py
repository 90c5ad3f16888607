"""StepOutput and the persister: outputs under readable names, artifacts deduplicated, dry runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from core_helpers import all_object_keys

import capsa
from capsa.errors import ArtifactExistsError, InvalidKeyError, ValidationError
from capsa.objects.store import OBJECTS_PREFIX
from capsa.outputs import Persister, StepOutput, persist
from capsa.store.store import Store

PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(64)


class Model:
    """Stands for a fitted estimator no format but pickle writes."""

    def __init__(self, coef: list[float]):
        self.coef = coef

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and other.coef == self.coef


def fit_step() -> StepOutput:
    return StepOutput(
        artifacts={"scaler": {"mean": [0.5, 1.5]}, "weights": b"\x01\x02" * 100},
        outputs=[(PNG, "2D_Chart", "png"), ("a,b\n1,2\n", "report", "csv")],
    )


def test_outputs_get_readable_names_and_artifacts_go_by_reference(tmp_path: Path) -> None:
    root = tmp_path / "workspace"
    store = capsa.open_store(str(root))
    report = persist(store, fit_step(), group="regression_Q1_47be36")
    assert (root / "exports" / "regression_Q1_47be36" / "2D_Chart.png").read_bytes() == PNG
    assert (root / "exports" / "regression_Q1_47be36" / "report.csv").read_text() == "a,b\n1,2\n"
    assert report.exports_key == "exports/regression_Q1_47be36"
    assert sorted(report.outputs) == ["2D_Chart.png", "report.csv"]
    arts = store.load("artifacts/regression_Q1_47be36", verify=True)
    assert arts.kind == "step.artifacts"
    assert arts["scaler.json"] == {"mean": [0.5, 1.5]} and arts["weights.bin"] == b"\x01\x02" * 100
    assert all(m.by_reference for m in arts.manifest.members)
    assert {o.name: o.member for o in report.artifacts} == {
        "scaler": "scaler.json",
        "weights": "weights.bin",
    }
    # No artifact file under artifacts/<group>: the bytes are content-addressed objects.
    assert sorted(os.listdir(root / "artifacts" / "regression_Q1_47be36")) == ["_SUCCESS"]
    assert store.load("exports/regression_Q1_47be36").kind == "exports"


def test_identical_artifacts_from_two_groups_are_stored_once(store: Store) -> None:
    persist(store, fit_step(), group="run1")
    objects = [k for k in all_object_keys(store) if k.startswith(OBJECTS_PREFIX + "/")]
    persist(store, fit_step(), group="run2")
    assert [k for k in all_object_keys(store) if k.startswith(OBJECTS_PREFIX + "/")] == objects
    assert len(objects) == 2
    assert store.load("artifacts/run2", verify=True)["scaler.json"] == {"mean": [0.5, 1.5]}


@pytest.mark.parametrize(
    ("save_artifacts", "save_outputs", "prefixes"),
    [(True, False, {"artifacts"}), (False, True, {"exports"})],
)
def test_each_flag_switches_one_half_off(
    store: Store, save_artifacts: bool, save_outputs: bool, prefixes: set[str]
) -> None:
    report = persist(
        store, fit_step(), group="g", save_artifacts=save_artifacts, save_outputs=save_outputs
    )
    assert {info.key.split("/")[0] for info in store.list()} == prefixes
    assert bool(report.outputs) == save_outputs and bool(report.artifacts) == save_artifacts


def test_a_dry_run_writes_nothing_at_all(tmp_path: Path) -> None:
    root = tmp_path / "workspace"
    store = capsa.open_store(str(root))
    memory = capsa.open_store("memory://dry-run-persister")
    for target in (store, memory):
        with Persister(target, "g", save_artifacts=False, save_outputs=False) as persister:
            assert persister.dry_run
            report = persister.persist(fit_step(), step="fit")
            persister.persist(StepOutput(artifacts={"model": Model([1.0])}), step="more")
        assert report.dry_run and report.outputs == [] and report.artifacts == []
        assert report.exports_key is None and report.artifacts_key is None
        assert all_object_keys(target) == []
    assert not root.exists() or [p for p in root.rglob("*") if p.is_file()] == []


def test_steps_accumulate_in_one_group_and_commit_at_close(store: Store) -> None:
    with Persister(store, "pipeline") as persister:
        persister.persist(fit_step(), step="fit")
        persister.persist(StepOutput(outputs=[({"rmse": 0.3}, "scores", "json")]), step="eval")
        assert not store.exists("exports/pipeline")  # nothing visible before close
    exports = store.load("exports/pipeline", verify=True)
    assert sorted(exports) == ["eval/scores.json", "fit/2D_Chart.png", "fit/report.csv"]
    assert exports["eval/scores.json"] == {"rmse": 0.3}
    assert store.load("exports/pipeline").meta == {"group": "pipeline"}


def test_an_exception_in_the_block_discards_everything(store: Store) -> None:
    with pytest.raises(RuntimeError), Persister(store, "broken") as persister:
        persister.persist(fit_step(), step="fit")
        raise RuntimeError("the next step failed")
    assert store.list() == []
    with pytest.raises(capsa.CapsaError, match=r"already aborted"):
        persister.persist(fit_step())


def test_pickle_only_when_allowed(store: Store) -> None:
    output = StepOutput(artifacts={"model": Model([0.1, 0.2])})
    with pytest.raises(ValidationError, match=r"allow_pickle=True"):
        persist(store, output, group="p")
    assert all_object_keys(store) == []
    persist(store, output, group="p", allow_pickle=True)
    loaded = store.load("artifacts/p", trusted=True)
    assert loaded["model.pkl"] == Model([0.1, 0.2])
    with pytest.raises(capsa.UntrustedSourceError):
        store.load("artifacts/p")["model.pkl"]


def test_an_extension_in_the_artifact_name_picks_the_format(store: Store) -> None:
    persist(store, StepOutput(artifacts={"coef.json": [1, 2, 3]}), group="e")
    assert store.load("artifacts/e")["coef.json"] == [1, 2, 3]
    with pytest.raises(ValidationError, match=r"format 'json' cannot write"):
        persist(store, StepOutput(artifacts={"coef.json": b"raw"}), group="e2")


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (StepOutput(outputs=[(b"x", "chart", "png", "extra")]), r"triple"),  # type: ignore[list-item]
        (StepOutput(outputs=[(b"x", "../escape", "png")]), r"cannot contain '/'"),
        (StepOutput(outputs=[(b"x", "a\\b", "png")]), r"forbidden character"),
        (StepOutput(outputs=[(b"x", "chart", "p/ng")]), r"extension"),
        (StepOutput(outputs=[(b"x", "chart", "")]), r"extension"),
        (StepOutput(outputs=[(b"x", "", "png")]), r"non-empty"),
        (StepOutput(outputs=[(None, "chart", "png")]), r"no data"),
        (StepOutput(outputs=[(b"x", "c", "png"), (b"y", "c", "png")]), r"given twice"),
        (StepOutput(outputs=[({"a": 1}, "chart", "png")]), r"must be bytes or text"),
        (StepOutput(outputs=[({"a": float("nan")}, "s", "json")]), r"NaN|finite|nan"),
        (StepOutput(artifacts={"a/b": b"x"}), r"cannot contain '/'"),
        (StepOutput(artifacts={"m": None}), r"is None"),
        (StepOutput(artifacts={3: b"x"}), r"must be strings"),  # type: ignore[dict-item]
        (StepOutput(artifacts=[b"x"]), r"must be a dict"),  # type: ignore[arg-type]
        (StepOutput(outputs="chart.png"), r"must be a list"),  # type: ignore[arg-type]
    ],
)
def test_bad_step_outputs_are_refused_before_anything_is_written(
    store: Store, output: StepOutput, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        persist(store, output, group="bad")
    assert all_object_keys(store) == []


def test_bad_persister_arguments(store: Store) -> None:
    with pytest.raises(InvalidKeyError):
        Persister(store, "../out")
    with pytest.raises(ValidationError, match=r"save_outputs must be True or False"):
        Persister(store, "g", save_outputs="no")  # type: ignore[arg-type]
    with Persister(store, "g") as persister:
        with pytest.raises(ValidationError, match=r"takes a StepOutput"):
            persister.persist({"outputs": []})  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match=r"step must be a name"):
            persister.persist(fit_step(), step="a/b")
        persister.persist(fit_step())
        with pytest.raises(ValidationError, match=r"already persisted .*step="):
            persister.persist(fit_step())
    assert store.exists("exports/g")


def test_production_groups_are_immutable_and_checked_up_front(store: Store) -> None:
    persist(store, fit_step(), group="once")
    with pytest.raises(ArtifactExistsError, match=r"another group"):
        Persister(store, "once")
    Persister(store, "once", save_artifacts=False, save_outputs=False).close()  # a dry run is fine


def test_development_mode_replaces_a_group(dev_store: Store) -> None:
    persist(dev_store, fit_step(), group="again")
    persist(dev_store, StepOutput(outputs=[(b"v2", "2D_Chart", "png")]), group="again")
    assert dev_store.load("exports/again")["2D_Chart.png"] == b"v2"


def test_step_output_is_falsy_when_empty() -> None:
    assert not StepOutput() and StepOutput(outputs=[(b"x", "a", "png")])
    assert StepOutput(outputs=[(b"x", "a", ".png")]).output_files() == [("a.png", b"x")]
