"""Plugin wiring, URL parsing and options: no server needed (gs:// and az:// included)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from typing import Any

import pytest
from capsa_cloud.backend import AzureBackend, CloudOptions, GCSBackend, S3Backend, split_url

from capsa.errors import ConfigError
from capsa.plugins.manager import get_registry


def test_importing_the_plugin_does_not_import_obstore() -> None:
    code = (
        "import json, sys\n"
        "import capsa_cloud, capsa_cloud.plugin\n"
        "from capsa.plugins.manager import get_registry\n"
        "r = get_registry()\n"
        "names = [r.backend(s).__name__ for s in ('s3', 'gs', 'az')]\n"
        "print(json.dumps([names, 'obstore' in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    names, obstore_loaded = json.loads(out.strip().splitlines()[-1])
    assert names == ["S3Backend", "GCSBackend", "AzureBackend"]
    assert obstore_loaded is False


def test_schemes_are_registered() -> None:
    registry = get_registry()
    assert registry.backend("s3") is S3Backend
    assert registry.backend("gs") is GCSBackend
    assert registry.backend("az") is AzureBackend
    for cls in (S3Backend, GCSBackend, AzureBackend):
        assert cls.supports_rename is False
        assert cls.description


@pytest.mark.parametrize(
    ("url", "scheme", "bucket", "prefix"),
    [
        ("s3://bucket", "s3", "bucket", ""),
        ("s3://bucket/", "s3", "bucket", ""),
        ("s3://bucket/a/b/", "s3", "bucket", "a/b"),
        ("S3://bucket/a", "s3", "bucket", "a"),
        ("gs://my-bucket/runs/2024", "gs", "my-bucket", "runs/2024"),
        ("az://container/deep/prefix", "az", "container", "deep/prefix"),
    ],
)
def test_split_url(url: str, scheme: str, bucket: str, prefix: str) -> None:
    assert split_url(url, scheme) == (bucket, prefix)


@pytest.mark.parametrize(
    "url",
    [
        "s3://",
        "s3:///prefix",
        "gs://b/a//b",
        "s3://b/../x",
        "s3://b/p?region=x",
        "gs:/b",
        "s3://b/#",
    ],
)
def test_split_url_refuses(url: str) -> None:
    with pytest.raises(ConfigError):
        split_url(url, "s3" if url.startswith("s3") else "gs")


def test_scheme_mismatch_is_refused() -> None:
    with pytest.raises(ConfigError, match="expected a gs:// URL"):
        GCSBackend.from_url("s3://bucket/x", {})


def test_options_are_split_for_obstore() -> None:
    opts = CloudOptions(
        {
            "region": "eu-west-1",
            "endpoint": "http://127.0.0.1:9000",
            "allow_http": True,
            "timeout": 30,
            "connect_timeout": "5s",
            "max_retries": 3,
            "retry_timeout": 120,
            "init_backoff": 0.1,
            "chunk_size": 16 << 20,
            "max_concurrency": 4,
            "client_options": {"user_agent": "capsa-test"},
        }
    )
    assert opts.config == {"region": "eu-west-1", "endpoint": "http://127.0.0.1:9000"}
    assert opts.client == {
        "allow_http": True,
        "timeout": dt.timedelta(seconds=30),
        "connect_timeout": "5s",
        "user_agent": "capsa-test",
    }
    assert opts.retry == {
        "max_retries": 3,
        "retry_timeout": dt.timedelta(seconds=120),
        "backoff": {"init_backoff": dt.timedelta(seconds=0.1)},
    }
    assert (opts.chunk_size, opts.max_concurrency) == (16 << 20, 4)


@pytest.mark.parametrize(
    "options",
    [
        {"chunk_size": 1024},
        {"max_concurrency": 0},
        {"max_retries": -1},
        {"retry_timeout": "soon"},
        {"client_options": "x"},
    ],
)
def test_bad_options_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        CloudOptions(options)


def test_unknown_store_option_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="bogus"):
        S3Backend.from_url("s3://bucket/x", {"bogus": 1, "region": "us-east-1"})


def test_gcs_backend_opens_without_network() -> None:
    backend = GCSBackend.from_url("gs://my-bucket/runs/", {"timeout": 10, "max_retries": 1})
    assert backend.url == "gs://my-bucket/runs"
    assert (backend.bucket, backend.prefix) == ("my-bucket", "runs")
    assert backend.join("a/b") == "gs://my-bucket/runs/a/b"
    assert "GCSStore" in repr(backend._connect())


def test_azure_backend_opens_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = AzureBackend.from_url("az://container/p", {"account_name": "acct"})
    assert backend.url == "az://container/p"
    assert "acct" in repr(backend._connect())
    # Without an account name (option or environment variable) opening fails clearly.
    with pytest.raises(ConfigError, match="az://container"):
        AzureBackend.from_url("az://container", {})
    # The account may come from the standard environment variable instead.
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", "fromenv")
    assert AzureBackend.from_url("az://container", {})._connect() is not None
