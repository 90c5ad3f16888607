"""Render the configuration reference from the msgspec Structs that decode it.

A mkdocs hook (registered under ``hooks:`` in ``mkdocs.yml``). A page holds
placeholders, one line each::

    <!-- config-reference: capsa-toml -->

and :func:`on_page_markdown` replaces each with the tables of its group in
:data:`GROUPS`: one heading per Struct, then one row per field with the key a
user writes, its type, its default and its description. The Structs are
walked with :func:`msgspec.inspect.type_info`, so a field added to a Struct
appears in the docs at the next build.

Descriptions come from the field's ``Meta(description=...)`` if it has one,
otherwise from the ``:ivar name:`` lines of the Struct's docstring (the
repository's convention). A field without a description, an ``:ivar`` line
naming no field, a nested Struct that no table documents, or a table whose
keys differ from the option names its backend accepts fails the build with a
:class:`ConfigReferenceError`, so the reference cannot drift from the code.

The module imports capsa and its plugins, not mkdocs: the tests import it
(``tests/test_docs_config_reference.py``).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import msgspec
import msgspec.inspect as mi

PLACEHOLDER = re.compile(r"^<!--\s*config-reference:\s*(?P<name>[\w.-]+)\s*-->[ \t]*$", re.M)
"""A placeholder line: ``<!-- config-reference: NAME -->``."""

PAGE = "reference/configuration.md"
"""The page that must place every group of :data:`GROUPS`."""


class ConfigReferenceError(Exception):
    """The reference cannot be rendered truthfully (an undocumented field ...)."""


@dataclasses.dataclass(frozen=True)
class Table:
    """One Struct, rendered as a heading and a table of its fields.

    :ivar struct: ``"module:Name"`` of the Struct (imported when rendered).
    :ivar title: the heading text (Markdown).
    :ivar anchor: the heading's id; other tables link to it.
    :ivar where: one paragraph: where a user writes these keys.
    :ivar renames: field name -> the key a user writes, where they differ.
    :ivar keys: ``"module:NAME"`` of the set of option names the code accepts
        for this table, checked against the rendered keys; empty: no check.
    """

    struct: str
    title: str
    anchor: str
    where: str
    renames: Mapping[str, str] = dataclasses.field(default_factory=dict)
    keys: str = ""


@dataclasses.dataclass(frozen=True)
class Row:
    """One field of a Struct, as the reference shows it.

    :ivar key: the key a user writes.
    :ivar type: its type (Markdown).
    :ivar default: its default (Markdown), or ``required``.
    :ivar description: its description (Markdown, one line).
    """

    key: str
    type: str
    default: str
    description: str


GROUPS: dict[str, tuple[Table, ...]] = {
    "capsa-toml": (
        Table(
            "capsa.config.schema:CapsaConfig",
            "Top level",
            "capsa-toml-top-level",
            "The top level of `capsa.toml`, or the `[tool.capsa]` table of `pyproject.toml`.",
        ),
        Table(
            "capsa.config.schema:StoreConfig",
            "`[stores.<name>]`",
            "capsa-toml-stores",
            'One named store; open it with `store = "<name>"`, `CAPSA_STORE=<name>`, '
            '`capsa.open_store("<name>")` or `--store <name>`.',
        ),
        Table(
            "capsa.config.schema:PluginsConfig",
            "`[plugins]`",
            "capsa-toml-plugins",
            "Which installed plugins load, and what a plugin that fails to load does.",
        ),
    ),
    "store-options": (
        Table(
            "capsa_cloud.backend:TransferOptions",
            "Object stores (`s3://`, `gs://`, `az://`, capsa-cloud)",
            "options-cloud",
            "capsa-cloud's own keys of a store's `options` (the other keys go to obstore: "
            "see [below](#options-cloud-passthrough)).",
            keys="capsa_cloud.backend:TRANSFER_KEYS",
        ),
        Table(
            "capsa.backends.retrying:RetryPolicy",
            "The retry layer (core)",
            "options-retry",
            "Retries of transient failures, for a backend whose operations can fail "
            "transiently and that does not retry them itself (e.g. `faulty+...`; "
            "capsa-cloud retries inside obstore, with the same option names). See "
            "[faults and retries](../reliability.md#faults-and-retries).",
            keys="capsa.backends.retrying:RETRY_OPTIONS",
        ),
        Table(
            "capsa.backends.faulty:FaultConfig",
            "`faulty+<url>` (fault injection, core)",
            "options-faulty",
            "Failures injected in front of another backend, for tests; the inner "
            "backend's options sit next to these.",
            renames={"ops": "fault_ops"},
            keys="capsa.backends.faulty:FaultyBackend.option_names",
        ),
    ),
    "experiments": (
        Table(
            "capsa.experiments.sweeps:Sweep",
            "Sweep file",
            "experiments-sweep",
            "A sweep TOML file (`load_sweep(path)`, `capsa experiments`), or the inline "
            "`sweep` table of a registry experiment. See [experiments](../experiments.md).",
        ),
        Table(
            "capsa.experiments.sweeps:SweepAxis",
            "`[[axes]]`",
            "experiments-sweep-axes",
            "One Cartesian axis of a sweep.",
        ),
        Table(
            "capsa.experiments.registry:RegistryFile",
            "Registry file",
            "experiments-registry",
            "The experiment registry (`load_experiment_registry(path)`, "
            "`capsa experiments --registry`).",
        ),
        Table(
            "capsa.experiments.registry:ModelSetTable",
            "`[model_sets.<name>]`",
            "experiments-registry-model-sets",
            "A named, reusable list of models.",
        ),
        Table(
            "capsa.experiments.registry:ExperimentTable",
            "`[experiments.<name>]`",
            "experiments-registry-experiments",
            "One named experiment of the registry.",
        ),
    ),
    "optim": (
        Table(
            "capsa_optim.schema:RunMeta",
            "`meta.json` (capsa-optim)",
            "optim-meta",
            "The `meta` given to `save_run` or `TraceWriter` (a `RunMeta` or a mapping), "
            'stored as `meta.json`; a seed document (`"dluxshera-run-v0"`) loads too. '
            "See [the schemas](../optim.md#the-schemas).",
        ),
        Table(
            "capsa_optim.schema:ThetaInfo",
            "`theta`",
            "optim-meta-theta",
            "How to interpret θ.",
        ),
        Table(
            "capsa_optim.index_map:IndexMap",
            "`theta.index_map`",
            "optim-meta-index-map",
            "The θ layout (usually built with `IndexMap.from_shapes`).",
        ),
        Table(
            "capsa_optim.index_map:IndexEntry",
            "`theta.index_map.entries[]`",
            "optim-meta-index-entry",
            "One packed segment of θ.",
        ),
        Table(
            "capsa_optim.schema:GitInfo",
            "`git`",
            "optim-meta-git",
            "The source revision that produced the run.",
        ),
        Table(
            "capsa_optim.schema:ObjectiveInfo",
            "`objective`",
            "optim-meta-objective",
            "The objective's identity.",
        ),
        Table(
            "capsa_optim.schema:OptimizerInfo",
            "`optimizer`",
            "optim-meta-optimizer",
            "The optimizer's identity and configuration.",
        ),
        Table(
            "capsa_optim.schema:PreconditioningInfo",
            "`optimizer.preconditioning`",
            "optim-meta-preconditioning",
            "How a per-index learning-rate vector was built.",
        ),
        Table(
            "capsa_optim.schema:RunSummary",
            "`summary.json` (capsa-optim)",
            "optim-summary",
            "The `summary` given to `save_run` (a `RunSummary` or a mapping), stored as "
            "`summary.json`.",
        ),
        Table(
            "capsa_optim.experiment:ExperimentManifest",
            "Experiment manifest (`manifest.json`, capsa-optim)",
            "optim-experiment-manifest",
            "What an experiment sweeps, over which data: the `manifest` given to "
            "`capsa_optim` experiments (an `ExperimentManifest` or a mapping). See "
            "[optimizer runs](../optim.md).",
        ),
    ),
    "kinds": (
        Table(
            "capsa.kinds.base:MemberSpec",
            "`MemberSpec`",
            "kinds-member-spec",
            "One member of an artifact kind, declared in a plugin's code. See "
            "[writing a kind](../plugins/kinds.md).",
        ),
        Table(
            "capsa.kinds.base:LegacyLayout",
            "`LegacyLayout`",
            "kinds-legacy-layout",
            "An older layout of a kind that `load` still reads. See "
            "[legacy layouts](../plugins/kinds.md#legacy-layouts).",
        ),
    ),
}
"""Placeholder name -> the Structs it renders, in order."""


# -- importing -----------------------------------------------------------------


def resolve(ref: str) -> Any:
    """Import ``"module:attr.attr"``."""
    module_name, _, path = ref.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def struct_of(table: Table) -> type[msgspec.Struct]:
    """The Struct class a table documents."""
    cls = resolve(table.struct)
    if not (isinstance(cls, type) and issubclass(cls, msgspec.Struct)):
        raise ConfigReferenceError(f"{table.struct} is not a msgspec Struct")
    return cls


def all_tables() -> list[Table]:
    """Every table of every group, in order."""
    return [table for tables in GROUPS.values() for table in tables]


# -- descriptions ----------------------------------------------------------------

_IVAR = re.compile(r"^:ivar\s+(?P<name>\w+):\s*(?P<text>.*)$")
_ROLE = re.compile(r":(?P<role>[\w:]+):`(?P<body>[^`]+)`")


def ivar_descriptions(cls: type) -> dict[str, str]:
    """The ``:ivar name: text`` entries of a class docstring (continuation lines joined)."""
    doc = inspect.getdoc(cls) or ""
    found: dict[str, str] = {}
    current: str | None = None
    for line in doc.splitlines():
        match = _IVAR.match(line)
        if match:
            current = match["name"]
            found[current] = match["text"].strip()
        elif current is not None and line.startswith((" ", "\t")) and line.strip():
            found[current] += " " + line.strip()
        else:
            current = None
    return found


def _constant(module: Any, name: str) -> str | None:
    """A module constant named in a ``:data:`` role, shown by value, or None."""
    value = getattr(module, name, None) if module is not None else None
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return f"`{json.dumps(value)}`"
    if (
        isinstance(value, tuple | list | frozenset)
        and value
        and all(isinstance(v, str) for v in value)
    ):
        items = value if isinstance(value, tuple | list) else sorted(value)
        return ", ".join(f"`{v}`" for v in items)
    return None


def to_markdown(text: str, module: Any = None) -> str:
    """ReST inline markup of a docstring as one line of Markdown for a table cell.

    ``code`` stays code; ``:class:`~a.b.C``` becomes ```C```; a ``:data:``
    reference to a constant of ``module`` becomes its value.
    """

    def role(match: re.Match[str]) -> str:
        body = match["body"]
        if "<" in body and body.endswith(">"):  # :role:`text <target>`
            return body.split("<", 1)[0].strip()
        target = body.lstrip("~!")
        if match["role"] == "data":
            shown = _constant(module, target)
            if shown is not None:
                return shown
        short = target.rsplit(".", 1)[-1] if body.startswith("~") else target
        return f"`{short}`"

    text = _ROLE.sub(role, text)
    text = text.replace("``", "`")
    text = " ".join(text.split())
    return text.replace("|", "\\|")


def field_description(cls: type[msgspec.Struct], field: mi.Field, ivars: Mapping[str, str]) -> str:
    """The description of one field (``Meta(description=...)``, else its ``:ivar`` line)."""
    module = sys.modules.get(cls.__module__)
    if isinstance(field.type, mi.Metadata):
        schema = field.type.extra_json_schema or {}
        if schema.get("description"):
            return to_markdown(str(schema["description"]), module)
    text = ivars.get(field.name, "").strip()
    if not text:
        raise ConfigReferenceError(
            f"{cls.__module__}.{cls.__qualname__}.{field.name} has no description: add "
            f"':ivar {field.name}: ...' to the Struct's docstring (or Meta(description=...))"
        )
    return to_markdown(text, module)


# -- types and defaults --------------------------------------------------------------

_PLURAL = {
    "string": "strings",
    "integer": "integers",
    "number": "numbers",
    "boolean": "booleans",
    "any": "values",
    "table": "tables",
    "list": "lists",
}


def render_type(t: mi.Type, link: Callable[[type], str]) -> str:
    """A type as a user writes it in TOML or JSON; ``link`` names a nested Struct's table."""
    if isinstance(t, mi.Metadata):
        return render_type(t.type, link)
    if isinstance(t, mi.StrType):
        return "string"
    if isinstance(t, mi.BoolType):
        return "boolean"
    if isinstance(t, mi.IntType):
        return "integer" + _bounds(t)
    if isinstance(t, mi.FloatType):
        return "number" + _bounds(t)
    if isinstance(t, mi.AnyType):
        return "any"
    if isinstance(t, mi.NoneType):
        return "none"
    if isinstance(t, mi.LiteralType):
        values = [f"`{json.dumps(v)}`" for v in t.values]
        return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]
    if isinstance(t, mi.ListType | mi.VarTupleType | mi.SetType | mi.FrozenSetType):
        return _container("list", t.item_type, link)
    if isinstance(t, mi.TupleType):
        return "list"
    if isinstance(t, mi.DictType):
        return _container("table", t.value_type, link)
    if isinstance(t, mi.StructType):
        return f"table ({link(t.cls)})"
    if isinstance(t, mi.UnionType):
        parts = [render_type(u, link) for u in t.types if not isinstance(u, mi.NoneType)]
        shown = " or ".join(dict.fromkeys(parts))
        return shown
    raise ConfigReferenceError(f"no rendering for the type {t!r}")


