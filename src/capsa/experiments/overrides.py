"""Applying dotted overrides to a base config and re-decoding it against the config type.

An override sets the value at a dotted path (``"model.alpha" = 0.5``). The
value *replaces* what is at the path: a table replaces the whole table (which
is how a tagged-union variant is switched: ``"model" = {type = "lasso"}``),
it is not merged into it. In TOML, quote dotted keys (``"model.alpha" = 0.5``);
an unquoted ``model.alpha = 0.5`` is a nested table and replaces ``model``.

Every override is checked twice, before any run starts:

1. its path must exist in the config type (see :mod:`capsa.experiments.paths`);
2. the config with the override applied is decoded again by msgspec against
   the config type, so a value of the wrong type, a constraint
   (``Meta(gt=0)``) or a ``__post_init__`` check fails with a
   :class:`~capsa.errors.ConfigError` that names the file, the dotted key and
   the override (fixed override or axis, and its value).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from capsa.errors import ConfigError
from capsa.experiments.configs import config_error
from capsa.experiments.paths import PathError, set_path, split_path, walk


@dataclass(frozen=True)
class Override:
    """One dotted override and where it was written.

    :ivar path: the dotted path (``"model.alpha"``).
    :ivar value: the value set there.
    :ivar origin: where it comes from, for messages (``"overrides"``,
        ``"axes[1]"``, ``"models.ridge"``).
    """

    path: str
    value: Any
    origin: str

    @property
    def parts(self) -> tuple[str, ...]:
        """The path's segments."""
        return tuple(self.path.split("."))

    def describe(self) -> str:
        """``"axes[1] sets 'model.alpha' = 'abc'"``, for messages."""
        return f"{self.origin} sets {self.path!r} = {_short(self.value)}"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_paths(paths: Iterable[tuple[str, str]], *, source: str | None = None) -> None:
    """Check that every ``(path, key in file)`` is a well-formed dotted path."""
    for path, key in paths:
        try:
            split_path(path)
        except PathError as exc:
            raise ConfigError(exc.message, source=source, key=key) from None


def _related(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def apply_overrides(
    config_type: type[Any],
    base_tree: Any,
    overrides: Sequence[Override],
    *,
    source: str | None,
) -> tuple[Any, Any]:
    """Apply ``overrides`` in order to a copy of ``base_tree``, decode, return ``(config, tree)``.

    :raises ConfigError: a path that the config type does not have, or a
        config that no longer decodes; the message names the override.
    """
    tree = copy.deepcopy(base_tree)
    for override in overrides:
        try:
            walk(config_type, override.parts, tree)
        except PathError as exc:
            raise ConfigError(
                f"{override.origin}: the path {override.path!r} does not exist in "
                f"{config_type.__qualname__}: {exc.message}",
                source=source,
                key=override.path,
            ) from None
        set_path(tree, override.parts, copy.deepcopy(override.value))
    try:
        config = msgspec.convert(tree, config_type, strict=True)
    except msgspec.ValidationError as exc:
        error = config_error(exc, config_type=config_type, source="")
        key = error.key or ""
        where = tuple(key.split(".")) if key else ()
        culprits = [o for o in overrides if _related(o.parts, where)]
        blamed = culprits[-1] if culprits else None
        message = str(error).removeprefix(f"key {key!r}: ") if key else str(error)
        if blamed is not None:
            hint = ""
            if isinstance(blamed.value, dict) and "missing required field" in message:
                hint = (
                    f" (an override replaces the whole table at {blamed.path!r}; to change one "
                    f"field use a dotted path such as '{blamed.path}.<field>', quoted in TOML)"
                )
            message = f"{blamed.describe()}: {message}{hint}"
        raise ConfigError(message, source=source, key=key or None) from None
    return config, tree


__all__ = ["Override", "apply_overrides", "check_paths"]
