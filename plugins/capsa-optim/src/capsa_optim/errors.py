"""Errors specific to capsa-optim (each a subclass of a core :mod:`capsa.errors` type)."""

from __future__ import annotations

from capsa.errors import CapsaError, ValidationError


class LayoutMismatchError(ValidationError):
    """A trace's θ layout (IndexMap ``layout_hash``) differs from the decoder's or spec's.

    Raised by :func:`capsa_optim.load_trace` (``expect_layout=``) and by the
    signal builders when a decoder announces a ``layout_hash``: decoding θ
    with the wrong packing order would silently give wrong physics.
    """


class MissingDependencyError(CapsaError, ImportError):
    """An optional dependency of the feature asked for is not installed.

    The message says which extra to install (``pip install capsa-optim[plot]``).
    """
