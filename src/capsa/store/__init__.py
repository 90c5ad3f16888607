"""The store: atomic commits, manifests, verification, modes and gc."""

from capsa.store.artifact import Artifact, ArtifactRef
from capsa.store.events import CommitEvent
from capsa.store.manifest import MANIFEST_SCHEMA, MANIFEST_VERSION, Manifest, MemberRecord
from capsa.store.reports import GcReport, Problem, VerifyReport
from capsa.store.store import ArtifactInfo, ListingProgress, Store

__all__ = [
    "MANIFEST_SCHEMA",
    "MANIFEST_VERSION",
    "Artifact",
    "ArtifactInfo",
    "ArtifactRef",
    "CommitEvent",
    "GcReport",
    "ListingProgress",
    "Manifest",
    "MemberRecord",
    "Problem",
    "Store",
    "VerifyReport",
]
