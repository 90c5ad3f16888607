"""The pluggy markers of the ``capsa`` project.

Plugins decorate their hook implementations with :data:`hookimpl`::

    from capsa import hookimpl

    @hookimpl
    def capsa_register_formats(register):
        register(MyFormat())
"""

from __future__ import annotations

import pluggy

PROJECT_NAME = "capsa"
"""The pluggy project name; also the entry-point group plugins declare."""

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marker for hook specifications (used by :mod:`capsa.hookspecs` only)."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marker plugins put on their hook implementations."""
