"""Deterministic run directories: ``<root>/<name>/<fingerprint>/[attempt-<n>/]``.

A run directory is an ``experiment.run`` artifact in a capsa store, so its
commit is atomic (nothing is visible before ``_SUCCESS``), it is verified by
``capsa verify``, and ``root`` may be a local folder or any capsa URL
(``memory://``, ``s3://`` ...). Its key is::

    [<prefix>/]<name>/<fingerprint>                 without attempts
    [<prefix>/]<name>/<fingerprint>/attempt-<n>     with attempts (n = 1, 2, ...)

The same config always gives the same fingerprint, so a run repeated lands
under the same folder. With attempts (the runner's default), every try is
kept: a failed attempt stays on record and the next try is ``attempt-<n+1>``;
a run that has a successful attempt is skipped on resume. Without attempts,
a run has one directory; a failed one can be retried only where the store
allows overwriting (development and test modes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capsa.errors import ArtifactNotFoundError, CapsaError, ConfigError
from capsa.experiments.kind import RUN_KIND
from capsa.experiments.records import (
    CONFIG_FILE,
    DATASET_MANIFEST_FILE,
    ENVIRONMENT_FILE,
    METRICS_FILE,
    PREDICTIONS_FILE,
    RUN_LOG_FILE,
    STATUS_FILE,
)
from capsa.store.keys import validate_prefix

if TYPE_CHECKING:
    from capsa.experiments.sweeps import ConcreteRun
    from capsa.store.artifact import Artifact
    from capsa.store.store import Store

_ATTEMPT = re.compile(r"^attempt-([1-9][0-9]*)$")
_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")


def run_key(name: str, fingerprint: str, attempt: int | None = None, *, prefix: str = "") -> str:
    """The store key of a run directory (see the module docs)."""
    from capsa.experiments.sweeps import check_name

    check_name(name)
    if not _FINGERPRINT.match(fingerprint):
        raise ConfigError(f"expected a sha256 hex fingerprint, got {fingerprint!r}")
    parts = [prefix.strip("/")] if prefix.strip("/") else []
    parts += [name, fingerprint]
    if attempt is not None:
        if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
            raise ConfigError(f"attempt must be a positive int, got {attempt!r}", key="attempt")
        parts.append(f"attempt-{attempt}")
    return "/".join(parts)


@dataclass(frozen=True)
class RunPaths:
    """Where one run's files are (seed 002's ``ResultPaths``).

    Keys are store keys; ``*_path`` attributes are URLs (local paths on a
    local store, when ``run_dir`` is known to the backend).

    :ivar run_fingerprint: the config fingerprint.
    :ivar run_root: key of ``<name>/<fingerprint>``.
    :ivar run_dir: key of the run directory (``run_root`` or its ``attempt-<n>``).
    :ivar attempt: the attempt number, or None.
    :ivar url: URL of the run directory.
    :ivar local_dir: the folder on disk, for local stores.
    """

    run_fingerprint: str
    run_root: str
    run_dir: str
    attempt: int | None
    url: str
    local_dir: Path | None

    @classmethod
    def for_run(
        cls, run: ConcreteRun[Any], store: Store, *, attempt: int | None = None, prefix: str = ""
    ) -> RunPaths:
        """The paths of ``run`` (attempt ``attempt``) in ``store``."""
        root = run_key(run.name, run.fingerprint, prefix=prefix)
        key = run_key(run.name, run.fingerprint, attempt, prefix=prefix)
        return cls(
            run_fingerprint=run.fingerprint,
            run_root=root,
            run_dir=key,
            attempt=attempt,
            url=store.url_for(key),
            local_dir=store.backend.local_path(store._full(key)),
        )

    @classmethod
    def for_bundle(
        cls,
        bundle: ConcreteRun[Any],
        *,
        store: Store,
        run_attempt: int | None = None,
        prefix: str = "",
    ) -> RunPaths:
        """Seed 002's spelling of :meth:`for_run` (``bundle`` is a concrete run)."""
        return cls.for_run(bundle, store, attempt=run_attempt, prefix=prefix)

    def _member(self, file: str) -> str:
        if self.local_dir is not None:
            return str(self.local_dir / file)
        return f"{self.url.rstrip('/')}/{file}"

    @property
    def config_path(self) -> str:
        """``config.json``."""
        return self._member(CONFIG_FILE)

    @property
    def environment_path(self) -> str:
        """``environment.json``."""
        return self._member(ENVIRONMENT_FILE)

    @property
    def status_path(self) -> str:
        """``status.json``."""
        return self._member(STATUS_FILE)

    @property
    def run_log_path(self) -> str:
        """``run.log``."""
        return self._member(RUN_LOG_FILE)

    @property
    def dataset_manifest_path(self) -> str:
        """``dataset_manifest.json``."""
        return self._member(DATASET_MANIFEST_FILE)

    @property
    def metrics_path(self) -> str:
        """``metrics.json``."""
        return self._member(METRICS_FILE)

    @property
    def predictions_path(self) -> str:
        """``predictions.jsonl``."""
        return self._member(PREDICTIONS_FILE)


