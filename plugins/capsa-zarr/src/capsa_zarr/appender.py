"""Appendable Zarr arrays: grow a member along axis 0, batch by batch, inside a transaction.

::

    with store.transaction("run/7", "zarr.array") as tx:
        app = ZarrAppender(tx, "array", dtype="float32", trailing_shape=(D,))
        for batch in batches:           # each (n, D), any n
            app.append(batch)
    # committed here: the array has shape (sum of n, D)

Memory stays bounded: each array keeps at most one chunk row (one shard row
when sharded) of pending rows; every full chunk is written as soon as it
exists. The array's ``zarr.json`` gets its final shape when the appender is
closed, which the transaction's commit does if you did not; an exception
inside the ``with`` block aborts the transaction and nothing is committed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from capsa.errors import CapsaError, ValidationError
from capsa_zarr.options import (
    ArrayPlan,
    check_attributes,
    check_common,
    check_name,
    plan_array,
    shared_dimension_names,
)

if TYPE_CHECKING:
    from capsa.store.transaction import DirectoryWriter, Transaction
    from capsa_zarr.store import CapsaZarrStore

GROW_ROWS = 1 << 50
"""Axis-0 length the array is declared with while it grows (rewritten on close)."""


def _trailing(value: Any, where: str) -> tuple[int, ...]:
    if value is None:
        return ()
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ValidationError(f"{where}: trailing_shape must be a tuple of ints, got {value!r}")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValidationError(
                f"{where}: trailing_shape {tuple(value)!r} must hold non-negative ints"
            )
        out.append(int(v))
    return tuple(out)


class GrowingArray:
    """One array of a :class:`ZarrAppender`; get it with ``appender[name]``."""

    def __init__(
        self,
        appender: ZarrAppender,
        plan: ArrayPlan,
        *,
        auto_chunks: bool,
    ):
        import numpy as np

        from capsa_zarr.zarrio import direct_io_ok

        self._app = appender
        self.plan = plan
        """The array's layout (shape holds the trailing axes; axis 0 grows)."""
        self.name = plan.name
        """The array's name in the group ("" for a single array)."""
        self.dtype = plan.dtype
        """The dtype every batch must have."""
        self.trailing_shape: tuple[int, ...] = plan.shape[1:]
        """The shape of one row."""
        self._auto_chunks = auto_chunks
        self._direct = direct_io_ok(plan)
        self._unit = plan.shards[0] if plan.shards else plan.chunks[0]
        self._array: Any = None  # created at the first write (see _finish)
        self._buffer = np.empty((self._unit, *self.trailing_shape), dtype=self.dtype)
        self._pending = 0  # rows waiting in the buffer
        self._flushed = 0  # rows written (a multiple of the unit until close)

    def __len__(self) -> int:
        return self._flushed + self._pending

    @property
    def shape(self) -> tuple[int, ...]:
        """The current shape (rows appended so far)."""
        return (len(self), *self.trailing_shape)

    @property
    def where(self) -> str:
        """How this array is named in messages."""
        base = self._app.label
        return f"{base}, array {self.name!r}" if self.name else base

    def _coerce(self, batch: Any) -> Any:
        import numpy as np

        if isinstance(batch, np.ndarray):
            if batch.dtype != self.dtype:
                raise ValidationError(
                    f"{self.where}: append of dtype {batch.dtype} to an array of dtype "
                    f"{self.dtype} (convert the batch with .astype({str(self.dtype)!r}))"
                )
            arr = batch
        else:
            arr = np.asarray(batch)
            if arr.dtype.hasobject or not np.can_cast(arr.dtype, self.dtype, "same_kind"):
                raise ValidationError(
                    f"{self.where}: cannot append values of dtype {arr.dtype} to an array of "
                    f"dtype {self.dtype}"
                )
            arr = arr.astype(self.dtype, copy=False)
        ndim = len(self.trailing_shape)
        given = tuple(arr.shape)
        if arr.ndim == ndim:
            arr = arr.reshape((1, *arr.shape))
        if arr.ndim != ndim + 1 or arr.shape[1:] != self.trailing_shape:
            rows = ", ".join(["n", *map(str, self.trailing_shape)])
            raise ValidationError(
                f"{self.where}: append of shape {given} does not fit rows of shape "
                f"{self.trailing_shape} (expected ({rows}{',' if not ndim else ''}) "
                "or one row)"
            )
        return arr

    def append(self, batch: Any) -> None:
        """Append rows (shape ``(n, *trailing_shape)``, or one row of ``trailing_shape``)."""
        self._app._require_open()
        arr = self._coerce(batch)
        n = arr.shape[0]
        i = 0
        unit = self._unit
        if self._pending:
            take = min(unit - self._pending, n)
            self._buffer[self._pending : self._pending + take] = arr[:take]
            self._pending += take
            i = take
            if self._pending == unit:
                self._write(self._buffer, self._flushed)
                self._flushed += unit
                self._pending = 0
        whole = (n - i) // unit * unit
        if whole:
            # Whole chunk rows straight from the batch, a few at a time.
            step = max(unit, unit * max(1, (64 << 20) // max(1, self._buffer.nbytes)))
            for start in range(i, i + whole, step):
                stop = min(start + step, i + whole)
                self._write(arr[start:stop], self._flushed)
                self._flushed += stop - start
            i += whole
        rest = n - i
        if rest:
            self._buffer[:rest] = arr[i:]
            self._pending = rest

    def _create(self) -> Any:
        from capsa_zarr.zarrio import create_array

        if self._array is None:
            shape = (GROW_ROWS, *self.trailing_shape)
            self._array = create_array(self._app._store, self.plan, shape=shape)
        return self._array

    def _write(self, rows: Any, start: int) -> None:
        from capsa_zarr.zarrio import write_chunks_direct

        array = self._create()
        if self._direct:
            write_chunks_direct(
                self._app._directory,
                self.plan,
                rows,
                prefix=f"{self.name}/" if self.name else "",
                first=start // self.plan.chunks[0],
            )
        else:
            array[start : start + rows.shape[0]] = rows

    def _finish(self) -> None:
        from dataclasses import replace

        if not self._flushed and self._auto_chunks:
            # Nothing written yet (a short trace): one chunk of exactly the rows
            # appended, rather than a default-size chunk that is mostly padding.
            rows = max(1, self._pending)
            shards = self.plan.shards
            self.plan = replace(
                self.plan,
                chunks=(rows, *self.plan.chunks[1:]),
                shards=None if shards is None else (rows, *shards[1:]),
            )
            self._unit = rows
        self._create()
        if self._pending:
            self._write(self._buffer[: self._pending], self._flushed)
            self._flushed += self._pending
            self._pending = 0
        self._buffer = self._buffer[:0]

    def __repr__(self) -> str:
        return f"<GrowingArray {self.where} shape={self.shape} dtype={self.dtype}>"


class ZarrAppender:
    """Grow a Zarr v3 member along axis 0 inside a transaction.

    One array::

        app = ZarrAppender(tx, "array", dtype="float32", trailing_shape=(D,))
        app.append(batch)                  # (n, D) or one row (D,)

    A group of arrays (e.g. an optimizer trace)::

        app = ZarrAppender(tx, "trace.zarr", arrays={
            "loss": {"dtype": "float64"},
            "theta": {"dtype": "float32", "trailing_shape": (D,)},
        })
        app.append(loss=l, theta=t)        # or app["theta"].append(t)

    :param tx: the open transaction (``store.transaction(key, kind)``).
    :param member: the member name (``"array"`` for the ``zarr.array`` kind, a
        ``.zarr`` file name in a bundle).
    :param dtype: dtype of a single array.
    :param trailing_shape: shape of one row of a single array (``()`` for 1-D).
    :param arrays: name -> ``{"dtype", "trailing_shape", "chunks",
        "dimension_names"}`` (or a ``(dtype, trailing_shape)`` pair) for a group.
    :param chunks: chunk shape or "auto" (about 4 MiB of whole rows).
    :param shards, compressor, level, checksum, attributes: as for the format.
    :param dimension_names: names of the axes of a single array (default
        ``("step", "dim_1", ...)``).

    Refused with :class:`~capsa.errors.ValidationError`: a batch whose
    trailing shape or dtype differs, unknown arrays, bad options. Memory holds
    at most one chunk row (shard row) per array. :meth:`close` (or the
    transaction's commit) writes the pending rows and the final metadata.
    """

    def __init__(
        self,
        tx: Transaction,
        member: str,
        *,
        dtype: Any = None,
        trailing_shape: Sequence[int] | int | None = None,
        arrays: Mapping[str, Any] | None = None,
        chunks: Any = "auto",
        shards: Any = None,
        compressor: str | None = None,
        level: int | None = None,
        checksum: bool = True,
        dimension_names: Sequence[str] | None = None,
        attributes: Mapping[str, Any] | None = None,
    ):
        import numpy as np
        import zarr

        from capsa_zarr.store import CapsaZarrStore

        where = f"artifact {tx.key!r}, member {member!r}"
        options: dict[str, Any] = {"compressor": compressor, "checksum": checksum}
        if level is not None:
            options["level"] = level
        if attributes is not None:
            options["attributes"] = check_attributes(attributes)
        try:
            check_common(options)
        except ValidationError as exc:
            raise ValidationError(f"{where}: {exc}") from None
        specs: dict[str, dict[str, Any]] = {}
        if arrays is None:
            if dtype is None:
                raise ValidationError(f"{where}: give dtype= (one array) or arrays= (a group)")
            specs[""] = {
                "dtype": dtype,
                "trailing_shape": trailing_shape,
                "chunks": chunks,
                "dimension_names": dimension_names,
            }
        else:
            if dtype is not None or trailing_shape is not None or dimension_names is not None:
                raise ValidationError(
                    f"{where}: with arrays=, give dtype, trailing_shape and dimension_names "
                    "per array"
                )
            if not isinstance(arrays, Mapping) or not arrays:
                raise ValidationError(f"{where}: arrays= must be a non-empty dict")
            for name, spec in arrays.items():
                try:
                    check_name(name)
                except ValidationError as exc:
                    raise ValidationError(f"{where}: {exc}") from None
                if isinstance(spec, tuple | list) and len(spec) == 2:
                    spec = {"dtype": spec[0], "trailing_shape": spec[1]}
                if not isinstance(spec, Mapping) or "dtype" not in spec:
                    raise ValidationError(
                        f"{where}: array {name!r} needs a dict with at least 'dtype'"
                    )
                extra = sorted(set(spec) - {"dtype", "trailing_shape", "chunks", "dimension_names"})
                if extra:
                    raise ValidationError(f"{where}: array {name!r}: unknown key(s) {extra}")
                specs[name] = {"chunks": chunks, **spec}
        plans: list[ArrayPlan] = []
        explicit: set[str] = set()
        for name, spec in specs.items():
            here = f"{where}, array {name!r}" if name else where
            try:
                np_dtype = np.dtype(spec["dtype"])
            except TypeError as exc:
                raise ValidationError(f"{here}: bad dtype {spec['dtype']!r}: {exc}") from None
            trailing = _trailing(spec.get("trailing_shape"), here)
            dims = spec.get("dimension_names")
            if dims is None:
                dims = ("step", *(f"dim_{i}" for i in range(1, len(trailing) + 1)))
            else:
                explicit.add(name)
            opts = {
                **options,
                "chunks": spec.get("chunks", "auto"),
                "shards": shards,
                "dimension_names": dims,
            }
            try:
                plans.append(plan_array(name, (0, *trailing), np_dtype, opts, grow=True))
            except ValidationError as exc:
                raise ValidationError(f"{here}: {exc}") from None
        self.key = tx.key
        """The artifact key."""
        self.label = where
        """How the member is named in messages."""
        self._explicit = explicit
        self._directory: DirectoryWriter = tx.directory(
            member, format="zarr", options=_recorded(options, chunks, shards)
        )
        self._store: CapsaZarrStore = CapsaZarrStore.writing(self._directory)
        self._single = arrays is None
        self._closed = False
        self._record: Any = None
        if not self._single:
            zarr.create_group(
                store=self._store, zarr_format=3, attributes=options.get("attributes")
            )
        self._arrays = {
            plan.name: GrowingArray(
                self,
                plan,
                auto_chunks=specs[plan.name].get("chunks") in (None, "auto"),
            )
            for plan in plans
        }
        # The transaction closes unclosed directory members at commit: flush first.
        self._directory.on_close(self._finalize)

    # -- access --------------------------------------------------------------------

    def __getitem__(self, name: str) -> GrowingArray:
        try:
            return self._arrays[name]
        except KeyError:
            known = ", ".join(map(repr, self._arrays)) or "none"
            raise ValidationError(f"{self.label}: no array {name!r} (arrays: {known})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        """Rows appended so far (of the single array, or the longest array of a group)."""
        return max(len(a) for a in self._arrays.values())

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Current shape of every array ("" for a single array)."""
        return {name: a.shape for name, a in self._arrays.items()}

    def _require_open(self) -> None:
        if self._closed:
            raise CapsaError(f"{self.label}: the appender is closed")

    # -- appending -------------------------------------------------------------------

    def append(self, batch: Any = None, /, **named: Any) -> None:
        """Append a batch to every array named.

        ``append(rows)`` for one array; ``append(loss=..., theta=...)`` (or a
        dict) for a group. Every batch is checked before any is written.
        """
        self._require_open()
        if self._single:
            if named or batch is None:
                raise ValidationError(f"{self.label}: append(rows) takes one array of rows")
            self._arrays[""].append(batch)
            return
        if batch is not None:
            if not isinstance(batch, Mapping) or named:
                raise ValidationError(
                    f"{self.label}: a group appends by name: append(loss=..., theta=...) "
                    "or append({'loss': ..., 'theta': ...})"
                )
            named = dict(batch)
        if not named:
            raise ValidationError(f"{self.label}: nothing to append")
        coerced = {name: self[name]._coerce(value) for name, value in named.items()}
        for name, value in coerced.items():
            self._arrays[name].append(value)

    # -- closing -----------------------------------------------------------------------

    def close(self) -> None:
        """Write pending rows and the final metadata, then close the member (idempotent)."""
        if self._closed:
            return
        self._record = self._directory.close()  # runs _finalize first

    def _finalize(self) -> None:
        """Flush buffered rows and write the final metadata (called by the member's close)."""
        if self._closed:
            return
        for growing in self._arrays.values():
            growing._finish()
        plans = []
        for growing in self._arrays.values():
            from dataclasses import replace

            plans.append(replace(growing.plan, shape=growing.shape))
        plans = shared_dimension_names(plans, self._explicit) if not self._single else plans
        for plan in plans:
            path = f"{plan.name}/zarr.json" if plan.name else "zarr.json"
            meta = json.loads(self._directory.get(path))
            meta["shape"] = list(plan.shape)
            meta["dimension_names"] = list(plan.dimension_names)
            self._directory.put(path, json.dumps(meta, indent=2).encode("utf-8"))
        self._closed = True
        if self._single:
            self._directory.info = {"node": "array", **plans[0].describe(), "appended": True}
        else:
            self._directory.info = {
                "node": "group",
                "arrays": {p.name: p.describe() for p in plans},
                "appended": True,
            }

    def __enter__(self) -> ZarrAppender:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<ZarrAppender {self.label} {self.shapes} ({state})>"


def _recorded(options: Mapping[str, Any], chunks: Any, shards: Any) -> dict[str, Any]:
    """The options recorded in the manifest (JSON-safe)."""
    out = {k: v for k, v in options.items() if v is not None and k != "attributes"}
    if chunks not in (None, "auto") and isinstance(chunks, Sequence):
        out["chunks"] = list(chunks)
    if shards is not None:
        out["shards"] = shards if isinstance(shards, str) else list(shards)
    return out
