"""Every hook spec is documented, in its docstring and in the plugin-author guide.

Like datasette's test of its plugin hooks: adding a hook without documenting
it fails here.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from capsa import hookspecs

DOCS = Path(__file__).resolve().parents[1] / "docs"

SPECS = sorted(
    name
    for name, obj in vars(hookspecs).items()
    if name.startswith("capsa_") and callable(obj) and hasattr(obj, "capsa_spec")
)


def test_the_hook_specs_are_found() -> None:
    assert {"capsa_register_formats", "capsa_artifact_committed", "capsa_register_commands"} <= set(
        SPECS
    )


@pytest.mark.parametrize("name", SPECS)
def test_the_spec_docstring_says_when_what_and_whether_firstresult(name: str) -> None:
    spec = getattr(hookspecs, name)
    doc = inspect.getdoc(spec) or ""
    assert "Called" in doc, f"{name}: say when it is called"
    assert "firstresult" in doc, f"{name}: say whether it is firstresult"
    assert ":return:" in doc, f"{name}: say what it returns"
    for param in inspect.signature(spec).parameters:
        assert f":param {param}:" in doc, f"{name}: document the argument {param!r}"


@pytest.mark.parametrize("name", SPECS)
def test_the_plugin_guide_lists_the_hook(name: str) -> None:
    index = (DOCS / "plugins" / "index.md").read_text()
    assert f"`{name}(" in index, f"docs/plugins/index.md: add {name} to the hooks table"
