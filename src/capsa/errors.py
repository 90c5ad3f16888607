"""The exceptions capsa raises.

Every error subclasses :class:`CapsaError`, so ``except capsa.CapsaError``
catches anything capsa refuses. The specific classes also subclass the
builtin exception a Python user would expect (``FileExistsError``,
``KeyError``, ``ValueError`` ...), so existing ``except`` clauses keep working.
Every message names the thing at fault: the key, member, plugin or config key.
"""

from __future__ import annotations


class CapsaError(Exception):
    """Base class of every error capsa raises on purpose."""


class InvalidKeyError(CapsaError, ValueError):
    """A key or member name is malformed or would escape the store root."""


class ArtifactExistsError(CapsaError, FileExistsError):
    """The key already holds a committed artifact and the mode forbids overwriting.

    In ``production`` mode this is enforced with create-only writes, so of two
    racing writers exactly one succeeds and the other gets this error.
    """


class ArtifactNotFoundError(CapsaError, KeyError):
    """No committed artifact (no valid ``_SUCCESS`` marker) exists at the key."""

    def __str__(self) -> str:
        # KeyError quotes its argument; a readable message is more useful here.
        return str(self.args[0]) if self.args else ""


class MemberNotFoundError(CapsaError, KeyError):
    """An artifact has no member of the requested name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class IntegrityError(CapsaError):
    """Stored bytes do not match the manifest (size or sha256), or a marker is corrupt."""


class IncompatibleVersionError(CapsaError):
    """The artifact was written by a newer capsa or plugin than the one installed.

    Nothing is corrupt: upgrade the package the message names.
    """


class ValidationError(CapsaError, ValueError):
    """Data handed to ``save`` does not fit the artifact kind or the member format.

    Raised before anything is written.
    """


class ConfigError(CapsaError, ValueError):
    """A configuration value is missing, unknown or of the wrong type.

    The message names the file, the dotted key path and what was expected.
    """

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None):
        self.source = source
        self.key = key
        parts = []
        if source:
            parts.append(str(source))
        if key:
            parts.append(f"key {key!r}")
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ModeError(CapsaError, PermissionError):
    """The store's mode does not allow the operation (e.g. delete in production)."""


class UntrustedSourceError(CapsaError, PermissionError):
    """Loading this member would run code (pickle) and the caller did not pass ``trusted=True``."""


class PluginError(CapsaError):
    """Base class of plugin discovery and registration errors."""


class PluginLoadError(PluginError, ImportError):
    """A plugin failed to import or register (raised only when strict plugin loading is on)."""


class PluginConflictError(PluginError):
    """Two plugins registered the same format, kind, scheme, estimator or signal builder name."""


class UnknownNameError(PluginError, LookupError):
    """A format, kind, backend scheme, estimator or signal builder name is not registered.

    When a first-party plugin provides the name, the message gives the pip
    command that installs it.
    """


class UnknownFormatError(UnknownNameError):
    """No installed plugin provides a format of this name or extension."""


class UnknownKindError(UnknownNameError):
    """No installed plugin provides an artifact kind of this name."""


class UnknownBackendError(UnknownNameError):
    """No installed plugin provides a storage backend for this URL scheme."""


class UnknownEstimatorError(UnknownNameError):
    """No installed plugin provides a curvature estimator of this name."""


class UnknownSignalBuilderError(UnknownNameError):
    """No installed plugin provides a signal builder of this name."""


class ObjectExistsError(CapsaError, FileExistsError):
    """Backend level: a create-only put found the object already present."""


class ObjectNotFoundError(CapsaError, FileNotFoundError):
    """Backend level: the object does not exist."""


class TransientError(CapsaError):
    """A storage operation failed in a way that may succeed if retried.

    A timeout, a connection reset, a partial body, a 5xx answer. capsa's
    retry layer (:mod:`capsa.backends.retrying`) retries these with bounded,
    jittered backoff; when it gives up, it raises one whose message names the
    operation, the key and how many attempts were made. A failed *write* may
    still have been applied by the server: callers that must know read the
    object back (the retry layer does so for puts).
    """


class StorageTimeoutError(TransientError, TimeoutError):
    """A storage operation timed out: its outcome is unknown.

    A write that timed out may or may not have been applied. It is also a
    builtin :class:`TimeoutError`, so existing ``except TimeoutError`` clauses
    catch it.
    """


__all__ = [
    "ArtifactExistsError",
    "ArtifactNotFoundError",
    "CapsaError",
    "ConfigError",
    "IncompatibleVersionError",
    "IntegrityError",
    "InvalidKeyError",
    "MemberNotFoundError",
    "ModeError",
    "ObjectExistsError",
    "ObjectNotFoundError",
    "PluginConflictError",
    "PluginError",
    "PluginLoadError",
    "StorageTimeoutError",
    "TransientError",
    "UnknownBackendError",
    "UnknownEstimatorError",
    "UnknownFormatError",
    "UnknownKindError",
    "UnknownNameError",
    "UnknownSignalBuilderError",
    "UntrustedSourceError",
    "ValidationError",
]
