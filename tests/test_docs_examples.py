"""The Python examples in the docs are run, so that they cannot rot.

For each page below, the fenced code blocks are taken in document order and
run in one fresh namespace, in an empty temporary working directory, with
every ``CAPSA_*`` environment variable unset:

* ```` ```python ```` blocks are executed (a failing ``assert`` or an
  exception fails the test).
* A block whose info string has a ``title="some/path"`` (any language) is
  written to that path under the working directory instead, at that point
  of the page, the way a reader would create the file: ``src/pkg/mod.py``
  modules become importable (``src/`` is put on ``sys.path``), a
  ``capsa.toml`` becomes the configuration of the following blocks. Python
  files are compiled, and ``pyproject.toml`` files are parsed and their
  ``capsa`` entry points must name modules written on the same page.
* A block preceded by the line ``<!-- skip -->`` is neither run nor written.

Plugins that the examples register with :func:`capsa.plugins.register_plugin`
are unregistered after each page, and a plugin that fails to load is an error
(not the usual warning).

Every docs page with a python block that is not skipped must be in ``PAGES``
or in ``TESTED_ELSEWHERE`` (the test file that runs its examples).
"""

from __future__ import annotations

import importlib
import re
import sys
import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"

PAGES = [
    "quickstart.md",
    "plugins/formats.md",
    "plugins/kinds.md",
    "plugins/backends.md",
    "plugins/events.md",
    "plugins/estimators-and-signals.md",
    "plugins/commands.md",
    "zarr.md",
    "experiments.md",
    "reliability.md",
    "backends.md",
    "optim.md",
    "dimred.md",
    "artifacts-and-outputs.md",
    "catalog.md",
    "index.md",
    "migration/dimred.md",
    "migration/experiments.md",
    "migration/serialization.md",
    "migration/optim.md",
    "migration/artifact-manager.md",
    "concepts.md",
    "formats.md",
    "plugins/index.md",
]

# Pages whose examples need a plugin that may not be installed in every environment.
NEEDS = {
    "quickstart.md": ["numpy", "capsa_npz"],
    "plugins/estimators-and-signals.md": ["numpy"],
    "zarr.md": ["numpy", "capsa_zarr"],
    "backends.md": ["capsa_cloud"],
    "optim.md": ["numpy", "capsa_optim", "capsa_zarr", "matplotlib"],
    "dimred.md": ["numpy", "capsa_dimred"],
    "catalog.md": ["pyarrow"],
    "index.md": ["numpy", "capsa_npz"],
    "migration/dimred.md": ["numpy", "capsa_dimred"],
    "migration/optim.md": ["numpy", "capsa_optim"],
    "migration/artifact-manager.md": ["pyarrow", "capsa_parquet"],
    "concepts.md": ["numpy", "capsa_npz", "pyarrow", "capsa_parquet"],
    "formats.md": ["numpy", "capsa_npz"],
    "plugins/index.md": ["capsa_npz"],
}

REPO = DOCS.parent

# Pages whose python blocks another test runs (page -> that test file, from the repository root).
TESTED_ELSEWHERE = {
    "testing-backends.md": "tests/test_conformance_docs.py",
    "tables.md": "plugins/capsa-parquet/tests/test_parquet_docs.py",
}

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`\n]*)$")
_TITLE = re.compile(r"""title\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_SKIP = "<!-- skip -->"


@dataclass
class Block:
    """One fenced code block."""

    lang: str
    title: str | None
    skip: bool
    code: str
    line: int


def extract_blocks(text: str) -> list[Block]:
    """Return the fenced code blocks of a Markdown page, in order."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    previous = ""  # last non-blank line outside a block
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            if lines[i].strip():
                previous = lines[i].strip()
            i += 1
            continue
        indent, fence, info = match["indent"], match["fence"], match["info"].strip()
        start = i + 1
        body: list[str] = []
        i += 1
        while i < len(lines):
            closing = lines[i].strip()
            if closing.startswith(fence[0] * len(fence)) and not closing.strip(fence[0]):
                break
            line = lines[i]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            i += 1
        i += 1
        lang = info.split()[0].lstrip(".{").rstrip("}") if info else ""
        title = _TITLE.search(info)
        blocks.append(
            Block(
                lang=lang.lower(),
                title=(title.group(1) or title.group(2)) if title else None,
                skip=previous == _SKIP,
                code="\n".join(body) + "\n",
                line=start,
            )
        )
        previous = ""
    return blocks


def test_extract_blocks() -> None:
    page = "\n".join(
        [
            "text",
            "```python",
            "x = 1",
            "```",
            "<!-- skip -->",
            "",
            "```python",
            "boom()",
            "```",
            '```python title="src/pkg/mod.py"',
            "y = 2",
            "```",
            "    ```toml",
            "    a = 1",
            "    ```",
        ]
    )
    blocks = extract_blocks(page)
    assert [(b.lang, b.title, b.skip) for b in blocks] == [
        ("python", None, False),
        ("python", None, True),
        ("python", "src/pkg/mod.py", False),
        ("toml", None, False),
    ]
    assert blocks[0].code == "x = 1\n"
    assert blocks[3].code == "a = 1\n"


