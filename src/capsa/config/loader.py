"""Finding, decoding and merging configuration, remembering where each value came from.

Precedence, highest first: arguments to ``open_store``; environment variables
(``CAPSA_STORE``, ``CAPSA_MODE``, ``CAPSA_SESSION``, ``CAPSA_TEST_NAME``,
``CAPSA_GC_GRACE_SECONDS``); the config file; defaults. The config file is
``CAPSA_CONFIG`` when set, else the nearest ``capsa.toml`` or
``pyproject.toml`` with a ``[tool.capsa]`` table, walking up from the current
folder (``capsa.toml`` wins in the same folder).
"""

from __future__ import annotations

import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from capsa.config.schema import DEFAULT_STORE_URL, MODES, CapsaConfig, StoreConfig
from capsa.errors import ConfigError

ENV_VARS: dict[str, str] = {
    "store": "CAPSA_STORE",
    "mode": "CAPSA_MODE",
    "session": "CAPSA_SESSION",
    "test_name": "CAPSA_TEST_NAME",
    "gc_grace_seconds": "CAPSA_GC_GRACE_SECONDS",
}
"""Config field -> environment variable that overrides it."""

_PATH_RE = re.compile(r"at `\$(?P<path>[^`]*)`")
T = TypeVar("T")


@dataclass
class ResolvedConfig:
    """The merged configuration and the origin of every value.

    :ivar config: the merged :class:`CapsaConfig`.
    :ivar file: the config file used, if any.
    :ivar sources: dotted key -> ``"default"``, a file path, or ``"env:NAME"``.
    """

    config: CapsaConfig
    file: Path | None = None
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def base_dir(self) -> Path:
        """Folder that relative store paths in the file are relative to."""
        return self.file.parent if self.file is not None else Path.cwd()

    def store_entry(self, name_or_url: str | None) -> tuple[str, StoreConfig | None, str]:
        """Resolve a store name or URL to ``(url, named entry or None, origin)``."""
        cfg = self.config
        target = name_or_url if name_or_url is not None else cfg.store
        origin = "argument" if name_or_url is not None else self.sources.get("store", "default")
        if target is None:
            return DEFAULT_STORE_URL, None, "default"
        entry = cfg.stores.get(target)
        if entry is not None:
            url = self._absolute(
                entry.url,
                from_file=True,
                source=str(self.file) if self.file else origin,
                key=f"stores.{target}.url",
            )
            return url, entry, origin
        if "://" not in target and not _looks_like_path(target) and cfg.stores:
            raise ConfigError(
                f"no store named {target!r}; named stores are {', '.join(sorted(cfg.stores))}",
                source=origin,
                key="store",
            )
        url = self._absolute(target, from_file=origin == str(self.file), source=origin, key="store")
        return url, None, origin

    def _absolute(self, url: str, *, from_file: bool, source: str, key: str) -> str:
        if "://" in url:
            return url
        try:
            path = Path(url).expanduser()
        except RuntimeError as exc:  # "~user/..." for a user without a home folder
            raise ConfigError(
                f"cannot expand {url!r}: no home folder for that user", source=source, key=key
            ) from exc
        if not path.is_absolute() and from_file:
            path = self.base_dir / path
        return str(path)


def _looks_like_path(value: str) -> bool:
    return value.startswith((".", "/", "~")) or os.sep in value or "/" in value


def find_config_file(start: Path | None = None) -> tuple[Path, dict[str, Any]] | None:
    """Return the config file and its capsa table, or None when there is none."""
    explicit = os.environ.get("CAPSA_CONFIG")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError("the file does not exist", source=str(path), key="CAPSA_CONFIG")
        data = _read_toml(path)
        if path.name != "pyproject.toml":
            return path, data
        return path, _tool_capsa(data, path) or {}
    folder = (start or Path.cwd()).absolute()
    for candidate in (folder, *folder.parents):
        capsa_toml = candidate / "capsa.toml"
        if capsa_toml.is_file():
            return capsa_toml, _read_toml(capsa_toml)
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file():
            table = _tool_capsa(_read_toml(pyproject), pyproject)
            if table is not None:
                return pyproject, table
    return None


def _tool_capsa(data: dict[str, Any], path: Path) -> dict[str, Any] | None:
    """The ``[tool.capsa]`` table of a ``pyproject.toml`` (None when absent)."""
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError("must be a table", source=str(path), key="tool")
    table = tool.get("capsa")
    if table is not None and not isinstance(table, dict):
        raise ConfigError("must be a table", source=str(path), key="tool.capsa")
    return table


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", source=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"invalid TOML: not UTF-8 (byte {exc.start} is {exc.object[exc.start : exc.end]!r})",
            source=str(path),
        ) from exc
    except RecursionError as exc:
        raise ConfigError("invalid TOML: nested too deeply", source=str(path)) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc}", source=str(path)) from None


