"""``open_store``: from a URL, a configured name, or the config default to a :class:`Store`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from capsa.config.loader import ResolvedConfig, load_config
from capsa.config.schema import StoreConfig
from capsa.errors import ConfigError
from capsa.plugins import manager
from capsa.plugins.registry import Registry
from capsa.store.store import Store


def _registry_for(resolved: ResolvedConfig) -> Registry:
    plugins = resolved.config.plugins
    if plugins.load is not None or plugins.strict:
        manager.ensure_plugins(allow=plugins.load, strict=plugins.strict or None)
    return manager.get_registry()


def effective_mode(
    resolved: ResolvedConfig, entry: StoreConfig | None, mode: str | None
) -> tuple[str, str]:
    """Return the mode a store opens in and where it comes from.

    Precedence: the argument, ``CAPSA_MODE``, the named store's ``mode``, the
    config's ``mode``, ``production``.
    """
    if mode is not None:
        origin = "argument"
    elif resolved.sources.get("mode", "").startswith("env:"):
        mode, origin = resolved.config.mode, resolved.sources["mode"]
    elif entry is not None and entry.mode is not None:
        mode, origin = entry.mode, "named store"
    else:
        mode, origin = resolved.config.mode, resolved.sources.get("mode", "default")
    if mode not in ("production", "development", "test"):
        raise ConfigError(f"expected production, development or test, got {mode!r}", key="mode")
    return mode, origin


def split_scheme(url: str) -> str:
    """Return the URL scheme, or ``""`` for a plain path."""
    if "://" in url:
        return url.split("://", 1)[0].lower()
    if url.startswith("file:"):
        return "file"
    return ""


def open_store(
    url: str | None = None,
    *,
    mode: str | None = None,
    session: str | None = None,
    test_name: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> Store:
    """Open a store.

    :param url: a path, a URL (``file://``, ``memory://name``, ``s3://bucket/prefix``
        when capsa-cloud is installed) or the name of a store in the config.
        Default: the config's ``store``, else ``./capsa-store``.
    :param mode: ``production`` (immutable), ``development`` (per-session
        namespace, overwrite allowed) or ``test`` (named, isolated namespace).
        Default: ``CAPSA_MODE``, the named store's mode, or the config's ``mode``.
    :param session: development session name (default: a timestamp).
    :param test_name: test namespace name (required in test mode).
    :param options: backend options, merged over the configured ones.
    :raises ConfigError: bad configuration, naming the file and key.
    :raises UnknownBackendError: no installed backend serves the URL scheme.
    """
    resolved = load_config()
    cfg = resolved.config
    target_url, entry, _origin = resolved.store_entry(url)
    mode, _mode_origin = effective_mode(resolved, entry, mode)
    registry = _registry_for(resolved)
    backend_cls = registry.backend(split_scheme(target_url))
    backend_options = {**(entry.options if entry is not None else {}), **dict(options or {})}
    backend = backend_cls.from_url(target_url, backend_options)
    return Store(
        backend,
        registry=registry,
        mode=mode,
        session=session or cfg.session,
        test_name=test_name or cfg.test_name,
        gc_grace_seconds=cfg.gc_grace_seconds,
    )