def _container(name: str, item: mi.Type, link: Callable[[type], str]) -> str:
    """``list of strings``, ``table of [x](#x) tables``, or just ``list`` for any items."""
    if isinstance(item, mi.Metadata):
        item = item.type
    if isinstance(item, mi.StructType):
        return f"{name} of {link(item.cls)} tables"
    shown = render_type(item, link)
    return name if shown == "any" else f"{name} of {_PLURAL.get(shown, shown)}"


def _bounds(t: mi.IntType | mi.FloatType) -> str:
    parts = []
    for attr, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
        value = getattr(t, attr)
        if value is not None:
            parts.append(f"{sign} {value}")
    return f" ({', '.join(parts)})" if parts else ""


def _optional(t: mi.Type) -> bool:
    if isinstance(t, mi.Metadata):
        return _optional(t.type)
    return isinstance(t, mi.UnionType) and any(isinstance(u, mi.NoneType) for u in t.types)


def render_value(value: Any) -> str:
    """A default value, as TOML would spell it (``None`` is a key left out)."""
    if value is None:
        return "absent"
    if isinstance(value, msgspec.Struct):
        return "its keys' defaults"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int):
        mib = f" ({value >> 20} MiB)" if value >= 1 << 20 and value % (1 << 20) == 0 else ""
        return f"`{value}`{mib}"
    if isinstance(value, float):
        return f"`{value:g}`" if value == int(value) and abs(value) < 1e15 else f"`{value!r}`"
    if isinstance(value, str):
        return f"`{json.dumps(value)}`"
    if isinstance(value, frozenset | set):
        value = sorted(value)
    if isinstance(value, tuple | list):
        return "`[" + ", ".join(json.dumps(v) for v in value) + "]`"
    if isinstance(value, dict):
        if not value:
            return "`{}`"
        inner = ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items())
        return "`{" + inner + "}`"
    return f"`{value!r}`"


