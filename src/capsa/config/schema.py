"""The configuration schema, as msgspec Structs.

The same table is read from ``capsa.toml`` (top level) or from
``[tool.capsa]`` in ``pyproject.toml``::

    store = "local"            # a name from [stores], or a URL / path
    mode = "production"        # production | development | test

    [stores.local]
    url = "./capsa-store"

    [stores.lab]
    url = "s3://lab-bucket/capsa"
    options = { region = "eu-west-1" }

    [plugins]
    load = ["capsa-npz"]       # allowlist; omit to load every installed plugin
    strict = false
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

Mode = Literal["production", "development", "test"]
"""The three store modes."""

MODES: tuple[str, ...] = ("production", "development", "test")

DEFAULT_STORE_URL = "./capsa-store"
"""Where a store opens when nothing is configured."""


class StoreConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One named store.

    :ivar url: a local path, ``file://``, ``memory://name`` or a URL of another
        scheme a plugin serves (``s3://`` ...); relative paths are relative to
        the config file's folder.
    :ivar mode: the mode this store opens in unless overridden (absent: the
        top-level ``mode``).
    :ivar options: backend options passed to the backend's ``from_url``
        (region, endpoint, credentials profile ...; see the backend's docs).
    """

    url: str
    mode: Mode | None = None
    options: dict[str, Any] = msgspec.field(default_factory=dict)


class PluginsConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Plugin loading.

    :ivar load: allowlist of plugin names (entry-point names such as ``npz``, or
        distribution names such as ``capsa-npz``); absent loads every installed
        plugin. The core's built-in plugins always load.
    :ivar strict: a plugin that fails to import or register raises
        ``PluginLoadError`` instead of a warning.
    """

    load: list[str] | None = None
    strict: bool = False


class CapsaConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The whole configuration.

    :ivar store: the default store: a name from ``stores``, or a URL or path
        (absent: ``./capsa-store``).
    :ivar mode: the default mode: ``production`` (keys written once),
        ``development`` (a session namespace) or ``test`` (a named namespace).
    :ivar session: the development session, i.e. the namespace
        ``dev/<session>/`` (absent: the local time, ``YYYYmmdd_HHMMSS``).
    :ivar test_name: the test namespace ``tests/<test_name>/``; required in
        test mode.
    :ivar gc_grace_seconds: ``gc`` leaves alone debris and objects modified
        less than this many seconds ago.
    :ivar stores: named stores, ``[stores.<name>]``.
    :ivar plugins: plugin loading, ``[plugins]``.
    """

    store: str | None = None
    mode: Mode = "production"
    session: str | None = None
    test_name: str | None = None
    gc_grace_seconds: float = 3600.0
    stores: dict[str, StoreConfig] = msgspec.field(default_factory=dict)
    plugins: PluginsConfig = msgspec.field(default_factory=PluginsConfig)
