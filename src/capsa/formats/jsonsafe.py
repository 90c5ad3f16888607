"""Checks and conversions that keep values representable in strict JSON."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from capsa.errors import ValidationError


def check_finite(value: Any, path: str = "$") -> None:
    """Raise :class:`ValidationError` at the first NaN or infinity inside ``value``.

    JSON has no NaN; msgspec would silently write ``null``. The error names
    the path (``$.metrics.loss``) of the offending float.
    """
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                raise ValidationError(f"{where} is {item!r}: JSON cannot hold NaN or infinity")
        elif isinstance(item, Mapping):
            for k, v in item.items():
                stack.append((v, f"{where}.{k}"))
        elif isinstance(item, list | tuple):
            for i, v in enumerate(item):
                stack.append((v, f"{where}[{i}]"))
        elif type(item).__module__ == "numpy":
            # numpy scalars and arrays: check after conversion.
            stack.append((to_builtin(item), where))


def to_builtin(obj: Any) -> Any:
    """``enc_hook`` for msgspec: turn numpy scalars/arrays into Python values.

    Other unsupported types raise ``NotImplementedError``, which msgspec turns
    into a clear "unsupported type" error.
    """
    if type(obj).__module__ == "numpy":
        if hasattr(obj, "tolist"):
            return obj.tolist()
        if hasattr(obj, "item"):
            return obj.item()
    raise NotImplementedError(f"cannot encode objects of type {type(obj).__qualname__}")