def test_every_page_with_python_examples_is_run() -> None:
    """A page with a python block that is not skipped must be in PAGES or TESTED_ELSEWHERE."""
    unlisted = []
    for path in sorted(DOCS.rglob("*.md")):
        page = path.relative_to(DOCS).as_posix()
        if page.startswith("_hooks/") or page in PAGES or page in TESTED_ELSEWHERE:
            continue
        blocks = extract_blocks(path.read_text(encoding="utf-8"))
        lines = [b.line for b in blocks if b.lang == "python" and not b.skip]
        if lines:
            unlisted.append(f"{page} (python blocks at lines {', '.join(map(str, lines))})")
    assert not unlisted, (
        "these docs pages have python examples that no test runs; add them to PAGES (or mark "
        f"a block that cannot run with a '{_SKIP}' line before it): {'; '.join(unlisted)}"
    )
    assert not set(PAGES) & set(TESTED_ELSEWHERE)
    for page in [*PAGES, *TESTED_ELSEWHERE]:
        assert (DOCS / page).is_file(), f"{page} is listed but docs/{page} does not exist"
    for page, test_file in TESTED_ELSEWHERE.items():
        source = REPO / test_file
        assert source.is_file(), f"{page}: {test_file} does not exist"
        assert Path(page).name in source.read_text(encoding="utf-8"), (
            f"{test_file} does not mention {page}: does it still run the page's examples?"
        )


@pytest.fixture
def doc_env(tmp_path, monkeypatch):
    """An empty working directory, no CAPSA_* variables, and a clean plugin registry."""
    import os

    import capsa.plugins
    from capsa.backends.memory import MemoryBackend
    from capsa.plugins import manager

    for var in list(os.environ):
        if var.startswith("CAPSA_"):
            monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path / "src"))

    registered: list[str] = []
    original = manager.register_plugin

    def recording_register(plugin, name):
        registered.append(name)
        original(plugin, name)

    monkeypatch.setattr(manager, "register_plugin", recording_register)
    monkeypatch.setattr(capsa.plugins, "register_plugin", recording_register)
    modules_before = set(sys.modules)
    manager.reset_plugins()
    MemoryBackend.clear_all()
    yield tmp_path
    for name in registered:
        manager.unregister_plugin(name)
    manager.reset_plugins()
    MemoryBackend.clear_all()
    # Forget the example modules written under tmp_path.
    for mod_name in set(sys.modules) - modules_before:
        module = sys.modules.get(mod_name)
        origin = getattr(module, "__file__", None) or ""
        if origin.startswith(str(tmp_path)):
            del sys.modules[mod_name]


def _write_file(root: Path, block: Block, page: str) -> list[tuple[str, str, int]]:
    """Write a titled block; return the capsa entry points it declares (name, module, line)."""
    assert block.title is not None
    root = root.resolve()
    target = (root / block.title).resolve()
    assert root in target.parents, f"{page}:{block.line}: title {block.title!r} escapes the folder"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(block.code, encoding="utf-8")
    # Earlier blocks may have imported from src/ before it existed: forget what
    # the import system remembers about it, as a new interpreter would.
    importlib.invalidate_caches()
    if target.suffix == ".py":
        # A syntax error must fail even when no later block imports the module.
        compile(block.code, f"{page}:{block.line} ({block.title})", "exec")
    elif target.suffix == ".toml":
        data = tomllib.loads(block.code)
        if target.name == "pyproject.toml":
            eps = data.get("project", {}).get("entry-points", {}).get("capsa", {})
            return [(name, ref.split(":", 1)[0], block.line) for name, ref in eps.items()]
    return []


def _check_entry_points(root: Path, page: str, entry_points: list[tuple[str, str, int]]) -> None:
    """Every entry point a page's pyproject.toml declares must name a module the page defines."""
    for name, module, line in entry_points:
        path = root / "src" / Path(*module.split("."))
        assert path.with_suffix(".py").exists() or (path / "__init__.py").exists(), (
            f"{page}:{line}: entry point {name!r} names module {module!r}, "
            "which no titled block of the page defines"
        )


@pytest.mark.parametrize("page", PAGES)
def test_doc_page(page: str, doc_env: Path) -> None:
    for module in NEEDS.get(page, []):
        pytest.importorskip(module, reason=f"{page} needs {module}")
    from capsa.plugins.manager import CapsaPluginWarning

    path = DOCS / page
    blocks = extract_blocks(path.read_text(encoding="utf-8"))
    runnable = [b for b in blocks if b.lang == "python" and not b.skip and b.title is None]
    assert runnable, f"{page} has no runnable python block"
    namespace: dict[str, object] = {"__name__": f"docs_{Path(page).stem}"}
    entry_points: list[tuple[str, str, int]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", CapsaPluginWarning)
        for block in blocks:
            if block.skip:
                continue
            if block.title is not None:
                entry_points += _write_file(doc_env, block, page)
                continue
            if block.lang != "python":
                continue
            code = compile(block.code, f"{path}:{block.line}", "exec")
            try:
                exec(code, namespace)
            except Exception as exc:
                raise AssertionError(
                    f"the python block at {page} line {block.line} failed: "
                    f"{type(exc).__name__}: {exc}\n---\n{block.code}"
                ) from exc
    _check_entry_points(doc_env, page, entry_points)
