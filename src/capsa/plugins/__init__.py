"""Plugin discovery and the registry of everything plugins provide."""

from capsa.plugins.manager import (
    ENTRY_POINT_GROUP,
    PluginInfo,
    get_registry,
    plugin_manager,
    reset_plugins,
)
from capsa.plugins.registry import Registry

__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "Registry",
    "get_registry",
    "plugin_manager",
    "reset_plugins",
]
