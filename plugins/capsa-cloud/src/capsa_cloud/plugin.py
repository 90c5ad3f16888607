"""capsa hook implementations of capsa-cloud (entry point ``cloud``).

Importing this module imports neither obstore nor the backend module; the
backends are registered as classes and import obstore when a store opens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from capsa.markers import hookimpl

if TYPE_CHECKING:
    from capsa.backends.base import Backend


@hookimpl
def capsa_register_backends(register: Callable[[type[Backend]], None]) -> None:
    """Register the ``s3://``, ``gs://`` and ``az://`` backends."""
    from capsa_cloud.backend import AzureBackend, GCSBackend, S3Backend

    register(S3Backend)
    register(GCSBackend)
    register(AzureBackend)
