"""Plugin discovery and the registry of everything plugins provide."""

from capsa.plugins.manager import (
    ENTRY_POINT_GROUP,
    PluginInfo,
    get_registry,
    list_plugins,
    plugin_manager,
    register_plugin,
    reset_plugins,
    unregister_plugin,
)
from capsa.plugins.registry import Registry

__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "Registry",
    "get_registry",
    "list_plugins",
    "plugin_manager",
    "register_plugin",
    "reset_plugins",
    "unregister_plugin",
]
