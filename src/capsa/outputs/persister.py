"""The persister: writes what steps return, where it belongs, as the flags allow.

::

    with Persister(store, "regression_Q1_47be36") as persister:
        persister.persist(fit_step(data), step="fit")
        persister.persist(chart_step(data), step="charts")
    # committed here: artifacts/regression_Q1_47be36 and exports/regression_Q1_47be36

* **Outputs** go to ``exports/<group>`` (an ``exports`` artifact) under their
  readable names: ``exports/<group>/<name>.<ext>`` (``<step>/<name>.<ext>``
  when ``step`` is given), plain files anyone can open.
* **Artifacts** go to ``artifacts/<group>`` (a ``step.artifacts`` artifact)
  whose members are stored by reference: each is a content-addressed object,
  so identical models from many runs are stored once.
* ``save_artifacts`` and ``save_outputs`` switch each half off; with both off
  (a dry run) nothing at all is written: no file, no object, no catalog row.

Everything a :meth:`Persister.persist` call is given is checked before any
of it is written; the two artifacts are committed atomically by
:meth:`Persister.close` (artifacts first, then exports), and an exception
inside the ``with`` block discards both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from capsa.errors import ArtifactExistsError, CapsaError, ValidationError
from capsa.outputs.formats import artifact_format, output_format
from capsa.outputs.kinds import EXPORTS_KIND, STEP_ARTIFACTS_KIND
from capsa.outputs.step import StepOutput
from capsa.store.keys import validate_key

if TYPE_CHECKING:
    from capsa.formats.base import Format
    from capsa.store.artifact import ArtifactRef
    from capsa.store.store import Store
    from capsa.store.transaction import Transaction

EXPORTS_PREFIX = "exports"
"""Top-level folder of the exports area."""

ARTIFACTS_PREFIX = "artifacts"
"""Top-level folder of the artifacts persisted by reference."""


class StoredObject(msgspec.Struct, frozen=True, kw_only=True):
    """One step artifact stored by reference.

    :ivar name: the name the step gave it.
    :ivar member: its member file in ``artifacts/<group>``.
    :ivar digest: the content-addressed object's sha256.
    :ivar size: its size in bytes.
    """

    name: str
    member: str
    digest: str
    size: int


class PersistReport(msgspec.Struct, kw_only=True):
    """What a persister wrote.

    :ivar group: the group.
    :ivar dry_run: True when both flags were off (nothing was written).
    :ivar outputs: member files written to the exports artifact.
    :ivar artifacts: the objects stored by reference.
    :ivar exports_key: the exports artifact's key, once committed.
    :ivar artifacts_key: the artifacts artifact's key, once committed.
    """

    group: str
    dry_run: bool
    outputs: list[str] = msgspec.field(default_factory=list)
    artifacts: list[StoredObject] = msgspec.field(default_factory=list)
    exports_key: str | None = None
    artifacts_key: str | None = None


class Persister:
    """Writes :class:`~capsa.outputs.step.StepOutput` s of one group (see the module docs).

    :param store: the store to write to.
    :param group: the group name (``"regression_Q1_47be36"``; ``/`` nests).
    :param save_artifacts: persist ``StepOutput.artifacts``.
    :param save_outputs: persist ``StepOutput.outputs``.
    :param allow_pickle: pickle artifacts no other format writes (loading
        them then needs ``trusted=True``).
    :param meta: metadata for both manifests.
    :raises ArtifactExistsError: in production, when the group was already persisted.
    """

    def __init__(
        self,
        store: Store,
        group: str,
        *,
        save_artifacts: bool = True,
        save_outputs: bool = True,
        allow_pickle: bool = False,
        meta: dict[str, Any] | None = None,
    ):
        for flag, value in (("save_artifacts", save_artifacts), ("save_outputs", save_outputs)):
            if not isinstance(value, bool):
                raise ValidationError(f"{flag} must be True or False, got {value!r}")
        validate_key(group)
        self.store = store
        self.group = group
        self.save_artifacts = save_artifacts
        self.save_outputs = save_outputs
        self.allow_pickle = allow_pickle
        self.meta = {"group": group, **dict(meta or {})}
        self.exports_key = f"{EXPORTS_PREFIX}/{group}"
        """Key of the exports artifact."""
        self.artifacts_key = f"{ARTIFACTS_PREFIX}/{group}"
        """Key of the artifacts artifact."""
        for wanted, key in ((save_outputs, self.exports_key), (save_artifacts, self.artifacts_key)):
            if wanted:
                store._full(key)  # a bad key fails now, before any step runs
                if not store.overwrite and store.exists(key):
                    raise ArtifactExistsError(
                        f"artifact {key!r} already exists in {store.url} and {store.mode} "
                        f"artifacts are immutable; choose another group than {group!r}"
                    )
        self._exports: Transaction | None = None
        self._artifacts: Transaction | None = None
        self._files: set[str] = set()
        self._state = "open"
        self.report = PersistReport(group=group, dry_run=not (save_artifacts or save_outputs))
        """What was written so far."""

    @property
    def dry_run(self) -> bool:
        """True when neither artifacts nor outputs are saved."""
        return self.report.dry_run

    def _require_open(self) -> None:
        if self._state != "open":
            raise CapsaError(f"persister of group {self.group!r} is already {self._state}")

    def _member(self, step: str | None, file: str, what: str) -> str:
        member = f"{step}/{file}" if step else file
        if member in self._files:
            raise ValidationError(
                f"group {self.group!r}: {what} {member!r} was already persisted"
                + ("" if step else " (give each step a step= name)")
            )
        return member

    def persist(self, output: StepOutput, *, step: str | None = None) -> PersistReport:
        """Write one step's output as the flags allow; return the running report.

        Everything is checked first (names, duplicates, formats); nothing of
        this call is written when a check fails. A failure while writing
        discards everything this persister wrote.
        """
        self._require_open()
        if not isinstance(output, StepOutput):
            raise ValidationError(
                f"group {self.group!r}: persist() takes a StepOutput, got {type(output).__name__}"
            )
        if step is not None:
            if not isinstance(step, str) or "/" in step:
                raise ValidationError(f"step must be a name without '/', got {step!r}")
            validate_key(step)
        output.validate()
        registry = self.store.registry
        planned_outputs: list[tuple[str, Any, Format]] = []
        planned_artifacts: list[tuple[str, str, Any, Format]] = []
        names: set[str] = set()
        if self.save_outputs:
            for file, data in output.output_files():
                member = self._member(step, file, "output")
                planned_outputs.append((member, data, output_format(registry, file, data)))
                names.add(member)
        if self.save_artifacts:
            for name, value in output.artifacts.items():
                file, fmt = artifact_format(registry, name, value, allow_pickle=self.allow_pickle)
                member = self._member(step, file, "artifact")
                if member in names:
                    raise ValidationError(f"group {self.group!r}: {member!r} given twice")
                names.add(member)
                planned_artifacts.append((name, member, value, fmt))
        try:
            for member, data, fmt in planned_outputs:
                tx = self._transaction("exports")
                tx.write(member, data, format=fmt.name, validate=False)
                self._files.add(member)
                self.report.outputs.append(member)
            for name, member, value, fmt in planned_artifacts:
                tx = self._transaction("artifacts")
                record = tx.write(member, value, format=fmt.name, validate=False, by_reference=True)
                self._files.add(member)
                self.report.artifacts.append(
                    StoredObject(name=name, member=member, digest=record.sha256, size=record.size)
                )
        except BaseException:
            self.abort()
            raise
        return self.report

    def _transaction(self, which: str) -> Transaction:
        if which == "exports":
            if self._exports is None:
                self._exports = self.store.transaction(
                    self.exports_key, EXPORTS_KIND, meta=self.meta
                )
            return self._exports
        if self._artifacts is None:
            self._artifacts = self.store.transaction(
                self.artifacts_key, STEP_ARTIFACTS_KIND, meta=self.meta
            )
        return self._artifacts

    def close(self) -> PersistReport:
        """Commit what was persisted (artifacts, then exports); return the report."""
        self._require_open()
        try:
            refs: dict[str, ArtifactRef] = {}
            if self._artifacts is not None:
                refs["artifacts"] = self._artifacts.commit()
            if self._exports is not None:
                refs["exports"] = self._exports.commit()
        except BaseException:
            self.abort()
            raise
        self._state = "closed"
        if "artifacts" in refs:
            self.report.artifacts_key = refs["artifacts"].key
        if "exports" in refs:
            self.report.exports_key = refs["exports"].key
        return self.report

    def abort(self) -> None:
        """Discard everything not yet committed."""
        if self._state != "open":
            return
        self._state = "aborted"
        for tx in (self._artifacts, self._exports):
            if tx is not None:
                tx.abort()

    def __enter__(self) -> Persister:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()
        elif self._state == "open":
            self.close()


def persist(
    store: Store,
    output: StepOutput,
    *,
    group: str,
    save_artifacts: bool = True,
    save_outputs: bool = True,
    allow_pickle: bool = False,
    meta: dict[str, Any] | None = None,
) -> PersistReport:
    """Persist one :class:`StepOutput` as one group, committed at once."""
    with Persister(
        store,
        group,
        save_artifacts=save_artifacts,
        save_outputs=save_outputs,
        allow_pickle=allow_pickle,
        meta=meta,
    ) as persister:
        persister.persist(output)
    return persister.report


__all__ = [
    "ARTIFACTS_PREFIX",
    "EXPORTS_PREFIX",
    "PersistReport",
    "Persister",
    "StoredObject",
    "persist",
]
