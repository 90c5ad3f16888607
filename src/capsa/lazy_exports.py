"""Public names that a package imports on first use (a module ``__getattr__``).

capsa's packages and plugins keep ``import capsa``/``import capsa_npz`` cheap
(plugin discovery imports them) by resolving their public names lazily::

    _LAZY = {"open_store": "capsa.api", "stable_fingerprint": ".fingerprint"}
    __getattr__, __dir__ = lazy_exports(__name__, _LAZY)

A value starting with ``.`` is relative to the package. Each name is imported
once and then cached in the package's namespace.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` resolving ``exports`` (name -> module) for ``package``."""
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__
