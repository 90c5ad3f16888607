"""capsa-npz: the ``npz`` format and the ``arrays`` artifact kind for capsa.

Arrays are stored as a ``.npz`` archive that plain ``numpy.load`` reads.
Uncompressed archives are streamed as ZIP64 with the CRC32 computed on a
worker thread concurrently with the write; reads are lazy per array.

Importing this package does not import numpy (nor the format's modules):
the public names below are resolved on first attribute access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

from capsa.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from capsa_npz.format import NpzFormat
    from capsa_npz.kind import ArraysKind
    from capsa_npz.reader import NpzArrays

__all__ = ["ArraysKind", "NpzArrays", "NpzFormat", "__version__"]

_LAZY = {
    "ArraysKind": "capsa_npz.kind",
    "NpzArrays": "capsa_npz.reader",
    "NpzFormat": "capsa_npz.format",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