def field_default(field: mi.Field) -> str:
    """A field's default, or ``required``."""
    if field.default is not msgspec.NODEFAULT:
        return render_value(field.default)
    if field.default_factory is not msgspec.NODEFAULT:
        return render_value(field.default_factory())
    return "**required**"


# -- rows, tables, groups ------------------------------------------------------------


def _anchors() -> dict[type, Table]:
    return {struct_of(table): table for table in all_tables()}


def rows(table: Table) -> list[Row]:
    """The rows of one table, checked (see the module documentation)."""
    cls = struct_of(table)
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    ivars = ivar_descriptions(cls)
    field_names = {f.name for f in info.fields}
    stale = sorted(set(ivars) - field_names)
    if stale:
        raise ConfigReferenceError(
            f"{cls.__module__}.{cls.__qualname__}: the docstring documents "
            f"{', '.join(stale)}, which the Struct does not have"
        )
    unknown = sorted(set(table.renames) - field_names)
    if unknown:
        raise ConfigReferenceError(f"{table.struct}: renames name no field: {', '.join(unknown)}")
    anchors = _anchors()

    def link(nested: type) -> str:
        target = anchors.get(nested)
        if target is None:
            raise ConfigReferenceError(
                f"{table.struct} has a field of type {nested.__module__}.{nested.__qualname__}, "
                "which no table of the reference documents: add it to GROUPS"
            )
        return f"[{target.title}](#{target.anchor})"

    out: list[Row] = []
    for field in info.fields:
        kind = render_type(field.type, link)
        if _optional(field.type) and field.default is not None:
            kind += " or null"
        key = table.renames.get(field.name, field.encode_name)
        out.append(Row(key, kind, field_default(field), field_description(cls, field, ivars)))
    if table.keys:
        accepted = set(resolve(table.keys))
        shown = {row.key for row in out}
        if accepted != shown:
            raise ConfigReferenceError(
                f"{table.struct}: the reference shows the keys {sorted(shown)}, but "
                f"{table.keys} accepts {sorted(accepted)}"
            )
    return out


