"""``capsa demo``: the main job in miniature.

Saves one artifact per contributed demo (the core's own plus one from every
plugin implementing ``capsa_demo_artifacts``), lists them, verifies every
member, reloads each one, and prints where they are.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from capsa.store.store import Store


class DemoArtifact(msgspec.Struct, frozen=True):
    """One artifact a plugin contributes to ``capsa demo``.

    :ivar key: key to save under (conventionally ``demo/<thing>``).
    :ivar kind: artifact kind name.
    :ivar make: builds the data to save (heavy imports belong inside).
    :ivar description: one line shown in the demo output.
    :ivar meta: metadata to save with it.
    """

    key: str
    kind: str
    make: Callable[[], Any]
    description: str = ""
    meta: dict[str, Any] = msgspec.field(default_factory=dict)


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


def run_demo(store: Store, *, as_json: bool = False) -> int:
    """Run the demo against ``store``; return the exit code."""
    from capsa.cli import exitcodes
    from capsa.cli.render import emit_json, human_size, table

    saved: list[dict[str, Any]] = []
    for plugin, demo in collect_demos():
        t0 = time.perf_counter()
        ref = store.save(demo.key, demo.kind, demo.make(), meta={"demo": True, **demo.meta})
        elapsed = time.perf_counter() - t0
        saved.append(
            {
                "key": demo.key,
                "kind": demo.kind,
                "plugin": plugin,
                "description": demo.description,
                "url": ref.url,
                "size": ref.manifest.size,
                "members": [m.file for m in ref.manifest.members],
                "save_seconds": round(elapsed, 6),
            }
        )
    listed = store.list("demo/")
    report = store.verify()
    reloaded: dict[str, list[str]] = {}
    for item in saved:
        artifact = store.load(item["key"], verify=True)
        reloaded[item["key"]] = sorted(artifact)
        for name in artifact:
            artifact[name]
    if as_json:
        emit_json(
            {
                "store": store.url,
                "mode": store.mode,
                "namespace": store.namespace,
                "saved": saved,
                "listed": [i.key for i in listed],
                "verify": report,
                "reloaded": reloaded,
            }
        )
    else:
        print(f"capsa demo: store {store.url} (mode {store.mode}, namespace {store.namespace!r})")
        rows = [
            [i["key"], i["kind"], i["plugin"], human_size(i["size"]), ", ".join(i["members"])]
            for i in saved
        ]
        print(table(rows, ["KEY", "KIND", "PLUGIN", "SIZE", "MEMBERS"]))
        print(f"listed {len(listed)} demo artifact(s) in the namespace")
        status = "all intact" if report.ok else f"{len(report.problems)} problem(s)"
        print(
            f"verified {report.artifacts} artifact(s), {report.members} member(s), "
            f"{human_size(report.bytes)}: {status}"
        )
        print(f"reloaded {len(reloaded)} artifact(s) with verify=True")
        print("artifacts are at:")
        for item in saved:
            print(f"  {item['url']}")
    return exitcodes.OK if report.ok else exitcodes.PROBLEMS
