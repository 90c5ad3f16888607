"""Write options of the zarr format: validation, defaults and the chunking rule.

Nothing here imports zarr; numpy is imported only by functions that look at
arrays (which are numpy already when they are called).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from capsa.errors import ValidationError

TARGET_CHUNK_BYTES = 4 << 20
"""Default chunk size aimed at (4 MiB): large objects for object stores, small
enough that slicing 1% of a large array reads little more than 1%."""

MAX_CHUNK_BYTES = 8 << 20
"""Rows larger than this are split along their trailing axes."""

TARGET_SHARD_BYTES = 64 << 20
"""``shards="auto"`` groups chunks along axis 0 into shards of about this size."""

COMPRESSORS = (None, "zstd", "blosc")
"""Accepted values of ``compressor`` (None: no compression)."""

WRITE_OPTIONS = frozenset(
    {"chunks", "shards", "compressor", "level", "checksum", "dimension_names", "attributes"}
)
"""Every option the format's ``write`` accepts."""

ACCEPTED_KINDS = "biufcmMUS"
"""numpy dtype kinds stored (bool, ints, floats, complex, datetimes, fixed strings)."""


@dataclass(frozen=True)
class ArrayPlan:
    """How one array is laid out in the store (what ``zarr.create_array`` gets).

    :ivar name: the array's path in the group ("" for a single array at the root).
    :ivar shape: array shape.
    :ivar dtype: numpy dtype (a ``numpy.dtype``).
    :ivar chunks: chunk shape (inner chunks when sharded).
    :ivar shards: shard shape, or None.
    :ivar compressor: None, "zstd" or "blosc".
    :ivar level: compression level (None: the codec's default).
    :ivar checksum: append a crc32c checksum to every chunk.
    :ivar dimension_names: one name per axis.
    :ivar attributes: JSON-safe user attributes (single arrays; a group keeps its own).
    """

    name: str
    shape: tuple[int, ...]
    dtype: Any
    chunks: tuple[int, ...]
    shards: tuple[int, ...] | None
    compressor: str | None
    level: int | None
    checksum: bool
    dimension_names: tuple[str, ...]
    attributes: dict[str, Any]

    def describe(self) -> dict[str, Any]:
        """JSON-safe facts recorded in the manifest's member info."""
        out: dict[str, Any] = {
            "shape": list(self.shape),
            "dtype": self.dtype.str,
            "chunks": list(self.chunks),
        }
        if self.shards is not None:
            out["shards"] = list(self.shards)
        return out


def label(name: str) -> str:
    """How an array is named in messages."""
    return f"array {name!r}" if name else "the array"


def auto_chunks(shape: Sequence[int], itemsize: int, *, grow: bool = False) -> tuple[int, ...]:
    """The default chunk shape for an array of ``shape``.

    Whole rows (every trailing axis complete) grouped along axis 0 into chunks
    of about :data:`TARGET_CHUNK_BYTES`; arrays grow along axis 0, and a slice
    along it then reads whole contiguous chunks. Rows bigger than
    :data:`MAX_CHUNK_BYTES` are split along their largest trailing axes.
    ``grow=True`` (appendable arrays) does not cap axis 0 at its current length.
    """
    if not shape:
        return ()
    itemsize = max(1, itemsize)
    trailing = [max(1, int(d)) for d in shape[1:]]
    row = itemsize * math.prod(trailing)
    if row <= MAX_CHUNK_BYTES:
        rows = max(1, TARGET_CHUNK_BYTES // row)
        if not grow:
            rows = min(rows, max(1, int(shape[0])))
        return (rows, *trailing)
    chunk = [1, *trailing]
    while itemsize * math.prod(chunk) > MAX_CHUNK_BYTES:
        axis = max(range(1, len(chunk)), key=lambda i: chunk[i])
        chunk[axis] = (chunk[axis] + 1) // 2
    return tuple(chunk)


def _shape_option(
    value: Any, *, what: str, name: str, ndim: int, allow_auto: bool
) -> tuple[int, ...] | str | None:
    if value is None:
        return None
    if isinstance(value, str):
        if allow_auto and value == "auto":
            return "auto"
        raise ValidationError(
            f"{label(name)}: {what} must be a shape (a list of positive ints)"
            + (' or "auto"' if allow_auto else "")
            + f", got {value!r}"
        )
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, Sequence) or isinstance(value, bytes | bytearray):
        raise ValidationError(
            f"{label(name)}: {what} must be a shape (a list of positive ints), "
            f"got {type(value).__name__}"
        )
    out: list[int] = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValidationError(
                f"{label(name)}: {what} {list(value)!r} must hold positive ints, got {v!r}"
            )
        out.append(int(v))
    if len(out) != ndim:
        raise ValidationError(
            f"{label(name)}: {what} {out!r} has {len(out)} dimension(s), the array has {ndim}"
        )
    return tuple(out)


