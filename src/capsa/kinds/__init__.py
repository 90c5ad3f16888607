"""Artifact kinds: named, versioned layouts of members.

:class:`ArtifactKind` is the extension point; the core's generic kinds are in
:mod:`capsa.kinds.generic`.
"""

from capsa.kinds.base import ArtifactKind, LegacyLayout, MemberSpec, typed_kind

__all__ = ["ArtifactKind", "LegacyLayout", "MemberSpec", "typed_kind"]
