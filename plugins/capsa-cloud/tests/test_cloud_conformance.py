"""The s3:// backend passes capsa's conformance suite against both loopback S3 servers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from capsa_cloud.backend import S3Backend
from capsa_cloud.servers import LoopbackS3

from capsa.backends.base import Backend
from capsa.testing import BackendConformance


class _S3Conformance(BackendConformance):
    large_object_size = 40 << 20  # several multipart parts of the default 8 MiB
    many_objects = 1010  # more than one 1,000-key listing page

    server_fixture = ""

    @pytest.fixture
    def server(self, request: pytest.FixtureRequest) -> LoopbackS3:
        server: LoopbackS3 = request.getfixturevalue(self.server_fixture)
        return server

    @pytest.fixture
    def store_url(self, server: LoopbackS3) -> str:
        return server.url()

    @pytest.fixture
    def backend_options(self, server: LoopbackS3) -> dict[str, Any]:
        return dict(server.options)

    @pytest.fixture
    def backend(self, store_url: str, backend_options: dict[str, Any]) -> Iterator[Backend]:
        backend = S3Backend.from_url(store_url, backend_options)
        yield backend
        backend.delete_prefix("")


class TestS3OnMoto(_S3Conformance):
    server_fixture = "s3_server"


class TestS3OnSeaweedFS(_S3Conformance):
    server_fixture = "seaweedfs"
