"""The ``zarr`` format: a Zarr v3 array or group as a directory member.

Importing this module imports neither zarr nor numpy; they are imported when
a member is validated, written or read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from capsa.errors import ValidationError
from capsa.formats.base import Format, MemberSource

if TYPE_CHECKING:
    from capsa_zarr.options import ArrayPlan


def _check_array(value: Any, name: str) -> None:
    import numpy as np

    from capsa_zarr.options import label

    if not isinstance(value, np.ndarray):
        raise ValidationError(
            f"{label(name)} must be a numpy.ndarray, got "
            f"{type(value).__module__}.{type(value).__qualname__} (convert with numpy.asarray)"
        )
    if isinstance(value, np.ma.MaskedArray):
        raise ValidationError(f"{label(name)} is a masked array; Zarr has no mask (use .filled())")


def plan_value(value: Any, options: Mapping[str, Any]) -> list[ArrayPlan]:
    """Validate ``value`` and ``options``; return one plan per array ("" for a single array)."""
    from capsa_zarr.options import (
        check_attributes,
        check_common,
        check_name,
        plan_array,
        shared_dimension_names,
    )

    check_common(options)
    if isinstance(value, Mapping):
        if not value:
            raise ValidationError("a zarr group needs at least one array")
        names = [check_name(n) for n in value]
        plans = []
        for name in names:
            _check_array(value[name], name)
            plans.append(
                plan_array(name, value[name].shape, value[name].dtype, options, names=names)
            )
        dims = options.get("dimension_names")
        explicit = set(dims) if isinstance(dims, Mapping) else set(names) if dims else set()
        check_attributes(options.get("attributes"))
        return shared_dimension_names(plans, explicit)
    _check_array(value, "")
    return [plan_array("", value.shape, value.dtype, options)]


class ZarrFormat(Format):
    """Zarr v3: one array at the member root, or a group of named arrays.

    Write a ``numpy.ndarray`` or a ``dict`` of name to ``numpy.ndarray``.
    ``read_lazy`` (``artifact[name]``) returns a read-only ``zarr.Array`` /
    ``zarr.Group`` whose slices read only the chunks they touch; ``read``
    returns numpy (a dict of numpy for a group). Options: ``chunks``,
    ``shards``, ``compressor`` (None, "zstd", "blosc"), ``level``,
    ``checksum``, ``dimension_names``, ``attributes``; see docs/zarr.md.
    """

    name: ClassVar[str] = "zarr"
    extensions: ClassVar[tuple[str, ...]] = (".zarr",)
    writes: ClassVar[tuple[str, ...]] = ("numpy.ndarray", "builtins.dict")
    description: ClassVar[str] = (
        "Zarr v3 arrays/groups as directory members; lazy chunked reads, appendable"
    )
    lazy: ClassVar[bool] = True
    directory: ClassVar[bool] = True

    def validate(self, value: object, **options: Any) -> None:
        """Check the value (ndarray or dict of ndarrays) and every option before writing."""
        from capsa_zarr.options import check_common  # dataclasses: not at discovery

        check_common(options)
        super().validate(value)
        plan_value(value, options)

    def write(self, value: Any, sink: Any, **options: Any) -> Mapping[str, Any] | None:
        """Write the array (or group) through the member's directory writer."""
        import zarr

        from capsa_zarr.options import check_attributes
        from capsa_zarr.store import CapsaZarrStore
        from capsa_zarr.zarrio import create_array, direct_io_ok, write_chunks_direct

        directory = sink
        plans = plan_value(value, options)
        store = CapsaZarrStore.writing(directory)
        single = not isinstance(value, Mapping)
        if not single:
            zarr.create_group(
                store=store, zarr_format=3, attributes=check_attributes(options.get("attributes"))
            )
        for plan in plans:
            data = value if single else value[plan.name]
            array = create_array(store, plan)
            if direct_io_ok(plan):
                write_chunks_direct(
                    directory, plan, data, prefix=f"{plan.name}/" if plan.name else ""
                )
            elif plan.shape:
                array[...] = data
            else:
                array[()] = data
        if single:
            return {"node": "array", **plans[0].describe()}
        return {"node": "group", "arrays": {p.name: p.describe() for p in plans}}

    def read(self, source: MemberSource, **options: Any) -> Any:
        """Read everything: a numpy array, or a dict of name -> numpy array for a group."""
        from capsa.formats.json import _known_options
        from capsa_zarr.zarrio import read_all

        _known_options(self.name, options, set())
        return read_all(source)  # type: ignore[arg-type]

    def read_lazy(self, source: MemberSource, **options: Any) -> Any:
        """Open read-only: a ``zarr.Array`` or ``zarr.Group`` reading chunks on demand."""
        from capsa.formats.json import _known_options
        from capsa_zarr.zarrio import open_lazy

        _known_options(self.name, options, set())
        return open_lazy(source)  # type: ignore[arg-type]
