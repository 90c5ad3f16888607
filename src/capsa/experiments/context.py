"""What a running step sees: its config, and a handle that writes into its run directory.

A step is a function ``step(ctx) -> metrics | None``. Everything it writes
through ``ctx`` goes into the run directory's store transaction, so it
becomes visible all at once when the run is committed (and not at all if
the process dies first)::

    def train(ctx: RunContext[TrainConfig]) -> dict[str, float]:
        ctx.log(f"training {ctx.config.model}")
        ctx.add_input("data/train.csv", role="train")      # sha256 streamed
        ctx.write_predictions([{"id": 1, "score": 0.7}])   # predictions.jsonl
        ctx.write("weights.json", {"w": [0.1, 0.2]})       # any extra file
        return {"loss": 0.12}                              # metrics.json

The run log (``run.log``) collects :meth:`RunContext.log` lines, records
sent to ``ctx.logger``, and records that reach the root logger from the
run's own thread. It is kept in memory and written at the end of the run.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from capsa.errors import ValidationError
from capsa.experiments.fingerprint import sha256_for_file
from capsa.experiments.records import PREDICTIONS_FILE, RESERVED_FILES, InputRecord

if TYPE_CHECKING:
    from capsa.experiments.rundirs import RunPaths
    from capsa.experiments.sweeps import ConcreteRun
    from capsa.store.manifest import MemberRecord
    from capsa.store.store import Store
    from capsa.store.transaction import Transaction

C = TypeVar("C")

_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def utc_now() -> str:
    """The current UTC time, ISO-8601 with milliseconds and ``Z``."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _UtcFormatter(logging.Formatter):
    """Timestamps as UTC ISO-8601 with milliseconds, like :func:`utc_now`."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """Format the record's creation time."""
        moment = _dt.datetime.fromtimestamp(record.created, _dt.UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RunLog(logging.Handler):
    """Collects a run's log lines in memory (thread-safe)."""

    def __init__(self, thread: int | None = None) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self._lines_lock = threading.Lock()
        self._thread = thread
        self.setFormatter(_UtcFormatter(_LOG_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        """Format and keep a record (records from other threads are ignored when bound)."""
        if self._thread is not None and record.thread != self._thread:
            return
        try:
            line = self.format(record)
        except Exception:  # pragma: no cover - logging's own contract
            self.handleError(record)
            return
        self.append(line)

    def append(self, line: str) -> None:
        """Add a raw line."""
        with self._lines_lock:
            self.lines.append(line)

    def text(self) -> str:
        """The whole log, one line per entry, ending with a newline when not empty."""
        with self._lines_lock:
            return "".join(f"{line}\n" for line in self.lines)


class RunContext(Generic[C]):
    """The handle a step receives (see the module docs)."""

    def __init__(
        self,
        run: ConcreteRun[C],
        transaction: Transaction,
        paths: RunPaths,
        log: RunLog,
    ) -> None:
        self.run = run
        """The concrete run: names, overrides, fingerprint, config."""
        self.paths = paths
        """Where the run directory is (key, URL, local folder)."""
        self._tx = transaction
        self._log = log
        self.metrics: dict[str, Any] = {}
        """Metrics so far; the step's return value is merged in at the end."""
        self.inputs: list[InputRecord] = []
        """Input files recorded with :meth:`add_input`."""
        self.dataset_details: dict[str, Any] = {}
        """Free details for ``dataset_manifest.json``."""
        self.partial_reasons: list[str] = []
        """Reasons given to :meth:`mark_partial`."""
        logger = logging.Logger(f"capsa.run.{run.name}", level=logging.DEBUG)
        logger.addHandler(log)
        self.logger: logging.Logger = logger
        """A logger whose records go to ``run.log`` only."""
        self._predictions_written = False

    @property
    def config(self) -> C:
        """The run's config."""
        return self.run.config

    @property
    def attempt(self) -> int | None:
        """The attempt number (None without attempts)."""
        return self.paths.attempt

    @property
    def key(self) -> str:
        """The run directory's store key."""
        return self.paths.run_dir

    @property
    def store(self) -> Store:
        """The store the run directory is committed to."""
        return self._tx.store

    def log(self, message: str) -> None:
        """Add a timestamped line to ``run.log``."""
        self._log.append(f"{utc_now()} {message}")

    def write(
        self,
        name: str,
        value: Any,
        *,
        format: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> MemberRecord:
        """Write an extra file into the run directory now (format by extension, or ``format``).

        The files capsa owns (``config.json``, ``metrics.json`` ...) are
        refused: use :meth:`update_metrics`, :meth:`write_predictions` and
        the other methods for them.
        """
        if name in RESERVED_FILES or self._tx.kind.member(name) is not None:
            raise ValidationError(
                f"run {self.run.concrete_name!r}: {name!r} is written by capsa; "
                "use ctx.update_metrics / ctx.write_predictions / ctx.add_input instead"
            )
        return self._tx.write(name, value, format=format, options=options)

    def write_predictions(self, records: Iterable[Any]) -> MemberRecord:
        """Write ``predictions.jsonl`` (once): one JSON record per line."""
        if self._predictions_written:
            raise ValidationError(
                f"run {self.run.concrete_name!r}: {PREDICTIONS_FILE} was already written"
            )
        rows = records if isinstance(records, list) else list(records)
        record = self._tx.write("predictions", rows)
        self._predictions_written = True
        return record

    def update_metrics(self, metrics: Mapping[str, Any] | None = None, **more: Any) -> None:
        """Merge metrics into ``metrics.json`` (written at the end of the run)."""
        for source in (metrics or {}, more):
            if not isinstance(source, Mapping):
                raise ValidationError(
                    f"run {self.run.concrete_name!r}: metrics must be a mapping, "
                    f"got {type(source).__name__}"
                )
            for key, value in source.items():
                if not isinstance(key, str):
                    raise ValidationError(
                        f"run {self.run.concrete_name!r}: metric names must be strings, got {key!r}"
                    )
                self.metrics[key] = value

    def add_input(
        self, path: str | os.PathLike[str], *, name: str | None = None, role: str = "input"
    ) -> InputRecord:
        """Record an input file in ``dataset_manifest.json`` with its size and streamed sha256."""
        file = os.fspath(path)
        if not os.path.isfile(file):
            raise ValidationError(f"run {self.run.concrete_name!r}: input {file!r} is not a file")
        record = InputRecord(
            name=name or os.path.basename(file),
            path=file,
            size=os.path.getsize(file),
            sha256=sha256_for_file(file),
            role=role,
        )
        self.inputs.append(record)
        return record

    def add_dataset_details(self, details: Mapping[str, Any] | None = None, **more: Any) -> None:
        """Merge free details (split sizes, dataset version ...) into the dataset manifest."""
        self.dataset_details.update(dict(details or {}), **more)

    def mark_partial(self, reason: str) -> None:
        """Record that the run finished without some of its work; its status becomes ``partial``."""
        self.partial_reasons.append(str(reason))
        self.log(f"marked partial: {reason}")


__all__ = ["RunContext", "RunLog", "utc_now"]
