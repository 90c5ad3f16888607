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

    :ivar url: a local path, ``file://``, ``memory://name`` or a cloud URL.
    :ivar mode: the mode this store opens in unless overridden.
    :ivar options: backend options (region, endpoint, credentials profile ...).
    """

    url: str
    mode: Mode | None = None
    options: dict[str, Any] = msgspec.field(default_factory=dict)


class PluginsConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Plugin loading.

    :ivar load: allowlist of plugin (entry-point or distribution) names; None loads all.
    :ivar strict: a plugin that fails to load is an error instead of a warning.
    """

    load: list[str] | None = None
    strict: bool = False


class CapsaConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The whole configuration.

    :ivar store: the default store: a name from ``stores`` or a URL/path.
    :ivar mode: default mode.
    :ivar session: development-mode session name (default: a timestamp).
    :ivar test_name: test-mode namespace name.
    :ivar gc_grace_seconds: debris younger than this is left alone by ``gc``.
    :ivar stores: named stores.
    :ivar plugins: plugin loading.
    """

    store: str | None = None
    mode: Mode = "production"
    session: str | None = None
    test_name: str | None = None
    gc_grace_seconds: float = 3600.0
    stores: dict[str, StoreConfig] = msgspec.field(default_factory=dict)
    plugins: PluginsConfig = msgspec.field(default_factory=PluginsConfig)