def decode_config(table: dict[str, Any], *, source: str, prefix: str = "") -> CapsaConfig:
    """Decode a config table; a bad key or value raises :class:`ConfigError` naming it."""
    if not isinstance(table, dict):
        raise ConfigError(
            f"must be a table, got {type(table).__name__}", source=source, key=prefix or None
        )
    # Named stores are checked one by one first, so that an error can name the
    # store (msgspec reports dict keys as "[...]").
    stores = table.get("stores")
    if isinstance(stores, dict):
        for name, entry in stores.items():
            _convert(entry, StoreConfig, source=source, prefix=_join(prefix, f"stores.{name}"))
    config = _convert(table, CapsaConfig, source=source, prefix=prefix)
    _check_grace(config.gc_grace_seconds, source=source, key=_join(prefix, "gc_grace_seconds"))
    return config


def _check_grace(value: float, *, source: str, key: str) -> None:
    """Refuse a ``gc_grace_seconds`` that is negative or NaN.

    Either would let ``gc`` collect the objects of saves still in progress.
    """
    if not value >= 0:  # also catches NaN
        raise ConfigError(
            f"expected a number of seconds >= 0, got {value!r}", source=source, key=key
        )


def _join(prefix: str, path: str) -> str:
    return f"{prefix}.{path}" if prefix and path else prefix or path


def _convert(value: Any, target: type[T], *, source: str, prefix: str) -> T:
    try:
        return msgspec.convert(value, target, strict=True)
    except msgspec.ValidationError as exc:
        text = str(exc)
        match = _PATH_RE.search(text)
        path = match.group("path") if match else ""
        message = _PATH_RE.sub("", text).strip(" -")
        dotted = path.lstrip(".").replace("[", ".").replace("]", "")
        # The unknown key's own name is kept as written (it may hold dots or backticks).
        unknown = re.search(r"unknown field `(.*?)`(?= - at `|$)", text)
        if unknown:
            dotted = _join(dotted, unknown.group(1))
            message = "unknown key (check the spelling; see docs/configuration.md)"
        full = _join(prefix, dotted)
        choices = _literal_choices(full.split(".")) if full else None
        if choices and "enum" in message:
            message = f"{message}; expected one of {', '.join(map(repr, choices))}"
        raise ConfigError(message, source=source, key=full or None) from None


def _literal_choices(parts: list[str]) -> list[Any] | None:
    """Allowed values of the Literal-typed field at ``parts`` in :class:`CapsaConfig`."""
    current: Any = CapsaConfig
    if parts[:2] == ["tool", "capsa"]:
        parts = parts[2:]
    for part in parts:
        if isinstance(current, type) and issubclass(current, msgspec.Struct):
            current = typing.get_type_hints(current).get(part)
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        else:
            return None
        current = _strip_none(current)
    if typing.get_origin(current) is typing.Literal:
        return list(typing.get_args(current))
    return None


def _strip_none(tp: Any) -> Any:
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return tp


def load_config(start: Path | None = None) -> ResolvedConfig:
    """Read the config file (if any) and the environment into a :class:`ResolvedConfig`."""
    found = find_config_file(start)
    file: Path | None = None
    table: dict[str, Any] = {}
    prefix = ""
    if found is not None:
        file, table = found
        prefix = "tool.capsa" if file.name == "pyproject.toml" else ""
    config = decode_config(table, source=str(file) if file else "defaults", prefix=prefix)
    sources = {
        name: (str(file) if name in table else "default") for name in CapsaConfig.__struct_fields__
    }
    overrides: dict[str, Any] = {}
    for name, var in ENV_VARS.items():
        raw = os.environ.get(var)
        if raw is None or raw == "":
            continue
        value: Any = raw
        if name == "mode" and raw not in MODES:
            raise ConfigError(
                f"expected one of {', '.join(MODES)}, got {raw!r}", source="environment", key=var
            )
        if name == "gc_grace_seconds":
            try:
                value = float(raw)
            except ValueError:
                raise ConfigError(
                    f"expected a number of seconds, got {raw!r}", source="environment", key=var
                ) from None
            _check_grace(value, source="environment", key=var)
        overrides[name] = value
        sources[name] = f"env:{var}"
    if overrides:
        config = msgspec.structs.replace(config, **overrides)
    return ResolvedConfig(config=config, file=file, sources=sources)
