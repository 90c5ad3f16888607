"""Helpers of the capsa-cloud tests (kept out of conftest so imports are unambiguous)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass
class S3Server:
    """Where the loopback S3 server listens and how to reach it."""

    endpoint: str
    bucket: str
    options: dict[str, Any] = field(default_factory=dict)

    def url(self, prefix: str | None = None) -> str:
        """A fresh ``s3://bucket/prefix`` URL (a new prefix unless one is given)."""
        return f"s3://{self.bucket}/{prefix or 'run-' + uuid.uuid4().hex[:12]}"
