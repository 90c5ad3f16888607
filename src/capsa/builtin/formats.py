"""Built-in formats: JSON, JSONL, bytes, text, folder, and opt-in pickle."""

from __future__ import annotations

from collections.abc import Callable

from capsa.formats.base import Format
from capsa.formats.folder import FolderFormat
from capsa.formats.json import JsonFormat
from capsa.formats.jsonl import JsonlFormat
from capsa.formats.pickle import PickleFormat
from capsa.formats.raw import BytesFormat, TextFormat
from capsa.markers import hookimpl


@hookimpl
def capsa_register_formats(register: Callable[[Format], None]) -> None:
    """Register the core formats."""
    for fmt in (
        JsonFormat(),
        JsonlFormat(),
        BytesFormat(),
        TextFormat(),
        FolderFormat(),
        PickleFormat(),
    ):
        register(fmt)
