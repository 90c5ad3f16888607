"""Results of ``Store.verify`` and ``Store.gc``, as msgspec Structs (``--json`` friendly)."""

from __future__ import annotations

import msgspec


class Problem(msgspec.Struct, kw_only=True):
    """One integrity problem.

    :ivar key: the artifact key.
    :ivar member: the member file, or ``"_SUCCESS"`` for the marker.
    :ivar problem: ``"missing"``, ``"size"``, ``"sha256"``, ``"marker"`` (the
        marker does not decode) or ``"version"`` (written by a newer capsa or
        plugin than the one verifying).
    :ivar detail: a human-readable explanation.
    """

    key: str
    member: str
    problem: str
    detail: str


class VerifyReport(msgspec.Struct, kw_only=True):
    """What ``verify`` checked and found.

    :ivar artifacts: how many artifacts were checked.
    :ivar members: how many members were re-hashed.
    :ivar bytes: how many bytes were hashed.
    :ivar problems: every mismatch found.
    """

    artifacts: int = 0
    members: int = 0
    bytes: int = 0
    problems: list[Problem] = msgspec.field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


class GcReport(msgspec.Struct, kw_only=True):
    """What ``gc`` found (and removed unless ``dry_run``).

    :ivar dry_run: whether anything was deleted.
    :ivar objects: keys of the debris objects.
    :ivar bytes: their total size.
    :ivar kept_recent: debris younger than the grace period, left alone.
    """

    dry_run: bool
    objects: list[str] = msgspec.field(default_factory=list)
    bytes: int = 0
    kept_recent: int = 0