ResultPaths = RunPaths
"""Seed 002's name for :class:`RunPaths`."""


def prepare_result_paths(
    bundle: ConcreteRun[Any], *, store: Store, run_attempt: int | None = None, prefix: str = ""
) -> RunPaths:
    """The paths of a run's directory (seed 002's function; nothing is written)."""
    return RunPaths.for_run(bundle, store, attempt=run_attempt, prefix=prefix)


@dataclass(frozen=True)
class RecordedRun:
    """A committed run directory, as found in a store.

    :ivar key: its store key.
    :ivar attempt: its attempt number, None for a run stored without attempts.
    :ivar status: ``success``, ``partial`` or ``failed``.
    :ivar created_at: commit time.
    """

    key: str
    attempt: int | None
    status: str
    created_at: str


def recorded_runs(
    store: Store, name: str, fingerprint: str, *, prefix: str = ""
) -> list[RecordedRun]:
    """Every committed directory of one run, attempts in increasing order.

    A directory stored without attempts comes back with ``attempt=None``.
    Artifacts under the run root that are not ``experiment.run`` are refused.
    """
    root = run_key(name, fingerprint, prefix=prefix)
    validate_prefix(root)
    found: list[RecordedRun] = []
    if store.exists(root):
        found.append(_recorded(store, root, None))
        return found
    for info in store.iter_artifacts(f"{root}/"):
        tail = info.key[len(root) + 1 :]
        match = _ATTEMPT.match(tail)
        if match is None:
            continue
        found.append(_recorded(store, info.key, int(match.group(1))))
    found.sort(key=lambda r: r.attempt or 0)
    return found


def _recorded(store: Store, key: str, attempt: int | None) -> RecordedRun:
    manifest = store.manifest(key)
    if manifest.kind != RUN_KIND:
        raise CapsaError(
            f"{key!r} in {store.url} is a {manifest.kind!r} artifact, not an {RUN_KIND!r} run "
            "directory; choose another root or prefix"
        )
    status = manifest.meta.get("status")
    return RecordedRun(
        key=key,
        attempt=attempt,
        status=status if isinstance(status, str) else "failed",
        created_at=manifest.created_at,
    )


def successful_run(
    store: Store, name: str, fingerprint: str, *, prefix: str = ""
) -> RecordedRun | None:
    """The first successful directory of a run, or None (what resume checks)."""
    for record in recorded_runs(store, name, fingerprint, prefix=prefix):
        if record.status == "success":
            return record
    return None


def load_run(store: Store, key: str, *, verify: bool = False) -> Artifact:
    """Open a run directory; ``artifact["metrics"]``, ``artifact["status"]`` ... read its files."""
    artifact = store.load(key, verify=verify)
    if artifact.manifest.kind != RUN_KIND:
        raise ArtifactNotFoundError(
            f"{key!r} in {store.url} is a {artifact.manifest.kind!r} artifact, not a run directory"
        )
    return artifact


__all__ = [
    "RecordedRun",
    "ResultPaths",
    "RunPaths",
    "load_run",
    "prepare_result_paths",
    "recorded_runs",
    "run_key",
    "successful_run",
]
