"""The ``zarr.array`` artifact kind: one Zarr v3 member ``array.zarr``."""

from __future__ import annotations

from typing import ClassVar

from capsa.kinds.base import ArtifactKind, MemberSpec


class ZarrArrayKind(ArtifactKind):
    """A chunked array (or a group of named arrays) in one ``array.zarr`` member.

    ``store.save(key, "zarr.array", arr)`` writes it;
    ``store.load(key)["array"]`` is a lazy, read-only ``zarr.Array`` (or
    ``zarr.Group``); ``store.load(key).read("array")`` reads numpy. Grow one
    batch by batch with :class:`capsa_zarr.ZarrAppender` inside
    ``store.transaction(key, "zarr.array")``.
    """

    name: ClassVar[str] = "zarr.array"
    version: ClassVar[int] = 1
    members: ClassVar[tuple[MemberSpec, ...]] = (
        MemberSpec(
            name="array",
            filename="array.zarr",
            format="zarr",
            description="the array (or a group of named arrays), Zarr v3",
        ),
    )
    description: ClassVar[str] = (
        "a chunked Zarr v3 array or group (array.zarr); lazy slices, appendable"
    )
