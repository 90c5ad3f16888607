"""capsa hook implementations of the capsa-npz plugin (entry point ``npz``).

Importing this module does not import numpy; the format imports it only
when it writes or reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from capsa.markers import hookimpl

if TYPE_CHECKING:
    from capsa.formats.base import Format
    from capsa.kinds.base import ArtifactKind


@hookimpl
def capsa_register_formats(register: Callable[[Format], None]) -> None:
    """Register the ``npz`` format."""
    from capsa_npz.format import NpzFormat

    register(NpzFormat())


@hookimpl
def capsa_register_artifact_kinds(register: Callable[[ArtifactKind], None]) -> None:
    """Register the ``arrays`` artifact kind."""
    from capsa_npz.kind import ArraysKind

    register(ArraysKind())
