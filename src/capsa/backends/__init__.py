"""Storage backends: object-store shaped, chosen by URL scheme.

:class:`Backend` is the extension point. The built-in backends (a local
folder, ``file://``, and ``memory://``) are registered by the
``capsa.builtin.backends`` plugin through the same entry-point path as
third-party ones (``s3://`` from capsa-cloud ...).
"""

from capsa.backends.base import Backend, ObjectInfo, ObjectWriter, PutData, RangedReader

__all__ = ["Backend", "ObjectInfo", "ObjectWriter", "PutData", "RangedReader"]