def _per_array(option: str, value: Any, name: str, names: Sequence[str]) -> Any:
    """Pick this array's value of a per-array option (a dict keyed by name, or shared)."""
    if isinstance(value, Mapping) and name:
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValidationError(
                f"option {option!r} names unknown array(s) {', '.join(map(repr, unknown))}; "
                f"the arrays are {', '.join(map(repr, names))}"
            )
        return value.get(name)
    return value


def check_dtype(dtype: Any, name: str) -> None:
    """Refuse dtypes that Zarr v3 cannot store portably (object, structured, void ...)."""
    if dtype.hasobject or dtype.kind == "O":
        raise ValidationError(
            f"{label(name)} has an object dtype ({dtype}); Zarr stores fixed-size values only "
            "(convert with numpy.asarray(..., dtype=...) or store it as a table)"
        )
    if dtype.kind not in ACCEPTED_KINDS:
        raise ValidationError(
            f"{label(name)} has dtype {dtype} (kind {dtype.kind!r}), which the zarr format "
            "does not store; use bool, integer, float, complex, datetime64/timedelta64 or "
            "fixed-width string dtypes"
        )


def check_name(name: Any) -> str:
    """An array name inside a group: a plain, non-reserved path segment."""
    from capsa.errors import InvalidKeyError
    from capsa.store.keys import validate_member_file

    if not isinstance(name, str) or not name:
        raise ValidationError(f"array names must be non-empty strings, got {name!r}")
    if "/" in name or name.startswith((".", "__")) or name == "zarr.json":
        raise ValidationError(
            f"array name {name!r} is not allowed (no '/', no leading '.' or '__', not 'zarr.json')"
        )
    try:
        validate_member_file(name, key="zarr")
    except InvalidKeyError as exc:
        raise ValidationError(f"array name {name!r}: {exc}") from None
    return name


