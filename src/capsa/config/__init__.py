"""Configuration: ``capsa.toml``, ``[tool.capsa]`` in ``pyproject.toml``, ``CAPSA_*`` variables."""

from capsa.config.loader import ENV_VARS, ResolvedConfig, decode_config, load_config
from capsa.config.schema import DEFAULT_STORE_URL, CapsaConfig, Mode, PluginsConfig, StoreConfig

__all__ = [
    "DEFAULT_STORE_URL",
    "ENV_VARS",
    "CapsaConfig",
    "Mode",
    "PluginsConfig",
    "ResolvedConfig",
    "StoreConfig",
    "decode_config",
    "load_config",
]
