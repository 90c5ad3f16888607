"""Choosing how a step's value is written: by extension, by type, pickle only on request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from capsa.errors import UnknownFormatError, ValidationError

if TYPE_CHECKING:
    from capsa.formats.base import Format
    from capsa.plugins.registry import Registry

PREFERRED = ("json", "bytes", "text", "npz", "parquet")
"""Formats tried first, in this order, when a value's type picks the format."""


def _check(fmt: Format, value: Any, what: str) -> None:
    try:
        fmt.validate(value)
    except ValidationError as exc:
        raise ValidationError(f"{what}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{what}: {type(exc).__name__}: {exc}") from None


def artifact_format(
    registry: Registry, name: str, value: Any, *, allow_pickle: bool = False
) -> tuple[str, Format]:
    """``(file name, format)`` for a step artifact.

    A name whose extension a format owns uses that format (``"scaler.json"``).
    Otherwise the first format that writes the value's type, among
    :data:`PREFERRED` then every other installed single-file format, and the
    file is ``<name><its first extension>``. Pickle (code on load) only with
    ``allow_pickle``.
    """
    what = f"step artifact {name!r}"
    if "." in name.strip("."):
        try:
            fmt = registry.format_for_filename(name)
        except UnknownFormatError:
            fmt = None
        if fmt is not None:
            if fmt.requires_trust and not allow_pickle:
                raise ValidationError(
                    f"{what}: format {fmt.name!r} runs code when loaded; pass allow_pickle=True"
                )
            _check(fmt, value, what)
            return name, fmt
    candidates = [registry.format(n) for n in PREFERRED if n in registry.formats.entries]
    candidates += [
        entry.obj
        for entry in registry.formats
        if entry.name not in PREFERRED and entry.obj.extensions
    ]
    for fmt in candidates:
        if fmt.directory or fmt.requires_trust or not fmt.extensions:
            continue
        if fmt.accepts(value):
            _check(fmt, value, what)
            return f"{name}{fmt.extensions[0]}", fmt
    if allow_pickle:
        fmt = registry.format("pickle")
        return f"{name}{fmt.extensions[0]}", fmt
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    raise ValidationError(
        f"{what}: no installed format writes a {kind}; give the name an extension a "
        "format owns, or pass allow_pickle=True to pickle it (loading then needs trusted=True)"
    )


def output_format(registry: Registry, file: str, value: Any) -> Format:
    """The format of a human-readable output: bytes as is, text as UTF-8, else by extension."""
    what = f"output {file!r}"
    if isinstance(value, bytes | bytearray | memoryview):
        return registry.format("bytes")
    if isinstance(value, str):
        return registry.format("text")
    try:
        fmt = registry.format_for_filename(file)
    except UnknownFormatError:
        kind = f"{type(value).__module__}.{type(value).__qualname__}"
        raise ValidationError(
            f"{what}: no installed format owns its extension, so its data must be bytes or "
            f"text, got a {kind}"
        ) from None
    if fmt.requires_trust or fmt.directory:
        raise ValidationError(f"{what}: format {fmt.name!r} does not make a readable file")
    _check(fmt, value, what)
    return fmt


__all__ = ["PREFERRED", "artifact_format", "output_format"]
