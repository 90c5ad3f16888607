"""Reusable pytest checks that a storage backend keeps capsa's contract.

A backend's test module subclasses :class:`BackendConformance` and provides a
``backend`` fixture returning a fresh, empty backend::

    import pytest
    from capsa.testing import BackendConformance

    class TestMyBackend(BackendConformance):
        @pytest.fixture
        def backend(self):
            return MyBackend.from_url("my://bucket/fresh-prefix", {})

Every test method of the class then runs against it: the object-level
contract (put, get, ranged get, head, list, delete, create-only races,
streamed writers, missing keys, large objects, unusual key characters) and
the store's commit protocol on top of it (save, load, verify, immutability
under racing writers, gc, aborted transactions, directory members).

Importing this module imports pytest; import it from tests only.
"""

from capsa.testing.conformance import BackendConformance

__all__ = ["BackendConformance"]
