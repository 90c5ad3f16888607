"""Discovering plugins through entry points and building the registry.

Discovery is lazy and cheap: nothing happens at ``import capsa``. The first
call to :func:`get_registry` reads the ``capsa`` entry-point group, imports
each plugin module (which must not import heavy libraries at module level),
registers it with pluggy, and calls each plugin's ``capsa_register_*`` hooks
one plugin at a time so that a broken plugin is reported and skipped without
taking the others down.

Environment:

``CAPSA_LOAD_PLUGINS=a,b``
    load only the named plugins (entry-point or distribution names); the
    core's built-in plugins always load. An empty value loads none but those.
``CAPSA_STRICT_PLUGINS=1``
    a plugin that fails to import or register raises
    :class:`~capsa.errors.PluginLoadError` instead of a warning.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import msgspec
import pluggy

from capsa import hookspecs
from capsa.errors import PluginLoadError
from capsa.markers import PROJECT_NAME
from capsa.plugins.discovery import FoundEntryPoint, find_entry_points
from capsa.plugins.registry import Registry

ENTRY_POINT_GROUP = PROJECT_NAME
"""The entry-point group plugins declare: ``[project.entry-points.capsa]``."""

CORE_DISTRIBUTION = "capsa"

_TRUE = {"1", "true", "yes", "on"}


class CapsaPluginWarning(UserWarning):
    """A plugin failed to load or register and was skipped."""


class PluginInfo(msgspec.Struct, kw_only=True):
    """What ``capsa plugins`` shows for one entry point.

    :ivar name: the entry-point name (the plugin's name inside pluggy).
    :ivar module: the object reference of the entry point (``"capsa_npz.plugin"``).
    :ivar distribution: the distribution that declares it.
    :ivar version: the distribution's version.
    :ivar status: ``"loaded"``, ``"failed"`` or ``"not allowed"`` (filtered
        out by the allowlist).
    :ivar error: the exception text when it failed.
    :ivar builtin: True for the core's own plugins.
    :ivar provides: family -> names the plugin registered.
    :ivar hooks: the other hooks it implements (events, demo).
    """

    name: str
    module: str
    distribution: str
    version: str
    status: str = "loaded"
    error: str | None = None
    builtin: bool = False
    provides: dict[str, list[str]] = msgspec.field(default_factory=dict)
    hooks: list[str] = msgspec.field(default_factory=list)


class _State:
    def __init__(self, pm: pluggy.PluginManager, registry: Registry, plugins: list[PluginInfo]):
        self.pm = pm
        self.registry = registry
        self.plugins = plugins


_lock = threading.RLock()
_state: _State | None = None
_in_process: dict[str, Any] = {}


def _strict(strict: bool | None) -> bool:
    if strict is not None:
        return strict
    return os.environ.get("CAPSA_STRICT_PLUGINS", "").strip().lower() in _TRUE


def _allowlist(allow: Iterable[str] | None) -> set[str] | None:
    if allow is not None:
        return {a.strip() for a in allow if a.strip()}
    raw = os.environ.get("CAPSA_LOAD_PLUGINS")
    if raw is None:
        return None
    return {a.strip() for a in raw.split(",") if a.strip()}


def _fail(info: PluginInfo, exc: BaseException, stage: str, strict: bool) -> None:
    info.status = "failed"
    info.error = f"{type(exc).__name__}: {exc}"
    where = f"capsa plugin {info.name!r} from distribution {info.distribution!r} {info.version}"
    if strict:
        raise PluginLoadError(
            f"{where} failed to {stage}: {info.error} (CAPSA_STRICT_PLUGINS is on)"
        ) from exc
    warnings.warn(
        f"{where} failed to {stage} and was skipped: {info.error}", CapsaPluginWarning, stacklevel=2
    )


def _entry_points() -> list[FoundEntryPoint]:
    return find_entry_points(ENTRY_POINT_GROUP)


def _build(*, allow: Iterable[str] | None, strict: bool | None) -> _State:
    strict_ = _strict(strict)
    allowed = _allowlist(allow)
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    registry = Registry()
    plugins: list[PluginInfo] = []
    by_name: dict[str, PluginInfo] = {}

    for ep in _entry_points():
        info = PluginInfo(
            name=ep.name,
            module=ep.value,
            distribution=ep.distribution,
            version=ep.version,
        )
        info.builtin = info.distribution == CORE_DISTRIBUTION
        plugins.append(info)
        if ep.name in by_name:
            _fail(
                info,
                RuntimeError(
                    f"entry point name {ep.name!r} is already used by "
                    f"{by_name[ep.name].distribution!r}"
                ),
                "load",
                strict_,
            )
            continue
        if (
            allowed is not None
            and not info.builtin
            and ep.name not in allowed
            and info.distribution not in allowed
        ):
            info.status = "not allowed"
            continue
        try:
            module = ep.load()
            pm.register(module, name=ep.name)
        except Exception as exc:
            _fail(info, exc, "import", strict_)
            continue
        by_name[ep.name] = info

    for name, plugin in _in_process.items():
        info = PluginInfo(
            name=name,
            # A module plugin is named by its module, an object by its class.
            module=getattr(plugin, "__name__", None) or type(plugin).__qualname__,
            distribution=f"(in-process) {name}",
            version="",
        )
        plugins.append(info)
        if name in by_name:
            _fail(info, RuntimeError(f"plugin name {name!r} is already taken"), "load", strict_)
            continue
        try:
            pm.register(plugin, name=name)
        except Exception as exc:
            _fail(info, exc, "register", strict_)
            continue
        by_name[name] = info

    families: list[tuple[str, Callable[[Any, str], None]]] = [
        ("capsa_register_formats", registry.add_format),
        ("capsa_register_artifact_kinds", registry.add_kind),
        ("capsa_register_backends", registry.add_backend),
        ("capsa_register_curvature_estimators", registry.add_estimator),
        ("capsa_register_signal_builders", registry.add_signal_builder),
    ]
    # Each plugin registers all or nothing: a plugin whose kinds hook fails
    # does not leave its formats behind.
    staged: dict[str, list[tuple[Callable[[Any, str], None], Any]]] = {}
    for hook_name, add in families:
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            info = by_name[impl.plugin_name]
            if info.status == "failed":
                continue
            objects: list[Any] = []
            try:
                impl.function(register=objects.append)
            except Exception as exc:
                _fail(info, exc, f"register ({hook_name})", strict_)
                staged.pop(impl.plugin_name, None)
                continue
            staged.setdefault(impl.plugin_name, []).extend((add, obj) for obj in objects)
    for plugin_name, items in staged.items():
        if by_name[plugin_name].status == "failed":
            continue
        for add, obj in items:
            add(obj, plugin_name)
    registry.distributions = {
        name: info.distribution
        for name, info in by_name.items()
        if not info.distribution.startswith("(in-process)")
    }
    registry.excluded = {info.distribution for info in plugins if info.status == "not allowed"}

    hook_names = {name for name, _ in families}
    for name, info in by_name.items():
        if info.status != "loaded":
            continue
        info.provides = registry.provided_by(name)
        plugin = pm.get_plugin(name)
        info.hooks = sorted(
            impl_name
            for impl_name in (h.name for h in pm.get_hookcallers(plugin) or [])
            if impl_name not in hook_names
        )
    return _State(pm=pm, registry=registry, plugins=plugins)


def _get_state() -> _State:
    global _state
    with _lock:
        if _state is None:
            _state = _build(allow=None, strict=None)
        return _state


def configure_plugins(*, allow: Iterable[str] | None = None, strict: bool | None = None) -> None:
    """Rebuild the registry with an explicit allowlist / strictness (from config)."""
    global _state
    with _lock:
        _state = _build(allow=allow, strict=strict)


def get_registry() -> Registry:
    """Return the process-wide registry, discovering plugins on first use."""
    return _get_state().registry


def plugin_manager() -> pluggy.PluginManager:
    """Return the pluggy manager (plugins registered, hooks callable)."""
    return _get_state().pm


def list_plugins() -> list[PluginInfo]:
    """Return every discovered entry point with its status and what it provides."""
    return list(_get_state().plugins)


def register_plugin(plugin: Any, name: str) -> None:
    """Register a plugin object (a module or instance with hookimpls) in this process.

    For notebooks, tests and applications that extend capsa without packaging
    an entry point. The registry is rebuilt on next use, with the plugin
    registered exactly like an entry-point plugin.
    """
    global _state
    with _lock:
        _in_process[name] = plugin
        _state = None


def unregister_plugin(name: str) -> None:
    """Remove a plugin added with :func:`register_plugin` (no error if absent)."""
    global _state
    with _lock:
        _in_process.pop(name, None)
        _state = None


def reset_plugins() -> None:
    """Forget the registry so the next use discovers plugins again (tests)."""
    global _state
    with _lock:
        _state = None


def fire_committed(event: Any) -> None:
    """Call every ``capsa_artifact_committed`` implementation, isolating failures."""
    pm = plugin_manager()
    for impl in pm.hook.capsa_artifact_committed.get_hookimpls():
        try:
            impl.function(event=event)
        except Exception as exc:
            warnings.warn(
                f"capsa plugin {impl.plugin_name!r} raised in capsa_artifact_committed "
                f"for {event.key!r}: {type(exc).__name__}: {exc}",
                CapsaPluginWarning,
                stacklevel=3,
            )


def ensure_plugins(*, allow: Iterable[str] | None, strict: bool | None) -> None:
    """Build the registry with config settings unless it exists; environment variables win."""
    global _state
    with _lock:
        if _state is not None:
            return
        env_allow = os.environ.get("CAPSA_LOAD_PLUGINS")
        env_strict = os.environ.get("CAPSA_STRICT_PLUGINS")
        _state = _build(
            allow=None if env_allow is not None else allow,
            strict=None if env_strict is not None else strict,
        )
