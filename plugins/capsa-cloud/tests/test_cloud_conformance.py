"""The s3:// backend passes capsa's conformance suite against a real S3 server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from capsa_cloud.backend import S3Backend
from cloud_helpers import S3Server

from capsa.backends.base import Backend
from capsa.testing import BackendConformance


class TestS3Backend(BackendConformance):
    large_object_size = 40 << 20  # several multipart parts of the default 8 MiB
    many_objects = 1010  # more than one 1,000-key listing page

    @pytest.fixture
    def store_url(self, s3_server: S3Server) -> str:
        return s3_server.url()

    @pytest.fixture
    def backend_options(self, s3_server: S3Server) -> dict[str, Any]:
        return dict(s3_server.options)

    @pytest.fixture
    def backend(self, store_url: str, backend_options: dict[str, Any]) -> Iterator[Backend]:
        backend = S3Backend.from_url(store_url, backend_options)
        yield backend
        backend.delete_prefix("")
