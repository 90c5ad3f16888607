"""A real S3 server (moto) on 127.0.0.1, started once per test session."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator

import pytest
from cloud_helpers import S3Server

BUCKET = "capsa-test"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server on a free port of 127.0.0.1, with one bucket; stopped at the end."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        assert host == "127.0.0.1"
        endpoint = f"http://127.0.0.1:{port}"
        # Creating the bucket is not the backend's job: one plain HTTP PUT to moto.
        req = urllib.request.Request(f"{endpoint}/{BUCKET}", method="PUT")
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
        options = {
            "endpoint": endpoint,
            "allow_http": True,
            "region": "us-east-1",
            "access_key_id": "testing",
            "secret_access_key": "testing",
            "max_retries": 2,
            "timeout": 60,
        }
        yield S3Server(endpoint=endpoint, bucket=BUCKET, options=options)
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _no_cloud_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the machine's cloud credentials, endpoints and capsa settings out of the tests."""
    for var in list(os.environ):
        if var.startswith(("AWS_", "GOOGLE_", "AZURE_", "CAPSA_")):
            monkeypatch.delenv(var, raising=False)
