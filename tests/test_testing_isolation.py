"""capsa.testing.isolation: clean environment and fresh stores for test suites."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import capsa
from capsa.testing.isolation import fresh_store_url, isolate_environment


def test_isolation_unsets_capsa_and_optionally_cloud_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CAPSA_STORE", "s3://somewhere/else")
    monkeypatch.setenv("CAPSA_NEW_SETTING", "1")  # any CAPSA_*, not a fixed list
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    isolate_environment(monkeypatch, tmp_path)
    assert "CAPSA_STORE" not in os.environ and "CAPSA_NEW_SETTING" not in os.environ
    assert os.environ["AWS_SECRET_ACCESS_KEY"] == "secret"
    assert Path.cwd() == tmp_path
    isolate_environment(monkeypatch, cloud=True)
    assert "AWS_SECRET_ACCESS_KEY" not in os.environ


def test_fresh_memory_stores_are_empty_and_cleared_after(tmp_path: Path) -> None:
    urls = fresh_store_url("memory", tmp_path)
    url = next(urls)
    store = capsa.open_store(url)
    store.save("k", "json", {"v": 1})
    assert next(fresh_store_url("memory", tmp_path)) != url
    with pytest.raises(StopIteration):
        next(urls)
    assert not capsa.open_store(url).exists("k")


def test_bad_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"expected 'file' or 'memory', got 's3'"):
        next(fresh_store_url("s3", tmp_path))
