"""Packages resolve their public names on first use (capsa.lazy_exports)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import capsa
import capsa.experiments


def test_names_resolve_on_first_use_and_are_cached() -> None:
    code = (
        "import sys, capsa.experiments as e\n"
        "assert 'capsa.experiments.fingerprint' not in sys.modules\n"
        "f = e.stable_fingerprint\n"  # a relative target (".fingerprint")
        "assert 'capsa.experiments.fingerprint' in sys.modules\n"
        "assert e.__dict__['stable_fingerprint'] is f\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert "open_store" in dir(capsa) and "stable_fingerprint" in dir(capsa.experiments)


def test_an_unknown_name_is_an_attribute_error_naming_the_package() -> None:
    with pytest.raises(AttributeError, match=r"module 'capsa.experiments' has no attribute 'nope'"):
        capsa.experiments.nope  # noqa: B018
    assert not hasattr(capsa, "nope")
