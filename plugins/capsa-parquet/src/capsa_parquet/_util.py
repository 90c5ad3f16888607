"""Shared helpers: option checking, typed read errors, opening members, schema summaries.

pyarrow is imported inside functions only.
"""

# mypy: disable-error-code="import-untyped"

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from capsa.errors import CapsaError, IntegrityError, ValidationError
from capsa.formats.base import qualified_type_names

if TYPE_CHECKING:
    from capsa.formats.base import MemberSource

Check = Callable[[Any], bool]
"""A predicate an option value must satisfy."""

SCHEMA_SUMMARY_MAX = 256
"""At most this many columns are listed by name and type in the manifest ``info``."""


def is_str_list(value: Any) -> bool:
    """True for a list or tuple of str."""
    return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)


def _is_filter(value: Any) -> bool:
    return (
        value is None
        or isinstance(value, list | tuple)
        or "pyarrow._compute.Expression" in qualified_type_names(value)
    )


def is_bool(value: Any) -> bool:
    """True for a bool."""
    return isinstance(value, bool)


def is_pos_int(value: Any) -> bool:
    """True for an int > 0 (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def is_str(value: Any) -> bool:
    """True for a str."""
    return isinstance(value, str)


def check_options(
    fmt: str, what: str, options: Mapping[str, Any], allowed: Mapping[str, tuple[Check, str]]
) -> None:
    """Raise :class:`ValidationError` for unknown options or values of the wrong kind.

    :param allowed: option name -> (predicate, what the value must be).
    """
    for name, value in options.items():
        spec = allowed.get(name)
        if spec is None:
            known = ", ".join(sorted(allowed)) or "none"
            raise ValidationError(
                f"format {fmt!r} has no {what} option {name!r}; its {what} options are: {known}"
            )
        check, expected = spec
        if not check(value):
            raise ValidationError(
                f"format {fmt!r} {what} option {name!r} must be {expected}, "
                f"got {type(value).__name__} {value!r}"
            )


@contextlib.contextmanager
def typed_errors(member: str, what: str) -> Iterator[None]:
    """Turn any failure to decode stored bytes into :class:`IntegrityError` naming ``member``.

    The bytes are untrusted: pyarrow raises ``ArrowInvalid``, ``ArrowIOError``
    (without an errno), ``OSError`` from the Thrift decoder, ``ValueError``,
    ``IndexError`` and more on malformed input. All of them mean "this member
    is not a readable ``what`` file"; the original exception is chained.
    Capsa errors pass through unchanged, and so do operating-system I/O
    errors that carry an ``errno`` (failures of the storage, not of the
    bytes) and ``MemoryError``.
    """
    try:
        yield
    except (CapsaError, MemoryError):
        raise
    except OSError as exc:
        if exc.errno is not None:
            raise
        raise IntegrityError(
            f"{what} member {member!r} is not a readable {what} file: {exc}"
        ) from exc
    except Exception as exc:
        raise IntegrityError(
            f"{what} member {member!r} is not a readable {what} file: {exc}"
        ) from exc


@contextlib.contextmanager
def open_member(source: MemberSource, *, memory_map: bool = False) -> Iterator[Any]:
    """Open ``source`` for pyarrow: a native file over its local path, else ``source.open()``.

    With a local path pyarrow reads natively (no Python call per read). The
    store's own checks still run: ``source.open()`` is called *after* the
    native open, so the size check against the manifest and the guard against
    an artifact overwritten since it was loaded both cover the file pyarrow
    reads.
    """
    import pyarrow as pa

    path = source.local_path()
    native = None
    if path is not None:
        try:
            native = pa.memory_map(str(path), "r") if memory_map else pa.OSFile(str(path), "r")
        except OSError:
            native = None  # missing, or not a file: source.open() raises the typed error
    if native is None:
        with source.open() as fh:
            yield fh
        return
    try:
        with source.open():
            pass
        if native.size() != source.size:
            raise IntegrityError(
                f"member {source.name!r} has {native.size()} bytes, the manifest says "
                f"{source.size} (truncated, or overwritten since the artifact was opened)"
            )
        yield native
    finally:
        native.close()


def type_name(t: Any) -> str:
    """Pyarrow's string form of a data type (``double``, ``timestamp[us, tz=UTC]``)."""
    return str(t)


