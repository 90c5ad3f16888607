"""Experiment configs: msgspec Structs decoded from TOML, with errors that name file and key.

An experiment config is any msgspec ``Struct`` (tagged unions where a choice
of variant exists, validation in ``__post_init__``)::

    class Ridge(msgspec.Struct, tag="ridge", forbid_unknown_fields=True):
        alpha: float = 1.0

    class Lasso(msgspec.Struct, tag="lasso", forbid_unknown_fields=True):
        alpha: float = 0.1

    class TrainConfig(msgspec.Struct, forbid_unknown_fields=True):
        model: Ridge | Lasso
        epochs: int = 10

        def __post_init__(self) -> None:
            if self.epochs < 1:
                raise ConfigError("must be at least 1", key="epochs")

:func:`load_config_file` reads a TOML file into such a type. Every problem
becomes a :class:`~capsa.errors.ConfigError` (a ``ValueError``) whose message
starts with the file and the dotted key path (``train.toml: key
'model.alpha': Expected `float`, got `str```), including the errors that
``__post_init__`` raises (msgspec reports them at the Struct's path). The
key-path translation is the one the core config loader uses
(:mod:`capsa.config.loader`); allowed values of ``Literal`` and ``Enum``
fields are listed from the config type itself.

Structs should set ``forbid_unknown_fields=True``: otherwise a misspelt key
in a file is silently ignored (sweep override paths are checked against the
type either way).
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from capsa.config.loader import _PATH_RE, _join, _read_toml
from capsa.errors import ConfigError
from capsa.experiments.fingerprint import FingerprintError, canonical_payload
from capsa.experiments.paths import literal_choices

T = TypeVar("T")

_UNKNOWN = re.compile(r"unknown field `([^`]+)`")
_INNER_KEY = re.compile(r"^key '(?P<key>[^']+)': (?P<message>.*)$", re.DOTALL)


def dotted_key(msgspec_path: str) -> str:
    """Turn msgspec's ``$.a.b[0]`` (or ``.a.b[0]``) into the dotted key ``a.b.0``."""
    path = msgspec_path[1:] if msgspec_path.startswith("$") else msgspec_path
    return path.lstrip(".").replace("[", ".").replace("]", "")


def config_error(
    exc: msgspec.ValidationError, *, config_type: Any, source: str, prefix: str = ""
) -> ConfigError:
    """Translate msgspec's validation error into a :class:`ConfigError` naming file and key."""
    text = str(exc)
    match = _PATH_RE.search(text)
    path = match.group("path") if match else ""
    message = _PATH_RE.sub("", text).strip(" -")
    unknown = _UNKNOWN.search(text)
    if unknown:
        path = f"{path}.{unknown.group(1)}"
        message = "unknown key (check the spelling)"
    dotted = dotted_key(path)
    inner = _INNER_KEY.match(message)
    if inner:  # a ConfigError(key=...) raised in __post_init__: its key is relative
        dotted = _join(dotted, inner.group("key"))
        message = inner.group("message")
    if dotted and "enum" in message:
        choices = literal_choices(config_type, tuple(dotted.split(".")))
        if choices:
            message = f"{message}; expected one of {', '.join(map(repr, choices))}"
    full = _join(prefix, dotted)
    return ConfigError(message, source=source, key=full or None)


def config_from_table(
    table: Mapping[str, Any] | Any, config_type: type[T], *, source: str, prefix: str = ""
) -> T:
    """Decode a table (from TOML, JSON or Python) into ``config_type``.

    :param source: what to name in errors (usually the file path).
    :param prefix: dotted key of the table inside its file (``"experiments.a.sweep"``).
    :raises ConfigError: naming ``source`` and the dotted key.
    """
    try:
        return msgspec.convert(table, config_type, strict=True)
    except msgspec.ValidationError as exc:
        raise config_error(exc, config_type=config_type, source=source, prefix=prefix) from None


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a TOML file; a missing file or bad TOML is a :class:`ConfigError` naming it."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError("the file does not exist", source=str(file))
    return _read_toml(file)


def load_config_file(
    path: str | os.PathLike[str], config_type: type[T], *, table: str | None = None
) -> T:
    """Read a TOML file into ``config_type``.

    :param table: a dotted key to decode instead of the whole file
        (``table="experiment"`` decodes ``[experiment]``).
    :raises ConfigError: the file is missing, is not TOML, lacks ``table``, or
        does not decode; the message names the file and the dotted key.
    """
    data: Any = read_toml(path)
    if table:
        for i, part in enumerate(table.split(".")):
            if not isinstance(data, dict) or part not in data:
                where = ".".join(table.split(".")[: i + 1])
                raise ConfigError("table not found", source=str(path), key=where)
            data = data[part]
    return config_from_table(data, config_type, source=str(path), prefix=table or "")


def serialise_config(value: Any) -> dict[str, Any]:
    """Return a config as the canonical JSON-like mapping used for manifests and fingerprints.

    (Seed 002's name.) Structs become mappings of their encoded field names,
    tagged unions keep their tag; values without a canonical JSON form raise
    a :class:`ConfigError` naming their path.
    """
    try:
        tree = canonical_payload(value)
    except FingerprintError as exc:
        raise ConfigError(str(exc), key=exc.path) from None
    if not isinstance(tree, dict):
        raise ConfigError(f"a config must be a table (a Struct or a mapping), got {tree!r}")
    return tree


def import_object(ref: object, *, source: str, key: str) -> Any:
    """Import ``"package.module:attribute"``; a bad reference is a :class:`ConfigError`."""
    if not isinstance(ref, str) or ref.count(":") != 1:
        raise ConfigError(f"expected 'package.module:name', got {ref!r}", source=source, key=key)
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot import {module_name!r}: {exc}", source=source, key=key) from None
    obj = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(
                f"module {module_name!r} has no attribute {attr!r}", source=source, key=key
            ) from None
    return obj


__all__ = [
    "config_error",
    "config_from_table",
    "dotted_key",
    "import_object",
    "load_config_file",
    "read_toml",
    "serialise_config",
]
