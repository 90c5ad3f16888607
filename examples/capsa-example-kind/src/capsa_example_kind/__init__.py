"""An example third-party capsa plugin adding the ``example.experiment`` kind."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from capsa import hookimpl
from capsa.errors import ValidationError
from capsa.kinds import ArtifactKind, MemberSpec

__version__ = "0.1.0"


class ExperimentKind(ArtifactKind):
    """Parameters of an experiment plus an optional free-text log."""

    name: ClassVar[str] = "example.experiment"
    version: ClassVar[int] = 1
    members: ClassVar[tuple[MemberSpec, ...]] = (
        MemberSpec(name="params", filename="params.json", format="json"),
        MemberSpec(name="log", filename="log.txt", format="text", required=False),
    )
    description: ClassVar[str] = "experiment parameters (params.json) + optional log.txt"

    def validate(self, members: Mapping[str, Any]) -> None:
        """Require a dict of params with a non-empty ``name``."""
        super().validate(members)
        params = members["params"]
        if not isinstance(params, dict) or not params.get("name"):
            raise ValidationError("params must be a dict with a non-empty 'name'")


@hookimpl
def capsa_register_artifact_kinds(register: Callable[[ArtifactKind], None]) -> None:
    """Register the example kind."""
    register(ExperimentKind())
