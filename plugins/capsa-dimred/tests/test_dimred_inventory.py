"""load_fit_runs / update_runs / restore_runs: seed behaviour, byte format, mirrors, recovery."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from capsa_dimred import (
    EVAL_RUN_KEY_FIELDS,
    FIT_RUN_KEY_FIELDS,
    InventoryFormatError,
    InventoryNotFoundError,
    load_fit_runs,
    restore_runs,
    update_runs,
    write_run_status,
)
from capsa_dimred.chain import VersionChain, pack_version, unpack_version
from capsa_dimred.location import locate
from dimred_helpers import (
    delete_object,
    join,
    object_exists,
    put_object,
    read_object,
    run_record,
)

import capsa

KEYS = ("name", "k")


def _rec(name: object, k: object, **extra: object) -> dict[str, object]:
    return {"name": name, "k": k, **extra}


def test_first_upsert_creates_the_file_in_the_seed_format(root: str) -> None:
    path = join(root, "runs", "fit_runs.json")
    record = run_record(0, 1)
    update_runs(path, record, FIT_RUN_KEY_FIELDS)
    assert read_object(path) == json.dumps([record], indent=2).encode()
    assert load_fit_runs(path) == [record]


def test_upsert_replaces_and_sorts(root: str) -> None:
    path = join(root, "fit_runs.json")
    update_runs(path, _rec("b", 10, v=1), KEYS, mirror=False)
    update_runs(path, _rec("b", 2, v=1), KEYS, mirror=False)
    update_runs(path, _rec("a", 3, v=1), KEYS, mirror=False)
    update_runs(path, _rec("b", 2, v=2), KEYS, mirror=False)  # replaces ("b", 2)
    expected = [_rec("a", 3, v=1), _rec("b", 2, v=2), _rec("b", 10, v=1)]
    assert load_fit_runs(path) == expected
    assert read_object(path) == json.dumps(expected, indent=2).encode()


def test_sort_orders_mixed_values_without_failing(root: str) -> None:
    path = join(root, "fit_runs.json")
    for k in ["x", 3, None, 1.5, True, float("nan")]:
        update_runs(path, _rec("a", k), KEYS, mirror=False)
    update_runs(path, {"name": "a", "k": [1, 2]}, KEYS, mirror=False)
    got = [r["k"] for r in load_fit_runs(path)]
    assert got[:4] == [None, True, 1.5, 3]
    assert math.isnan(got[4]) and got[5:] == ["x", [1, 2]]


def test_taxonomy_fields_order_records_with_equal_keys(root: str) -> None:
    path = join(root, "runs.json")
    update_runs(path, {"id": 1, "status": "success", "method": "umap"}, ("id",), mirror=False)
    update_runs(path, {"id": 0, "method": "pca"}, ("id",), mirror=False)
    assert [r["id"] for r in load_fit_runs(path)] == [0, 1]


def test_nan_is_written_as_python_json_does(root: str) -> None:
    path = join(root, "eval_runs.json")
    record = {**run_record(0, 2), "evaluation": "class", "silhouette": float("nan")}
    update_runs(path, record, EVAL_RUN_KEY_FIELDS, mirror=False)
    raw = read_object(path)
    assert b'"silhouette": NaN' in raw
    assert math.isnan(json.loads(raw)[0]["silhouette"])
    assert math.isnan(load_fit_runs(path)[0]["silhouette"])


def test_numpy_values_in_records(root: str) -> None:
    import numpy as np

    path = join(root, "fit_runs.json")
    update_runs(path, _rec("a", np.int64(2), score=np.float32(0.5)), KEYS, mirror=False)
    assert load_fit_runs(path) == [_rec("a", 2, score=0.5)]


def test_seed_written_file_is_read_then_upgraded(root: str) -> None:
    path = join(root, "fit_runs.json")
    old = [_rec("a", 1, v=0), _rec("c", 1, v=0)]
    put_object(path, json.dumps(old, indent=4).encode())  # the seed's own writer
    assert load_fit_runs(path) == old
    update_runs(path, _rec("b", 1, v=1), KEYS, mirror=False)
    assert load_fit_runs(path) == [old[0], _rec("b", 1, v=1), old[1]]


def test_missing_inventory(root: str) -> None:
    with pytest.raises(InventoryNotFoundError, match=r"no runs inventory at") as info:
        load_fit_runs(join(root, "fit_runs.json"))
    assert isinstance(info.value, FileNotFoundError)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"{not json", r"is not valid JSON"),
        (b'{"a": 1}', r"must hold a JSON list of records, got dict"),
        (b"[1, 2]", r"entry 0 is a int, not an object"),
    ],
)
def test_malformed_inventory_is_refused_before_writing(
    root: str, content: bytes, match: str
) -> None:
    path = join(root, "fit_runs.json")
    put_object(path, content)
    with pytest.raises(InventoryFormatError, match=match) as info:
        load_fit_runs(path)
    assert isinstance(info.value, ValueError)
    with pytest.raises(InventoryFormatError, match=match):
        update_runs(path, _rec("a", 1), KEYS)
    assert read_object(path) == content
    loc = locate(path)
    assert VersionChain(loc.backend, loc.full_key, path).newest() == -1
    assert loc.store.list() == []  # no mirror either


def test_each_upsert_is_mirrored_as_a_run_artifact(root: str) -> None:
    path = join(root, "fit_runs.json")
    first = run_record(0, 1, trustworthiness=0.5)
    update_runs(path, first, FIT_RUN_KEY_FIELDS)
    update_runs(path, run_record(0, 2), FIT_RUN_KEY_FIELDS)
    update_runs(path, {**first, "trustworthiness": 0.75}, FIT_RUN_KEY_FIELDS)
    store = locate(path).store
    infos = store.list("fit_runs.records/", kind="dimred.run")
    assert len(infos) == 3
    ids = {info.key.split("/")[1] for info in infos}
    assert len(ids) == 2  # two runs; the first has two revisions
    newest = max(i.key for i in infos if i.key.split("/")[1] in ids and i.key.endswith("2"))
    art = store.load(newest, verify=True)
    assert art["record"] == {**first, "trustworthiness": 0.75}
    meta = art.meta
    assert meta["revision"] == 2 and meta["inventory"] == "fit_runs.json"
    assert meta["key"] == {f: first[f] for f in FIT_RUN_KEY_FIELDS}
    assert meta["metrics"] == {"trustworthiness": 0.75}
    assert meta["status"] == "success" and meta["fingerprint"] == meta["record_id"]


def test_mirror_can_be_turned_off(root: str) -> None:
    path = join(root, "fit_runs.json")
    update_runs(path, run_record(0, 1), FIT_RUN_KEY_FIELDS, mirror=False)
    assert locate(path).store.list() == []


def test_mirror_metric_columns_and_nan(root: str) -> None:
    path = join(root, "eval_runs.json")
    record = {**run_record(0, 1), "evaluation": "e", "score": float("nan"), "auc": 0.5}
    update_runs(path, record, EVAL_RUN_KEY_FIELDS, metric_columns=("score", "auc"))
    store = locate(path).store
    (info,) = store.list("eval_runs.records/")
    art = store.load(info.key)
    assert art.meta["metrics"] == {"score": None, "auc": 0.5}
    assert art.meta["nonfinite"] == {"score": "nan"}
    assert art["record"]["score"] is None


def test_restore_from_the_chain_after_the_file_is_removed(root: str) -> None:
    path = join(root, "fit_runs.json")
    for i in range(3):
        update_runs(path, run_record(0, i), FIT_RUN_KEY_FIELDS, mirror=False)
    before = read_object(path)
    delete_object(path)
    assert not object_exists(path)
    assert len(load_fit_runs(path)) == 3  # the chain is the source of truth
    assert restore_runs(path) == 3
    assert read_object(path) == before


def test_restore_from_mirrors_after_file_and_chain_are_removed(root: str) -> None:
    path = join(root, "fit_runs.json")
    for i in range(3):
        update_runs(path, run_record(0, i, silhouette=float("nan")), FIT_RUN_KEY_FIELDS)
    update_runs(path, run_record(0, 1, extra="newer"), FIT_RUN_KEY_FIELDS)
    before = read_object(path)
    loc = locate(path)
    chain = VersionChain(loc.backend, loc.full_key, path)
    loc.backend.delete_prefix(chain.prefix + "/")
    delete_object(path)
    with pytest.raises(InventoryNotFoundError):
        load_fit_runs(path)
    assert restore_runs(path) == 3
    assert read_object(path) == before
    update_runs(path, run_record(0, 9), FIT_RUN_KEY_FIELDS)  # the new chain carries on
    assert len(load_fit_runs(path)) == 4


def test_restore_without_anything(root: str) -> None:
    with pytest.raises(InventoryNotFoundError, match=r"neither a version chain nor"):
        restore_runs(join(root, "fit_runs.json"))


def test_gc_keeps_the_seed_files_and_the_chain(local_root: str) -> None:
    path = join(local_root, "fit_runs.json")
    update_runs(path, run_record(0, 1), FIT_RUN_KEY_FIELDS)
    write_run_status(local_root, path, join(local_root, "eval_runs.json"))
    before = read_object(path)
    listed_before = sorted(p.name for p in Path(local_root).iterdir())
    store = capsa.open_store(local_root)
    report = store.gc(dry_run=False, older_than=0)
    # The inventory, the summary and the status marker are declared by the kind (gc_keep).
    assert report.objects == []
    assert read_object(path) == before
    assert sorted(p.name for p in Path(local_root).iterdir()) == listed_before
    # From a folder above the output root the version chain is kept too.
    above = capsa.open_store(str(Path(local_root).parent))
    assert not [k for k in above.gc(dry_run=True, older_than=0).objects if "dimred" in k]
    assert store.verify().ok


def test_restore_undoes_a_lost_inventory_file(local_root: str) -> None:
    path = join(local_root, "fit_runs.json")
    update_runs(path, run_record(0, 1), FIT_RUN_KEY_FIELDS)
    before = read_object(path)
    Path(path).unlink()
    assert restore_runs(path) == 1
    assert read_object(path) == before


def test_a_lost_race_is_retried_on_top_of_the_winner(
    root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = join(root, "fit_runs.json")
    update_runs(path, _rec("a", 1), KEYS, mirror=False)
    real = VersionChain.try_create
    sneaked: list[int] = []

    def racing(self: VersionChain, n: int, data: bytes) -> bool:
        if not sneaked:  # another writer wins version n first
            sneaked.append(n)
            _header, body = unpack_version(self.backend.get(self.version_key(n - 1)), path)
            other = [*json.loads(body), _rec("z", 1)]
            assert real(self, n, pack_version(json.dumps(other, indent=2).encode(), KEYS, 2))
        return real(self, n, data)

    monkeypatch.setattr(VersionChain, "try_create", racing)
    update_runs(path, _rec("b", 1), KEYS, mirror=False)
    assert sneaked == [1]
    assert [r["name"] for r in load_fit_runs(path)] == ["a", "b", "z"]
    assert [r["name"] for r in json.loads(read_object(path))] == ["a", "b", "z"]


def test_old_versions_are_tombstoned_not_deleted(root: str) -> None:
    path = join(root, "fit_runs.json")
    for i in range(5):
        update_runs(path, _rec("a", i), KEYS, mirror=False)
    loc = locate(path)
    chain = VersionChain(loc.backend, loc.full_key, path)
    sizes = [loc.backend.head(chain.version_key(n)).size for n in range(5)]
    assert sizes[:3] == [0, 0, 0] and all(sizes[3:])
    assert chain.newest(start=0) == 4 == chain.newest(start=-1)
    # The head hint is a lower bound (rewritten every 32 versions on a local folder).
    assert chain.hint() == (0 if loc.backend.local_path("x") else 4)
    assert not chain.try_create(2, b"[]")  # a tombstone still blocks a stale writer
