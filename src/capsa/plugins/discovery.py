"""Finding entry points of the ``capsa`` group quickly.

``importlib.metadata`` costs ~50 ms to import (it pulls in the email
package) before it reads anything. Discovery only needs the ``[capsa]``
section of each installed distribution's ``entry_points.txt`` plus its name
and version, so on ordinary installs (folders on ``sys.path`` holding
``*.dist-info``) capsa reads exactly those, in a few milliseconds. Anything
unusual (zipped or egg installs) falls back to ``importlib.metadata``.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable

import msgspec


class FoundEntryPoint(msgspec.Struct, frozen=True):
    """One ``capsa`` entry point of an installed distribution.

    :ivar name: the entry-point name.
    :ivar value: the object reference (``"package.module"`` or ``"package.module:attr"``).
    :ivar distribution: the distribution's project name.
    :ivar version: the distribution's version.
    """

    name: str
    value: str
    distribution: str
    version: str

    def load(self) -> object:
        """Import the module (and attribute) the entry point names."""
        module_name, _, attr = self.value.partition(":")
        obj: object = importlib.import_module(module_name.strip())
        for part in filter(None, attr.strip().split(".")):
            obj = getattr(obj, part)
        return obj


def _section(text: str, group: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            inside = line[1:-1].strip() == group
            continue
        if inside and "=" in line:
            name, value = line.split("=", 1)
            out.append((name.strip(), value.split("[", 1)[0].strip()))
    return out


def _name_version(dist_info: str) -> tuple[str, str]:
    name = version = ""
    metadata = "PKG-INFO" if dist_info.endswith(".egg-info") else "METADATA"
    try:
        with open(os.path.join(dist_info, metadata), encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    break
                if line.startswith("Name:"):
                    name = line[5:].strip()
                elif line.startswith("Version:"):
                    version = line[8:].strip()
                if name and version:
                    break
    except OSError:
        pass
    if not name:
        stem = os.path.basename(dist_info).rsplit(".", 1)[0]
        name, _, version = stem.partition("-")
    return name, version


def _scan(paths: Iterable[str], group: str) -> list[FoundEntryPoint] | None:
    found: list[FoundEntryPoint] = []
    seen: set[str] = set()
    for entry in paths:
        folder = entry or "."
        if not os.path.isdir(folder):
            if os.path.isfile(folder):
                return None  # a zip on sys.path: let importlib.metadata handle it
            continue
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for item in names:
            if item.endswith(".egg"):
                return None  # zipped egg: let importlib.metadata handle it
            if not item.endswith((".dist-info", ".egg-info")):
                continue
            dist_info = os.path.join(folder, item)
            try:
                with open(os.path.join(dist_info, "entry_points.txt"), encoding="utf-8") as fh:
                    text = fh.read()
            except OSError:
                continue
            if f"[{group}]" not in text:
                continue
            name, version = _name_version(dist_info)
            key = name.lower().replace("_", "-")
            if key in seen:  # the first on sys.path wins, as for imports
                continue
            seen.add(key)
            for ep_name, value in _section(text, group):
                found.append(FoundEntryPoint(ep_name, value, name, version))
    return found


def find_entry_points(group: str) -> list[FoundEntryPoint]:
    """Return the entry points of ``group`` of every installed distribution, sorted by name."""
    found = _scan(sys.path, group)
    if found is None:
        from importlib.metadata import entry_points

        found = [
            FoundEntryPoint(
                ep.name,
                ep.value,
                ep.dist.name if ep.dist else "?",
                ep.dist.version if ep.dist else "?",
            )
            for ep in entry_points(group=group)
        ]
    return sorted(found, key=lambda ep: (ep.name, ep.distribution))
