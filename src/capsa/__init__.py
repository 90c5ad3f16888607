"""capsa: a plugin-based artifact store for experiment outputs.

Save arrays, tables, metadata, models and traces as typed, multi-file
artifacts with atomic commits and verified reads, on a local folder or an
object store::

    import capsa

    store = capsa.open_store("./capsa-store")
    ref = store.save("exp1/metrics", "json", {"loss": 0.12})
    art = store.load("exp1/metrics", verify=True)
    art["data"]  # {'loss': 0.12}

Importing capsa is cheap: plugins are discovered on first use, and no heavy
library (numpy, pyarrow, zarr) is imported until a plugin needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from capsa.errors import (
    ArtifactExistsError,
    ArtifactNotFoundError,
    CapsaError,
    ConfigError,
    IncompatibleVersionError,
    IntegrityError,
    InvalidKeyError,
    MemberNotFoundError,
    ModeError,
    PluginConflictError,
    PluginLoadError,
    StorageTimeoutError,
    TransientError,
    UnknownBackendError,
    UnknownFormatError,
    UnknownKindError,
    UnknownNameError,
    UntrustedSourceError,
    ValidationError,
)
from capsa.markers import hookimpl

__version__ = "0.1.0"

from capsa.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from capsa.api import open_store
    from capsa.backends.base import Backend
    from capsa.catalog.open import open_catalog
    from capsa.formats.base import Format
    from capsa.kinds.base import ArtifactKind, MemberSpec, typed_kind
    from capsa.layout import Layout
    from capsa.objects.bundle import export_bundle, import_bundle
    from capsa.outputs.persister import Persister
    from capsa.outputs.step import StepOutput
    from capsa.store.artifact import Artifact, ArtifactRef
    from capsa.store.store import Store

_LAZY = {
    "open_store": "capsa.api",
    "Store": "capsa.store.store",
    "Artifact": "capsa.store.artifact",
    "ArtifactRef": "capsa.store.artifact",
    "Format": "capsa.formats.base",
    "ArtifactKind": "capsa.kinds.base",
    "MemberSpec": "capsa.kinds.base",
    "Backend": "capsa.backends.base",
    "Layout": "capsa.layout",
    "typed_kind": "capsa.kinds.base",
    "open_catalog": "capsa.catalog.open",
    "export_bundle": "capsa.objects.bundle",
    "import_bundle": "capsa.objects.bundle",
    "Persister": "capsa.outputs.persister",
    "StepOutput": "capsa.outputs.step",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "Artifact",
    "ArtifactExistsError",
    "ArtifactKind",
    "ArtifactNotFoundError",
    "ArtifactRef",
    "Backend",
    "CapsaError",
    "ConfigError",
    "Format",
    "IncompatibleVersionError",
    "IntegrityError",
    "InvalidKeyError",
    "Layout",
    "MemberNotFoundError",
    "MemberSpec",
    "ModeError",
    "Persister",
    "PluginConflictError",
    "PluginLoadError",
    "StepOutput",
    "StorageTimeoutError",
    "Store",
    "TransientError",
    "UnknownBackendError",
    "UnknownFormatError",
    "UnknownKindError",
    "UnknownNameError",
    "UntrustedSourceError",
    "ValidationError",
    "__version__",
    "export_bundle",
    "hookimpl",
    "import_bundle",
    "open_catalog",
    "open_store",
    "typed_kind",
]
