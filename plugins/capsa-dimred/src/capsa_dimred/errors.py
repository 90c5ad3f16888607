"""The errors capsa-dimred adds to :mod:`capsa.errors`.

Each subclasses a capsa error (so ``except capsa.CapsaError`` catches it)
and the builtin exception the seed's callers would have caught.
"""

from __future__ import annotations

from capsa.errors import (
    ArtifactNotFoundError,
    IntegrityError,
    StorageTimeoutError,
    ValidationError,
)


class InventoryNotFoundError(ArtifactNotFoundError, FileNotFoundError):
    """A runs inventory (``fit_runs.json`` ...) does not exist at the path given."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class InventoryFormatError(IntegrityError, ValueError):
    """A runs inventory is not a JSON list of objects (or its version chain is damaged)."""


class InventoryContentionError(StorageTimeoutError):
    """``update_runs`` could not win a version of the inventory before its timeout.

    Nothing was lost: the record was not written. Retrying is safe.
    """


class LegacyLayoutError(IntegrityError):
    """A directory is not a readable fit or eval layout (new, compact or legacy)."""


class WrongKindError(ValidationError):
    """The artifact at a path is a capsa artifact of another kind."""


__all__ = [
    "InventoryContentionError",
    "InventoryFormatError",
    "InventoryNotFoundError",
    "LegacyLayoutError",
    "WrongKindError",
]
