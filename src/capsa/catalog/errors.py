"""The errors and warnings of the catalog."""

from __future__ import annotations

from capsa.errors import CapsaError


class CatalogError(CapsaError):
    """The catalog cannot be read or written (a corrupt database, a bad record ...).

    The catalog is derived data: ``capsa reindex`` rebuilds it from the
    ``_SUCCESS`` manifests.
    """


class QueryError(CatalogError, ValueError):
    """A catalog query is malformed: an unknown operator, a bad value or order."""


class ParquetUnavailableError(CatalogError, ImportError):
    """Parquet export needs pyarrow, which is not installed."""


class CatalogWarning(UserWarning):
    """The catalog could not record a commit; the save itself succeeded.

    Run ``capsa reindex`` to bring the catalog up to date.
    """


__all__ = ["CatalogError", "CatalogWarning", "ParquetUnavailableError", "QueryError"]
