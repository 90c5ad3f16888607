"""The registry: every format, kind, backend, estimator and signal builder, by name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from capsa.errors import (
    PluginConflictError,
    UnknownBackendError,
    UnknownEstimatorError,
    UnknownFormatError,
    UnknownKindError,
    UnknownNameError,
    UnknownSignalBuilderError,
)
from capsa.plugins.known import install_hint

if TYPE_CHECKING:
    from capsa.backends.base import Backend
    from capsa.backends.wrapper import WrapperBackend
    from capsa.estimators import CurvatureEstimator, SignalBuilder
    from capsa.formats.base import Format
    from capsa.kinds.base import ArtifactKind

T = TypeVar("T")


class Entry(Generic[T]):
    """One registered object and the plugin that registered it."""

    __slots__ = ("name", "obj", "plugin")

    def __init__(self, name: str, obj: T, plugin: str):
        self.name = name
        self.obj = obj
        self.plugin = plugin


class Table(Generic[T]):
    """Name -> entries for one family; two entries under one name are a conflict."""

    def __init__(self, family: str, error: type[UnknownNameError], owner: Registry):
        self.family = family
        self.error = error
        self.owner = owner
        self.entries: dict[str, list[Entry[T]]] = {}

    def add(self, name: str, obj: T, plugin: str) -> None:
        """Record ``obj`` under ``name`` as registered by ``plugin``."""
        self.entries.setdefault(name, []).append(Entry(name, obj, plugin))

    def get(self, name: str) -> T:
        """Return the object named ``name``; unknown or conflicting names raise."""
        found = self.entries.get(name)
        if not found:
            known = ", ".join(n or "<path>" for n in sorted(self.entries)) or "none"
            raise self.error(
                f"no {self.family} named {name!r} is installed (installed: {known})."
                + self.owner.hint(self.family, name)
            )
        if len(found) > 1:
            plugins = " and ".join(self.owner.describe(e.plugin) for e in found)
            raise PluginConflictError(
                f"{self.family} {name!r} is registered by both {plugins}; "
                "uninstall one, or choose with CAPSA_LOAD_PLUGINS"
            )
        return found[0].obj

    def plugin_of(self, name: str) -> str:
        """Return the plugin that registered ``name`` (KeyError when unknown)."""
        return self.entries[name][0].plugin

    def names(self) -> list[str]:
        """Return the registered names, sorted."""
        return sorted(self.entries)

    def conflicts(self) -> dict[str, list[str]]:
        """Return every name registered by more than one plugin, with those plugins."""
        return {n: [e.plugin for e in es] for n, es in self.entries.items() if len(es) > 1}

    def __iter__(self) -> Iterator[Entry[T]]:
        for name in sorted(self.entries):
            yield from self.entries[name]


class Registry:
    """Lookups by name for the five families, with the providing plugin of each."""

    def __init__(self) -> None:
        self.formats: Table[Format] = Table("format", UnknownFormatError, self)
        self.extensions: Table[Format] = Table("format", UnknownFormatError, self)
        self.kinds: Table[ArtifactKind] = Table("kind", UnknownKindError, self)
        self.backends: Table[type[Backend]] = Table("backend", UnknownBackendError, self)
        self.backend_wrappers: Table[type[WrapperBackend]] = Table(
            "backend wrapper", UnknownBackendError, self
        )
        """Wrapper backends by name, used as ``<name>+<inner URL>`` (``faulty+memory://x``)."""
        self.estimators: Table[CurvatureEstimator] = Table("estimator", UnknownEstimatorError, self)
        self.signal_builders: Table[SignalBuilder] = Table(
            "signal builder", UnknownSignalBuilderError, self
        )
        self.distributions: dict[str, str] = {}
        """Plugin (entry-point) name -> distribution, filled by the plugin manager."""
        self.excluded: set[str] = set()
        """Distributions installed but left out by the allowlist."""

    def describe(self, plugin: str) -> str:
        """Name a plugin for messages: ``'capsa-npz' (entry point 'npz')``."""
        dist = self.distributions.get(plugin)
        if dist and dist != plugin:
            return f"{dist!r} (entry point {plugin!r})"
        return repr(plugin)

    def hint(self, family: str, name: str) -> str:
        """Advice for an unknown name: install it, or allow it when it is installed."""
        from capsa.plugins.known import FIRST_PARTY

        dist = FIRST_PARTY.get(family, {}).get(name)
        if dist is not None and dist in self.excluded:
            return (
                f" {dist} is installed but not loaded: add it to CAPSA_LOAD_PLUGINS "
                "or [plugins].load"
            )
        return install_hint(family, name)

    # -- registration (called by the plugin manager) -------------------------

    def add_format(self, fmt: Format, plugin: str) -> None:
        """Register a format and its extensions."""
        self.formats.add(fmt.name, fmt, plugin)
        for ext in fmt.extensions:
            self.extensions.add(ext.lower(), fmt, plugin)

    def add_kind(self, kind: ArtifactKind, plugin: str) -> None:
        """Register an artifact kind."""
        self.kinds.add(kind.name, kind, plugin)

    def add_backend(self, backend: type[Backend], plugin: str) -> None:
        """Register a backend class under each of its schemes.

        A :class:`~capsa.backends.wrapper.WrapperBackend` goes to
        :attr:`backend_wrappers` instead: its schemes are wrapper names.
        """
        from capsa.backends.wrapper import WrapperBackend

        if issubclass(backend, WrapperBackend):
            for name in backend.schemes:
                self.backend_wrappers.add(name, backend, plugin)
            return
        for scheme in backend.schemes:
            self.backends.add(scheme, backend, plugin)

    def add_estimator(self, estimator: CurvatureEstimator, plugin: str) -> None:
        """Register a curvature estimator."""
        self.estimators.add(estimator.name, estimator, plugin)

    def add_signal_builder(self, builder: SignalBuilder, plugin: str) -> None:
        """Register a signal builder."""
        self.signal_builders.add(builder.name, builder, plugin)

    # -- lookups ---------------------------------------------------------------

    def format(self, name: str) -> Format:
        """Return the format named ``name``."""
        return self.formats.get(name)

    def format_for_filename(self, filename: str) -> Format:
        """Return the format owning the longest matching extension of ``filename``."""
        lower = filename.lower()
        matches = [ext for ext in self.extensions.entries if lower.endswith(ext)]
        if not matches:
            suffix = "." + lower.rsplit(".", 1)[1] if "." in lower else ""
            raise UnknownFormatError(
                f"no installed format handles the file name {filename!r}"
                + (f" (extension {suffix!r})." if suffix else " (it has no extension).")
                + self.hint("format", suffix)
            )
        return self.extensions.get(max(matches, key=len))

    def kind(self, name: str) -> ArtifactKind:
        """Return the artifact kind named ``name``."""
        return self.kinds.get(name)

    def backend(self, scheme: str) -> type[Backend]:
        """Return the backend class for a URL scheme ("" for plain paths)."""
        return self.backends.get(scheme)

    def backend_wrapper(self, name: str) -> type[WrapperBackend]:
        """Return the wrapper backend class named ``name`` (the ``faulty`` of ``faulty+s3``)."""
        return self.backend_wrappers.get(name)

    def estimator(self, name: str) -> CurvatureEstimator:
        """Return the curvature estimator named ``name``."""
        return self.estimators.get(name)

    def signal_builder(self, name: str) -> SignalBuilder:
        """Return the signal builder named ``name``."""
        return self.signal_builders.get(name)

    def provided_by(self, plugin: str) -> dict[str, list[str]]:
        """Names each family got from ``plugin`` (for ``capsa plugins``)."""
        out: dict[str, list[str]] = {}
        tables: dict[str, Table[Any]] = {
            "formats": self.formats,
            "kinds": self.kinds,
            "backends": self.backends,
            "backend_wrappers": self.backend_wrappers,
            "estimators": self.estimators,
            "signal_builders": self.signal_builders,
        }
        for label, table in tables.items():
            out[label] = sorted({e.name or "<path>" for e in table if e.plugin == plugin})
        return out

    def conflicts(self) -> dict[str, dict[str, list[str]]]:
        """Every name registered more than once, per family."""
        tables: dict[str, Table[Any]] = {
            "formats": self.formats,
            "kinds": self.kinds,
            "backends": self.backends,
            "backend_wrappers": self.backend_wrappers,
            "estimators": self.estimators,
            "signal_builders": self.signal_builders,
        }
        return {label: c for label, t in tables.items() if (c := t.conflicts())}