def schema_info(table: Any) -> dict[str, Any]:
    """JSON-safe facts about a table for the manifest ``info``."""
    schema = table.schema
    fields = list(schema)
    info: dict[str, Any] = {
        "rows": int(table.num_rows),
        "columns": len(fields),
        "schema": [[f.name, type_name(f.type)] for f in fields[:SCHEMA_SUMMARY_MAX]],
    }
    if len(fields) > SCHEMA_SUMMARY_MAX:
        info["schema_truncated"] = True
    metadata = schema.metadata or {}
    if metadata:
        info["metadata_keys"] = sorted(k.decode("utf-8", "replace") for k in metadata)
    return info


def encode_schema(schema: Any) -> str:
    """Serialise an Arrow schema (with metadata) as base64 text for the manifest."""
    import base64

    return base64.b64encode(schema.serialize().to_pybytes()).decode("ascii")


def decode_schema(text: Any, member: str) -> Any:
    """Inverse of :func:`encode_schema`; a bad value is an :class:`IntegrityError`."""
    import pyarrow as pa

    if not isinstance(text, str):
        raise IntegrityError(f"member {member!r}: the recorded arrow schema is not text")
    try:
        import base64

        return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text, validate=True)))
    except Exception as exc:
        raise IntegrityError(
            f"member {member!r}: the recorded arrow schema does not decode: {exc}"
        ) from exc


def as_expression(filters: Any) -> Any:
    """Turn ``filters`` (DNF list of tuples, or an Expression) into a pyarrow Expression."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if isinstance(filters, pc.Expression):
        return filters
    if not isinstance(filters, list | tuple) or not filters:
        raise ValidationError(
            "filters must be a pyarrow.compute.Expression or a non-empty list of "
            "(column, op, value) tuples (or a list of such lists, OR-ed), "
            f"got {type(filters).__name__} {filters!r}"
        )
    try:
        return pq.filters_to_expression(list(filters))
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        raise ValidationError(f"filters {filters!r} are malformed: {exc}") from None


def check_projection(schema: Any, columns: Any, filters: Any) -> tuple[list[str] | None, Any]:
    """Check ``columns`` and ``filters`` against ``schema`` before any data is read.

    :return: ``(columns, expression)`` with the expression bound-checked by
        evaluating it on an empty table of the schema (unknown columns and
        type mismatches raise :class:`ValidationError` here, not as pyarrow
        errors mid-read).
    """
    names = list(schema.names)
    cols: list[str] | None = None
    if columns is not None:
        if not is_str_list(columns):
            raise ValidationError(
                f"columns must be a list of column names, got {type(columns).__name__} {columns!r}"
            )
        missing = [c for c in columns if c not in names]
        if missing:
            raise ValidationError(
                f"no column(s) {', '.join(map(repr, missing))}; the columns are "
                f"{', '.join(map(repr, names[:50]))}{' ...' if len(names) > 50 else ''}"
            )
        cols = list(columns)
    expr = None
    if filters is not None:
        expr = as_expression(filters)
        try:
            schema.empty_table().filter(expr)
        except Exception as exc:
            raise ValidationError(
                f"filters {filters!r} do not apply to this table: {exc}"
            ) from None
    return cols, expr


PROJECTION_OPTIONS: Mapping[str, tuple[Check, str]] = {
    "columns": (lambda v: v is None or is_str_list(v), "a list of column names"),
    "filters": (
        _is_filter,
        "a list of (column, op, value) tuples or a pyarrow.compute.Expression",
    ),
}
"""Read options every table format takes: column projection and row filters."""