def _cell(text: str) -> str:
    return text.replace("\n", " ")


def render_table(table: Table, level: int = 3) -> str:
    """One Struct: a heading with an id, where it is written, and its fields."""
    cls = struct_of(table)
    lines = [
        f"{'#' * level} {table.title} {{ #{table.anchor} }}",
        "",
        f"{table.where} Decoded by `{cls.__module__}.{cls.__qualname__}`.",
        "",
        "| key | type | default | description |",
        "|---|---|---|---|",
    ]
    for row in rows(table):
        cells = [f"`{row.key}`", row.type, row.default, row.description]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def render_group(name: str, level: int = 3) -> str:
    """Every table of one group of :data:`GROUPS`."""
    if name not in GROUPS:
        raise ConfigReferenceError(
            f"unknown config-reference placeholder {name!r}; known: {', '.join(GROUPS)}"
        )
    extra = _EXTRAS.get(name)
    parts = [render_table(table, level) for table in GROUPS[name]]
    if extra is not None:
        parts.append(extra(level))
    return "\n".join(parts)


def _cloud_passthrough(level: int) -> str:
    """The option names capsa-cloud hands to obstore, from capsa-cloud's own constants."""
    backend = importlib.import_module("capsa_cloud.backend")

    def names(keys: Iterable[str]) -> str:
        return ", ".join(f"`{k}`" for k in sorted(keys))

    return "\n".join(
        [
            f"{'#' * level} Object stores: keys passed to obstore {{ #options-cloud-passthrough }}",
            "",
            "Every other key of a capsa-cloud store's `options` goes to obstore "
            "(`capsa_cloud.backend.CloudOptions`), which refuses unknown ones when the "
            "store opens:",
            "",
            "| keys | go to |",
            "|---|---|",
            f"| {names(backend.CLIENT_KEYS)} | obstore's HTTP client options; timeouts are "
            'seconds, or strings such as `"30s"` |',
            f"| {names(backend.RETRY_KEYS)} | obstore's retry configuration; durations are "
            "seconds |",
            "| `client_options`, `retry_config` | tables passed to obstore as they are |",
            "| any other key (`region`, `endpoint`, `access_key_id`, `service_account`, "
            "`account_name` ...) | the cloud's store configuration |",
            "",
            "See [storage backends](../backends.md#options) for examples.",
            "",
        ]
    )


_EXTRAS: dict[str, Callable[[int], str]] = {"store-options": _cloud_passthrough}


def render_page(markdown: str, *, require_all: bool = False) -> str:
    """Replace every placeholder of a page; ``require_all``: every group must be placed."""
    placed: list[str] = []

    def fill(match: re.Match[str]) -> str:
        placed.append(match["name"])
        return render_group(match["name"])

    out = PLACEHOLDER.sub(fill, markdown)
    if require_all:
        missing = [name for name in GROUPS if name not in placed]
        if missing:
            raise ConfigReferenceError(
                f"{PAGE} places no config-reference for {', '.join(missing)}"
            )
    return out


# -- the mkdocs hook --------------------------------------------------------------


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """Fill the placeholders of a page (mkdocs event); an error stops the build."""
    is_reference = page.file.src_uri == PAGE
    if not is_reference and "config-reference:" not in markdown:
        return markdown
    try:
        return render_page(markdown, require_all=is_reference)
    except (ConfigReferenceError, ImportError) as exc:
        from mkdocs.exceptions import PluginError

        raise PluginError(f"config reference ({page.file.src_uri}): {exc}") from exc
