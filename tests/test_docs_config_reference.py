"""The configuration reference is generated from the config Structs and cannot drift.

``docs/_hooks/config_reference.py`` renders docs/reference/configuration.md
at build time. These tests check that every field of every documented
Struct appears there, under the key a user writes, with its description,
and that an undocumented field, a stale ``:ivar`` line or a Struct nobody
documents fails instead of rendering a partial page.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import re
import sys
from pathlib import Path
from types import ModuleType

import msgspec
import pytest

ROOT = Path(__file__).resolve().parents[1]
HOOK = ROOT / "docs" / "_hooks" / "config_reference.py"
PAGE = ROOT / "docs" / "reference" / "configuration.md"


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    """The generator, imported the way mkdocs imports a hook."""
    name = "capsa_docs_config_reference"
    spec = importlib.util.spec_from_file_location(name, HOOK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def rendered(gen: ModuleType) -> str:
    """The reference page as the docs build renders it (every plugin installed)."""
    for module in ("capsa_cloud", "capsa_optim"):
        pytest.importorskip(module, reason=f"the reference documents {module}")
    return str(gen.render_page(PAGE.read_text(encoding="utf-8"), require_all=True))


def _ivars(cls: type) -> dict[str, str]:
    """``:ivar name: text`` of a docstring, read independently of the generator."""
    doc = inspect.getdoc(cls) or ""
    entries = re.split(r"^:ivar ", doc, flags=re.M)[1:]
    out = {}
    for entry in entries:
        name, _, text = entry.partition(":")
        # An entry ends at the first line that is not indented (a blank line, other prose).
        lines = text.splitlines()
        kept = [lines[0], *_indented_prefix(lines[1:])]
        out[name.strip()] = " ".join(" ".join(kept).split())
    return out


def _indented_prefix(lines: list[str]) -> list[str]:
    kept = []
    for line in lines:
        if not line.startswith((" ", "\t")) or not line.strip():
            break
        kept.append(line)
    return kept


def _row(page: str, anchor: str, key: str) -> str:
    """The table row of ``key`` in the section whose heading has id ``anchor``."""
    section = page.split(f"{{ #{anchor} }}", 1)[1].split("\n#", 1)[0]
    for line in section.splitlines():
        if line.startswith(f"| `{key}` |"):
            return line
    raise AssertionError(f"no row for {key!r} under #{anchor}")


def test_every_field_of_every_config_struct_is_rendered_with_its_description(
    gen: ModuleType, rendered: str
) -> None:
    checked = 0
    for table in gen.all_tables():
        cls = gen.struct_of(table)
        module = sys.modules[cls.__module__]
        ivars = _ivars(cls)
        for field in msgspec.structs.fields(cls):
            key = table.renames.get(field.name, field.encode_name)
            row = _row(rendered, table.anchor, key)
            assert field.name in ivars, f"{cls.__qualname__}.{field.name} has no :ivar line"
            description = gen.to_markdown(ivars[field.name], module)
            assert row.endswith(f"| {description} |"), (row, description)
            checked += 1
    assert checked >= 40


def test_every_strictly_decoded_struct_of_the_core_is_documented(gen: ModuleType) -> None:
    """A Struct that decodes user files strictly (``forbid_unknown_fields``) needs a table.

    Those are the files users write (capsa.toml, sweep and registry files): a
    new one added to the core without a table of the reference fails here.
    """
    import capsa

    strict: set[type] = set()
    for info in pkgutil.walk_packages(capsa.__path__, "capsa."):
        if info.name.endswith("__main__"):
            continue  # runs the CLI when imported
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, msgspec.Struct)
                and obj.__module__ == module.__name__
                and obj.__struct_config__.forbid_unknown_fields
            ):
                strict.add(obj)
    documented = {gen.struct_of(table) for table in gen.all_tables()}
    assert len(strict) >= 8
    missing = sorted(f"{c.__module__}.{c.__qualname__}" for c in strict - documented)
    assert not missing, f"add these to GROUPS in docs/_hooks/config_reference.py: {missing}"


def test_the_page_shows_keys_types_and_defaults_users_write(rendered: str) -> None:
    assert "<!-- config-reference" not in rendered
    store = _row(rendered, "capsa-toml-top-level", "store")
    assert "| string | absent |" in store
    mode = _row(rendered, "capsa-toml-top-level", "mode")
    assert '`"production"`' in mode and '`"test"`' in mode
    assert "[`[stores.<name>]`](#capsa-toml-stores)" in _row(
        rendered, "capsa-toml-top-level", "stores"
    )
    assert "**required**" in _row(rendered, "capsa-toml-stores", "url")
    # The faulty+ option is written fault_ops, although the Struct's field is ops.
    assert "`put`, `delete`, `get`" in _row(rendered, "options-faulty", "fault_ops")
    assert "(8 MiB)" in _row(rendered, "options-cloud", "chunk_size")
    assert "`max_retries`" in rendered.split("{ #options-cloud-passthrough }", 1)[1]


class Documented(msgspec.Struct, kw_only=True):
    """A test Struct.

    :ivar size: bytes, at
        most ``1024`` (see :class:`~capsa.errors.ConfigError`).
    """

    size: int = 0


class Undocumented(msgspec.Struct, kw_only=True):
    """A test Struct.

    :ivar size: documented.
    """

    size: int = 0
    colour: str = "red"


class Stale(msgspec.Struct, kw_only=True):
    """A test Struct.

    :ivar size: documented.
    :ivar weight: no such field.
    """

    size: int = 0


class Outer(msgspec.Struct, kw_only=True):
    """A test Struct.

    :ivar inner: a nested table nobody documents.
    """

    inner: Documented = msgspec.field(default_factory=Documented)


def _group(gen: ModuleType, monkeypatch: pytest.MonkeyPatch, *structs: type) -> None:
    tables = tuple(
        gen.Table(f"{__name__}:{s.__name__}", s.__name__, s.__name__.lower(), "Test.")
        for s in structs
    )
    monkeypatch.setattr(gen, "GROUPS", {"test": tables})


def test_descriptions_come_from_ivar_lines(gen: ModuleType, monkeypatch) -> None:
    _group(gen, monkeypatch, Documented)
    out = gen.render_group("test")
    assert "| `size` | integer | `0` | bytes, at most `1024` (see `ConfigError`). |" in out


def test_a_field_without_description_fails_the_build(gen: ModuleType, monkeypatch) -> None:
    _group(gen, monkeypatch, Undocumented)
    with pytest.raises(gen.ConfigReferenceError, match=r"Undocumented\.colour has no description"):
        gen.render_group("test")


def test_an_ivar_line_for_no_field_fails(gen: ModuleType, monkeypatch) -> None:
    _group(gen, monkeypatch, Stale)
    with pytest.raises(gen.ConfigReferenceError, match="weight"):
        gen.render_group("test")


def test_a_nested_struct_without_its_own_table_fails(gen: ModuleType, monkeypatch) -> None:
    _group(gen, monkeypatch, Outer)
    with pytest.raises(gen.ConfigReferenceError, match="no table of the reference documents"):
        gen.render_group("test")
    _group(gen, monkeypatch, Outer, Documented)
    assert "table ([Documented](#documented))" in gen.render_group("test")


def test_keys_must_match_the_options_the_backend_accepts(gen: ModuleType, monkeypatch) -> None:
    table = gen.Table(
        "capsa.backends.faulty:FaultConfig",
        "faulty",
        "faulty",
        "Test.",
        keys="capsa.backends.faulty:FaultyBackend.option_names",
    )
    monkeypatch.setattr(gen, "GROUPS", {"test": (table,)})
    with pytest.raises(gen.ConfigReferenceError, match="accepts"):
        gen.render_group("test")  # without renames the Struct's field `ops` is shown


def test_placeholders_are_checked(gen: ModuleType) -> None:
    with pytest.raises(gen.ConfigReferenceError, match="unknown config-reference placeholder"):
        gen.render_page("<!-- config-reference: nosuch -->\n")
    with pytest.raises(gen.ConfigReferenceError, match="places no config-reference"):
        gen.render_page("# empty\n", require_all=True)
