"""Catalog queries: filters on columns and fields, an order, a limit; and result rows.

A filter is ``NAME OP VALUE`` with ``OP`` one of ``= != < <= > >=``. ``NAME``
is a column every record has (:data:`COLUMNS`) or a field a kind declares
(``loss``, ``model`` ...); a column wins when both exist. On the command
line, a filter is one string (``"loss<0.5"``, ``status=success``); the value
is read as JSON when it parses as a number, ``true``/``false`` or a quoted
string, else taken as text.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from capsa.catalog.errors import QueryError
from capsa.catalog.records import Scalar

COLUMNS = (
    "key",
    "namespace",
    "kind",
    "kind_version",
    "created_at",
    "txid",
    "mode",
    "size",
    "fingerprint",
    "status",
)
"""Columns of every catalog row, in export order."""

OPERATORS = ("=", "!=", "<", "<=", ">", ">=")
"""Comparison operators of a filter."""

_FILTER = re.compile(
    r"^\s*(?P<name>[^=!<>\s][^=!<>]*?)\s*(?P<op>!=|<=|>=|=|<|>)\s*(?P<value>.*?)\s*$"
)


class Filter(msgspec.Struct, frozen=True):
    """One condition: ``name op value``.

    :ivar name: a column (:data:`COLUMNS`) or a declared field.
    :ivar op: one of :data:`OPERATORS`.
    :ivar value: a number, boolean or string (``None`` only with ``=``/``!=``:
        the field is absent / present).
    """

    name: str
    op: str
    value: Scalar | None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise QueryError(f"a filter needs a field name, got {self.name!r}")
        if self.op not in OPERATORS:
            raise QueryError(
                f"filter on {self.name!r}: unknown operator {self.op!r}; use one of "
                + " ".join(OPERATORS)
            )
        value = self.value
        if value is None:
            if self.op not in ("=", "!="):
                raise QueryError(f"filter on {self.name!r}: null only compares with = or !=")
        elif not isinstance(value, bool | int | float | str):
            raise QueryError(
                f"filter on {self.name!r}: value must be a number, boolean or string, "
                f"got {type(value).__name__}"
            )
        elif isinstance(value, float) and (value != value or abs(value) == float("inf")):
            raise QueryError(f"filter on {self.name!r}: value {value!r} is not a finite number")
        elif isinstance(value, bool) and self.op not in ("=", "!="):
            raise QueryError(f"filter on {self.name!r}: booleans only compare with = or !=")


def parse_value(text: str) -> Scalar | None:
    """Read a filter value: JSON number, ``true``/``false``/``null``, quoted string, else text."""
    stripped = text.strip()
    if stripped and (stripped[0] in '"-0123456789' or stripped in ("true", "false", "null")):
        try:
            value = msgspec.json.decode(stripped)
        except msgspec.DecodeError:
            return stripped
        if value is None or isinstance(value, bool | int | float | str):
            return value
    return stripped


def parse_filter(text: str | Filter) -> Filter:
    """Parse ``"name<op>value"`` (a :class:`Filter` is returned as is)."""
    if isinstance(text, Filter):
        return text
    if not isinstance(text, str):
        raise QueryError(f"expected a filter like 'loss<0.5', got {text!r}")
    match = _FILTER.match(text)
    if match is None:
        raise QueryError(
            f"cannot read the filter {text!r}: expected NAME OP VALUE with OP one of "
            + " ".join(OPERATORS)
            + " (e.g. 'loss<0.5', 'status=success')"
        )
    return Filter(match["name"], match["op"], parse_value(match["value"]))


def parse_where(where: Any) -> list[Filter]:
    """Filters from a mapping (``{"status": "success"}``: equality) or a sequence of filters."""
    if where is None:
        return []
    if isinstance(where, dict):
        return [Filter(str(name), "=", value) for name, value in where.items()]
    if isinstance(where, str | Filter):
        return [parse_filter(where)]
    try:
        items = list(where)
    except TypeError:
        raise QueryError(f"expected filters (a mapping or a list), got {where!r}") from None
    return [parse_filter(item) for item in items]


class CatalogRow(msgspec.Struct, kw_only=True):
    """One result row: the record's columns and its fields.

    :ivar key: the artifact key inside its namespace.
    :ivar namespace: its namespace.
    :ivar kind: its kind.
    :ivar kind_version: the kind's layout version.
    :ivar created_at: commit time.
    :ivar txid: transaction id.
    :ivar mode: store mode of the save.
    :ivar size: total member bytes.
    :ivar fingerprint: the fingerprint, if any.
    :ivar status: the status.
    :ivar fields: the declared scalar fields.
    """

    key: str
    namespace: str
    kind: str
    kind_version: int
    created_at: str
    txid: str
    mode: str
    size: int
    fingerprint: str | None
    status: str
    fields: dict[str, Scalar] = msgspec.field(default_factory=dict)

    def get(self, name: str) -> Any:
        """A column or field by name (None when absent)."""
        if name in COLUMNS:
            return getattr(self, name)
        return self.fields.get(name)

    def flat(self) -> dict[str, Any]:
        """Columns and fields in one mapping (columns win on a name clash)."""
        out: dict[str, Any] = {name: getattr(self, name) for name in COLUMNS}
        for name, value in self.fields.items():
            out.setdefault(name, value)
        return out


__all__ = [
    "COLUMNS",
    "OPERATORS",
    "CatalogRow",
    "Filter",
    "parse_filter",
    "parse_value",
    "parse_where",
]
