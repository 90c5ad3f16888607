"""``capsa demo``: the main job in miniature.

Saves one artifact per contributed demo (the core's own plus one from every
plugin implementing ``capsa_demo_artifacts``; some store members by
reference, so identical bytes are kept once as a content-addressed object),
persists one step's output (readable exports beside deduplicated step
artifacts), lists everything in the namespace, verifies every member, reloads
each artifact with ``verify=True``, and ends with a dry-run ``gc`` of the
store root (with the store's grace period).

``capsa demo --json`` prints the same as one JSON document whose
``inventory`` lists every artifact with its members (file, format, size,
sha256, object): run the demo on two stores and compare the inventories.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from capsa.store.manifest import Manifest
    from capsa.store.store import Store


class DemoArtifact(msgspec.Struct, frozen=True):
    """One artifact a plugin contributes to ``capsa demo``.

    :ivar key: key to save under (conventionally ``demo/<thing>``).
    :ivar kind: artifact kind name.
    :ivar make: builds the data to save (heavy imports belong inside).
    :ivar description: one line shown in the demo output.
    :ivar meta: metadata to save with it.
    :ivar by_reference: members to store as content-addressed objects
        (``save(..., by_reference=...)``): ``True`` for every file member, or
        a tuple of member file names.
    """

    key: str
    kind: str
    make: Callable[[], Any]
    description: str = ""
    meta: dict[str, Any] = msgspec.field(default_factory=dict)
    by_reference: bool | tuple[str, ...] = False


OUTPUTS_GROUP = "demo"
"""Group of the demo's step output: keys ``exports/demo`` and ``artifacts/demo``."""


def collect_demos() -> list[tuple[str, DemoArtifact]]:
    """Ask every plugin for its demo artifacts; a failing plugin is skipped with a warning."""
    from capsa.plugins.manager import CapsaPluginWarning, plugin_manager

    demos: list[tuple[str, DemoArtifact]] = []
    for impl in plugin_manager().hook.capsa_demo_artifacts.get_hookimpls():
        staged: list[DemoArtifact] = []
        try:
            impl.function(register=staged.append)
        except Exception as exc:
            warnings.warn(
                f"capsa plugin {impl.plugin_name!r} failed in capsa_demo_artifacts: {exc}",
                CapsaPluginWarning,
                stacklevel=2,
            )
            continue
        demos.extend((impl.plugin_name, d) for d in staged)
    demos.sort(key=lambda item: item[1].key)
    return demos


def _entry(
    key: str, manifest: Manifest, url: str, plugin: str, description: str, seconds: float
) -> dict[str, Any]:
    """One row of the demo's report; all but ``url`` and ``save_seconds`` go to the inventory."""
    members = [
        {
            "file": m.file,
            "format": m.format,
            "size": m.size,
            "sha256": m.sha256,
            "object": m.object if m.by_reference else None,
        }
        for m in manifest.members
    ]
    return {
        "key": key,
        "kind": manifest.kind,
        "plugin": plugin,
        "description": description,
        "url": url,
        "size": manifest.size,
        "members": members,
        "save_seconds": round(seconds, 6),
    }


def _step_output() -> Any:
    """What a pipeline step returns: a fitted scaler (an artifact) and two readable outputs."""
    from capsa.outputs import StepOutput

    scaler = {"mean": [0.25, -1.5, 3.0], "std": [1.0, 0.5, 2.0], "fitted_on": 1200}
    summary = "feature,mean,std\nx0,0.25,1.0\nx1,-1.5,0.5\nx2,3.0,2.0\n"
    report = "# demo step\n\nScaled 3 features fitted on 1200 rows.\n"
    return StepOutput(
        artifacts={"scaler": scaler},
        outputs=[(summary, "scaler_summary", "csv"), (report, "report", "md")],
    )


def _save_all(store: Store) -> list[dict[str, Any]]:
    """Save every contributed demo artifact, then the demo step's outputs."""
    from capsa.outputs import persist

    saved: list[dict[str, Any]] = []
    for plugin, demo in collect_demos():
        t0 = time.perf_counter()
        ref = store.save(
            demo.key,
            demo.kind,
            demo.make(),
            meta={"demo": True, **demo.meta},
            by_reference=demo.by_reference,
        )
        saved.append(
            _entry(
                demo.key, ref.manifest, ref.url, plugin, demo.description, time.perf_counter() - t0
            )
        )
    t0 = time.perf_counter()
    report = persist(store, _step_output(), group=OUTPUTS_GROUP, meta={"demo": True})
    elapsed = time.perf_counter() - t0
    for key, what in (
        (report.artifacts_key, "step artifacts, stored by reference"),
        (report.exports_key, "step outputs under readable names"),
    ):
        if key is not None:
            saved.append(
                _entry(key, store.manifest(key), store.url_for(key), "core-demo", what, elapsed)
            )
    saved.sort(key=lambda item: item["key"])
    return saved


def run_demo(store: Store, *, as_json: bool = False) -> int:
    """Run the demo against ``store``; return the exit code."""
    from capsa.cli import exitcodes
    from capsa.cli.render import emit_json, human_size, table

    saved = _save_all(store)
    listed = store.list()
    report = store.verify()
    reloaded: dict[str, list[str]] = {}
    for item in saved:
        artifact = store.load(item["key"], verify=True)
        reloaded[item["key"]] = sorted(artifact)
        for name in artifact:
            artifact[name]
    references = [m["object"] for i in saved for m in i["members"] if m["object"]]
    objects = {
        "references": len(references),
        "distinct": len(set(references)),
        "referenced_bytes": sum(
            m["size"] for i in saved for m in i["members"] if m["object"] is not None
        ),
    }
    debris = store.gc(dry_run=True)
    gc = {"debris": len(debris.objects), "bytes": debris.bytes, "recent": debris.kept_recent}
    if as_json:
        emit_json(
            {
                "store": store.url,
                "mode": store.mode,
                "namespace": store.namespace,
                "saved": [{**i, "members": [m["file"] for m in i["members"]]} for i in saved],
                "inventory": [
                    {k: i[k] for k in ("key", "kind", "plugin", "size", "members")} for i in saved
                ],
                "listed": [i.key for i in listed],
                "verify": report,
                "reloaded": reloaded,
                "objects": objects,
                "gc": gc,
            }
        )
    else:
        print(f"capsa demo: store {store.url} (mode {store.mode}, namespace {store.namespace!r})")
        rows = [
            [
                i["key"],
                i["kind"],
                i["plugin"],
                human_size(i["size"]),
                ", ".join(m["file"] + ("*" if m["object"] else "") for m in i["members"]),
            ]
            for i in saved
        ]
        print(table(rows, ["KEY", "KIND", "PLUGIN", "SIZE", "MEMBERS (* = by reference)"]))
        print(f"listed {len(listed)} artifact(s) in the namespace")
        status = "all intact" if report.ok else f"{len(report.problems)} problem(s)"
        print(
            f"verified {report.artifacts} artifact(s), {report.members} member(s), "
            f"{human_size(report.bytes)}: {status}"
        )
        print(f"reloaded {len(reloaded)} artifact(s) with verify=True")
        print(
            f"{objects['references']} member(s) stored by reference share "
            f"{objects['distinct']} content-addressed object(s) "
            f"({human_size(objects['referenced_bytes'])} referenced)"
        )
        print(
            f"gc (dry run): {gc['debris']} debris object(s) past the grace period, "
            f"{gc['recent']} younger one(s) left alone"
        )
        print("artifacts are at:")
        for item in saved:
            print(f"  {item['url']}")
    return exitcodes.OK if report.ok else exitcodes.PROBLEMS
