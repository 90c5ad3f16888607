"""The ``arrays`` artifact kind: one npz member holding named arrays."""

from __future__ import annotations

from typing import ClassVar

from capsa.kinds.base import ArtifactKind, MemberSpec


class ArraysKind(ArtifactKind):
    """Named numpy arrays (or a single array) in one ``arrays.npz`` member.

    ``store.save(key, "arrays", {"x": x, "y": y})`` writes them;
    ``store.load(key)["arrays"]`` gives a lazy mapping that reads each array
    on first access (or the array itself when a single array was saved).
    """

    name: ClassVar[str] = "arrays"
    version: ClassVar[int] = 1
    members: ClassVar[tuple[MemberSpec, ...]] = (
        MemberSpec(
            name="arrays",
            filename="arrays.npz",
            format="npz",
            description="the arrays, by name, in a .npz archive",
        ),
    )
    description: ClassVar[str] = (
        "named numpy arrays (dict of str to ndarray, or one ndarray) in arrays.npz"
    )
