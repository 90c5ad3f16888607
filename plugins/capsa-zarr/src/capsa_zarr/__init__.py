"""capsa-zarr: Zarr v3 arrays and groups as capsa artifact members.

* the ``zarr`` format (:class:`ZarrFormat`): a numpy array, or a dict of
  arrays, as a Zarr v3 directory member, read back lazily chunk by chunk;
* the ``zarr.array`` kind (:class:`ZarrArrayKind`);
* :class:`ZarrAppender`: grow arrays along axis 0 inside a transaction, with
  bounded memory;
* :class:`CapsaZarrStore`: the zarr store adapter over capsa's directory
  members, which makes zarr work on every capsa backend.

Importing this package imports neither zarr nor numpy: the public names
below are resolved on first attribute access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

from capsa.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from capsa_zarr.appender import GrowingArray, ZarrAppender
    from capsa_zarr.format import ZarrFormat
    from capsa_zarr.kind import ZarrArrayKind
    from capsa_zarr.store import CapsaZarrStore
    from capsa_zarr.zarrio import CheckedArray, CheckedGroup

__all__ = [
    "CapsaZarrStore",
    "CheckedArray",
    "CheckedGroup",
    "GrowingArray",
    "ZarrAppender",
    "ZarrArrayKind",
    "ZarrFormat",
    "__version__",
]

_LAZY = {
    "CapsaZarrStore": "capsa_zarr.store",
    "CheckedArray": "capsa_zarr.zarrio",
    "CheckedGroup": "capsa_zarr.zarrio",
    "GrowingArray": "capsa_zarr.appender",
    "ZarrAppender": "capsa_zarr.appender",
    "ZarrArrayKind": "capsa_zarr.kind",
    "ZarrFormat": "capsa_zarr.format",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
