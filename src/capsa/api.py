"""``open_store``: from a URL, a configured name, or the config default to a :class:`Store`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from capsa.config.loader import ResolvedConfig, load_config
from capsa.config.schema import StoreConfig
from capsa.errors import ConfigError, UnknownBackendError
from capsa.plugins import manager
from capsa.plugins.registry import Registry
from capsa.store.store import Store

if TYPE_CHECKING:
    from capsa.backends.base import Backend


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


def open_backend(url: str, options: Mapping[str, Any], registry: Registry) -> Backend:
    """Open the backend a store URL names, with its wrappers and, when needed, retries.

    ``<wrapper>+<url>`` (``faulty+memory://x``) opens the backend of ``<url>``
    and wraps it in the registered wrapper (:mod:`capsa.backends.wrapper`);
    a scheme registered as a whole (even one holding a ``+``) wins. A backend
    whose operations can fail transiently and that does not retry internally
    is then wrapped in a :class:`~capsa.backends.retrying.RetryingBackend`.

    :raises UnknownBackendError: no installed backend or wrapper for a scheme.
    :raises ConfigError: a bad backend, wrapper or retry option.
    """
    from capsa.backends.retrying import with_retries

    try:
        backend = _open_unretried(url, options, registry)
    except UnknownBackendError as exc:
        if "+" not in split_scheme(url):
            raise
        raise UnknownBackendError(f"cannot open {url!r}: {exc}") from None
    return with_retries(backend, options)


def _open_unretried(url: str, options: Mapping[str, Any], registry: Registry) -> Backend:
    scheme = split_scheme(url)
    if "+" in scheme and scheme not in registry.backends.entries:
        name = scheme.split("+", 1)[0]
        wrapper = registry.backend_wrapper(name)
        inner_options = {k: v for k, v in options.items() if k not in wrapper.option_names}
        inner = _open_unretried(url[len(name) + 1 :], inner_options, registry)
        return wrapper.wrap(inner, options)
    if scheme not in registry.backends.entries and scheme in registry.backend_wrappers.entries:
        return registry.backend_wrapper(scheme).from_url(url, options)  # explains the + form
    return registry.backend(scheme).from_url(url, options)


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
        when capsa-cloud is installed, ``faulty+memory://name`` to inject
        failures) or the name of a store in the config.
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
    backend_options = {**(entry.options if entry is not None else {}), **dict(options or {})}
    backend = open_backend(target_url, backend_options, registry)
    return Store(
        backend,
        registry=registry,
        mode=mode,
        session=session or cfg.session,
        test_name=test_name or cfg.test_name,
        gc_grace_seconds=cfg.gc_grace_seconds,
    )
