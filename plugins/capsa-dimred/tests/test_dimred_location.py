"""How path arguments resolve: paths, file:// and capsa URLs, StoreLocations, config options."""

from __future__ import annotations

from pathlib import Path

from capsa_dimred import (
    FIT_RUN_KEY_FIELDS,
    StoreLocation,
    load_fit_artifact,
    load_fit_runs,
    save_fit_artifact,
    update_runs,
    write_run_status,
)
from capsa_dimred.location import locate, locate_root, open_root, store_options
from dimred_helpers import run_record, sample_fit, save_args

import capsa
from capsa.backends.memory import MemoryBackend


def test_relative_local_path_lands_where_it_says(tmp_path: Path) -> None:
    save_fit_artifact("out/fits/pca_k2", *save_args(sample_fit()))
    assert sorted(p.name for p in (tmp_path / "out" / "fits" / "pca_k2").iterdir()) == [
        "_SUCCESS",
        "fit.json",
        "fit.npz",
    ]
    assert load_fit_artifact(tmp_path / "out" / "fits" / "pca_k2")["path"] == (
        tmp_path / "out" / "fits" / "pca_k2"
    )


def test_file_url_and_trailing_slash(tmp_path: Path) -> None:
    url = (tmp_path / "out" / "fits" / "x").as_uri() + "/"
    save_fit_artifact(url, *save_args(sample_fit()))
    assert (tmp_path / "out" / "fits" / "x" / "fit.npz").is_file()
    assert load_fit_artifact(tmp_path / "out" / "fits" / "x")["fit"]["method"] == "pca"


def test_locate_splits_parent_and_name(tmp_path: Path) -> None:
    loc = locate("memory://space/a/b/c.json")
    assert loc.store.url == "memory://space/a/b" and loc.key == "c.json"
    root = locate_root("memory://space/a/")
    assert root.store.url == "memory://space/a" and root.key == "" and root.full_key == ""
    assert locate_root(tmp_path).store.url == tmp_path.as_uri()
    MemoryBackend.clear_all()


def test_stores_are_reused_per_url() -> None:
    assert open_root("memory://reuse/x") is open_root("memory://reuse/x")
    MemoryBackend.clear_all()


def test_named_store_lends_its_options_by_url_prefix(tmp_path: Path) -> None:
    (tmp_path / "capsa.toml").write_text(
        '[stores.lab]\nurl = "s3://lab/dimred"\noptions = { region = "eu-west-1" }\n'
        '[stores.deeper]\nurl = "s3://lab/dimred/special"\noptions = { region = "us-east-2" }\n'
        '[stores.other]\nurl = "s3://lab/dimredx"\noptions = { region = "ap-south-1" }\n'
    )
    assert store_options("s3://lab/dimred/out/fits") == {"region": "eu-west-1"}
    assert store_options("s3://lab/dimred") == {"region": "eu-west-1"}
    assert store_options("s3://lab/dimred/special/out") == {"region": "us-east-2"}
    assert store_options("s3://lab/elsewhere") == {}


def test_a_development_store_location_for_the_whole_pipeline(tmp_path: Path) -> None:
    store = capsa.open_store(str(tmp_path / "root"), mode="development", session="s9")
    root = StoreLocation(store, "exp1")
    fit_runs = root.child("fit_runs.json")
    update_runs(fit_runs, run_record(0, 1), FIT_RUN_KEY_FIELDS)
    update_runs(fit_runs, run_record(0, 2), FIT_RUN_KEY_FIELDS)
    assert len(load_fit_runs(fit_runs)) == 2
    summary = write_run_status(root, fit_runs, root.child("eval_runs.json"))
    assert summary["status"] == "success"
    base = tmp_path / "root" / "dev" / "s9" / "exp1"
    assert sorted(p.name for p in base.iterdir()) == [
        "_RUN_SUCCESS",
        "fit_runs.json",
        "fit_runs.records",
        "run_summary.json",
    ]
    assert [i.kind for i in store.list("exp1/")] == ["dimred.run", "dimred.run"]
    assert str(root) == store.url_for("exp1")
