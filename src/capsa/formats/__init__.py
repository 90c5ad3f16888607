"""Formats: how a member value becomes bytes and back.

:class:`Format` is the extension point; the built-in formats (JSON, JSONL,
bytes, text and opt-in pickle) live in this package and are registered by the
``capsa.builtin.formats`` plugin through the same entry-point path as any
third-party format.
"""

from capsa.formats.base import BytesSource, Format, MemberSource, qualified_type_names

__all__ = ["BytesSource", "Format", "MemberSource", "qualified_type_names"]
