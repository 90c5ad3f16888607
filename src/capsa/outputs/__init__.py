"""Outputs and artifacts kept apart, and steps that return instead of saving (seed 003).

* :class:`StepOutput` is what a step returns: ``artifacts`` (models,
  transformers) and ``outputs`` (charts, reports as ``(data, name, ext)``).
* :class:`Persister` writes them: outputs under readable names in
  ``exports/<group>/``, artifacts by reference into content-addressed
  storage (:mod:`capsa.objects`), each half behind its flag
  (``save_artifacts``, ``save_outputs``); both off writes nothing.

See ``docs/artifacts-and-outputs.md``. Names are imported on first use (the
built-in kinds plugin imports :mod:`capsa.outputs.kinds` at discovery).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from capsa.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from capsa.outputs.kinds import EXPORTS_KIND, STEP_ARTIFACTS_KIND
    from capsa.outputs.persister import (
        ARTIFACTS_PREFIX,
        EXPORTS_PREFIX,
        Persister,
        PersistReport,
        StoredObject,
        persist,
    )
    from capsa.outputs.step import StepOutput

_LAZY = {
    "EXPORTS_KIND": "capsa.outputs.kinds",
    "STEP_ARTIFACTS_KIND": "capsa.outputs.kinds",
    "ARTIFACTS_PREFIX": "capsa.outputs.persister",
    "EXPORTS_PREFIX": "capsa.outputs.persister",
    "PersistReport": "capsa.outputs.persister",
    "Persister": "capsa.outputs.persister",
    "StoredObject": "capsa.outputs.persister",
    "persist": "capsa.outputs.persister",
    "StepOutput": "capsa.outputs.step",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "ARTIFACTS_PREFIX",
    "EXPORTS_KIND",
    "EXPORTS_PREFIX",
    "STEP_ARTIFACTS_KIND",
    "PersistReport",
    "Persister",
    "StepOutput",
    "StoredObject",
    "persist",
]