def check_attributes(value: Any) -> dict[str, Any]:
    """The ``attributes`` option: a JSON-safe dict stored on the root node (array or group)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ValidationError("option 'attributes' must be a dict with string keys")
    from capsa.formats.json import encode_json

    encode_json(dict(value), indent=0)
    return dict(value)


def check_common(options: Mapping[str, Any]) -> None:
    """Check the options that do not depend on the arrays."""
    unknown = sorted(set(options) - WRITE_OPTIONS)
    if unknown:
        hint = ""
        if "codec" in unknown or "compressors" in unknown or "compression" in unknown:
            hint = " (the compression option is called 'compressor')"
        raise ValidationError(
            f"format 'zarr' has no option(s) {', '.join(map(repr, unknown))}; "
            f"it takes {', '.join(sorted(WRITE_OPTIONS))}{hint}"
        )
    compressor = options.get("compressor")
    if compressor == "none":
        compressor = None
    if compressor not in COMPRESSORS:
        raise ValidationError(
            f"option 'compressor' must be None, 'zstd' or 'blosc', got {compressor!r}"
        )
    level = options.get("level")
    if level is not None:
        if isinstance(level, bool) or not isinstance(level, int):
            raise ValidationError(f"option 'level' must be an int, got {level!r}")
        if compressor is None:
            raise ValidationError("option 'level' needs a compressor ('zstd' or 'blosc')")
        lo, hi = (-131072, 22) if compressor == "zstd" else (0, 9)
        if not lo <= level <= hi:
            raise ValidationError(
                f"option 'level' for {compressor} must be in {lo}..{hi}, got {level}"
            )
    checksum = options.get("checksum", True)
    if not isinstance(checksum, bool):
        raise ValidationError(f"option 'checksum' must be True or False, got {checksum!r}")


def plan_array(
    name: str,
    shape: tuple[int, ...],
    dtype: Any,
    options: Mapping[str, Any],
    *,
    names: Sequence[str] = (),
    grow: bool = False,
) -> ArrayPlan:
    """Validate the options for one array and resolve its defaults."""
    check_dtype(dtype, name)
    ndim = len(shape)
    chunks_opt = _shape_option(
        _per_array("chunks", options.get("chunks", "auto"), name, names),
        what="chunks",
        name=name,
        ndim=ndim,
        allow_auto=True,
    )
    chunks = (
        auto_chunks(shape, dtype.itemsize, grow=grow)
        if chunks_opt in (None, "auto")
        else chunks_opt
    )
    assert isinstance(chunks, tuple)
    shards_opt = _shape_option(
        _per_array("shards", options.get("shards"), name, names),
        what="shards",
        name=name,
        ndim=ndim,
        allow_auto=True,
    )
    shards: tuple[int, ...] | None
    if shards_opt is None:
        shards = None
    elif shards_opt == "auto":
        if ndim == 0:
            raise ValidationError(f"{label(name)}: a 0-d array cannot be sharded")
        chunk_bytes = dtype.itemsize * math.prod(chunks)
        per_shard = max(1, TARGET_SHARD_BYTES // max(1, chunk_bytes))
        if not grow:
            per_shard = min(per_shard, max(1, math.ceil(max(shape[0], 1) / chunks[0])))
        shards = (chunks[0] * per_shard, *chunks[1:])
    else:
        assert isinstance(shards_opt, tuple)
        bad = [i for i, (s, c) in enumerate(zip(shards_opt, chunks, strict=True)) if s % c]
        if bad:
            raise ValidationError(
                f"{label(name)}: shards {list(shards_opt)} must be a multiple of the chunks "
                f"{list(chunks)} along every axis (not axis {bad[0]})"
            )
        shards = shards_opt
    compressor = options.get("compressor")
    if compressor == "none":
        compressor = None
    dims_opt = _per_array("dimension_names", options.get("dimension_names"), name, names)
    if dims_opt is None:
        dims = tuple(f"dim_{i}" for i in range(ndim))
    else:
        if isinstance(dims_opt, str) or not isinstance(dims_opt, Sequence):
            raise ValidationError(
                f"{label(name)}: dimension_names must be a list of strings, got {dims_opt!r}"
            )
        dims = tuple(dims_opt)
        if len(dims) != ndim or not all(isinstance(d, str) and d for d in dims):
            raise ValidationError(
                f"{label(name)}: dimension_names {list(dims)!r} must be {ndim} non-empty "
                "string(s), one per axis"
            )
    attrs = {} if name else check_attributes(options.get("attributes"))
    return ArrayPlan(
        name=name,
        shape=tuple(int(s) for s in shape),
        dtype=dtype,
        chunks=chunks,
        shards=shards,
        compressor=compressor,
        level=options.get("level"),
        checksum=bool(options.get("checksum", True)),
        dimension_names=dims,
        attributes=dict(attrs),
    )


def shared_dimension_names(plans: list[ArrayPlan], explicit: set[str]) -> list[ArrayPlan]:
    """Make default dimension names consistent across a group.

    Arrays of a group share ``dim_<i>`` where their lengths agree (so xarray
    aligns them). When a default name is used with several lengths, the most
    common length (the first array's on a tie) keeps it and the other arrays
    get it prefixed with their own name (``b_dim_0``). Names the caller gave
    are kept.
    """
    from collections import Counter
    from dataclasses import replace

    counts: dict[str, Counter[int]] = {}
    first: dict[str, int] = {}
    for plan in plans:
        if plan.name in explicit:
            continue
        for dim, n in zip(plan.dimension_names, plan.shape, strict=True):
            counts.setdefault(dim, Counter())[n] += 1
            first.setdefault(dim, n)
    keeper: dict[str, int] = {}
    for dim, lengths in counts.items():
        best = max(lengths.values())
        common = [n for n, k in lengths.items() if k == best]
        keeper[dim] = first[dim] if first[dim] in common else common[0]
    out = []
    for plan in plans:
        if plan.name in explicit:
            out.append(plan)
            continue
        dims = tuple(
            dim if n == keeper[dim] else f"{plan.name}_{dim}"
            for dim, n in zip(plan.dimension_names, plan.shape, strict=True)
        )
        out.append(replace(plan, dimension_names=dims))
    return out
