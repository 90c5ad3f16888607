"""Test isolation shared by capsa's suites and plugin authors' ones.

Each test should run with none of the machine's ``CAPSA_*`` settings (and,
for cloud tests, none of its cloud credentials), in a folder of its own, on
a fresh store::

    @pytest.fixture(autouse=True)
    def _clean_env(monkeypatch, tmp_path):
        isolate_environment(monkeypatch, tmp_path)

    @pytest.fixture(params=["file", "memory"])
    def backend_url(request, tmp_path):
        yield from fresh_store_url(request.param, tmp_path)
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CLOUD_ENV_PREFIXES = ("AWS_", "GOOGLE_", "AZURE_")
"""Prefixes of the clouds' standard variables (credentials, endpoints, regions)."""


def isolate_environment(
    monkeypatch: Any, tmp_path: Path | None = None, *, cloud: bool = False
) -> None:
    """Unset every ``CAPSA_*`` variable (and cloud ones with ``cloud=True``); run in ``tmp_path``.

    :param monkeypatch: pytest's ``monkeypatch`` fixture (undone after the test).
    :param tmp_path: the folder to run in (no stray ``capsa.toml``); None stays put.
    """
    prefixes = ("CAPSA_", *CLOUD_ENV_PREFIXES) if cloud else ("CAPSA_",)
    for var in list(os.environ):
        if var.startswith(prefixes):
            monkeypatch.delenv(var, raising=False)
    if tmp_path is not None:
        monkeypatch.chdir(tmp_path)


def fresh_store_url(kind: str, tmp_path: Path, *, name: str = "store") -> Iterator[str]:
    """Yield a new, empty store URL on a built-in backend; a memory store is cleared after.

    :param kind: ``"file"`` (a folder ``tmp_path/name``) or ``"memory"``.
    """
    from capsa.backends.memory import MemoryBackend

    if kind == "file":
        yield str(tmp_path / name)
        return
    if kind != "memory":
        raise ValueError(f"expected 'file' or 'memory', got {kind!r}")
    space = f"{name}-{uuid.uuid4().hex[:8]}"
    yield f"memory://{space}"
    MemoryBackend(space)._objects.clear()
