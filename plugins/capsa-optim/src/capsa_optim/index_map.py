"""IndexMap: the recorded θ layout (which slice of θ is which parameter).

An IndexMap is the exported view of the packing order used to flatten
parameters into θ. It is stored in ``meta.json`` (``theta.index_map``), never
in the trace, and makes ``theta[t, :]``, ``lr_vec``, curvature vectors ...
interpretable without guessing the order::

    imap = IndexMap.from_shapes([
        ("binary.x_position_as", (1,), "astrometry"),
        ("binary.y_position_as", (1,), "astrometry"),
        ("primary.zernike_coeffs_nm", (27,), "primary.zernikes"),
    ])
    imap.take(theta, "primary.zernike_coeffs_nm")   # (T, 27)
    imap.layout_hash                               # hash of the ordered (name, shape) pairs
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

from capsa.errors import ValidationError
from capsa_optim.errors import LayoutMismatchError


class IndexEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One packed segment of θ.

    :ivar name: dotted leaf identifier (``"binary.x_position_as"``).
    :ivar start: first θ index of the segment.
    :ivar stop: one past the last θ index (stop-exclusive).
    :ivar shape: the leaf's original shape (``[27]``; ``[]`` for a scalar).
    :ivar block: optional conceptual group (``"astrometry"``).
    """

    name: str
    start: int
    stop: int
    shape: list[int]
    block: str | None = None

    @property
    def size(self) -> int:
        """Number of θ entries in the segment."""
        return self.stop - self.start

    @property
    def slice(self) -> slice:
        """The θ slice ``start:stop``."""
        return slice(self.start, self.stop)


def compute_layout_hash(pairs: Iterable[tuple[str, Sequence[int]]]) -> str:
    """Hash the ordered ``(name, shape)`` pairs (16 hex digits of sha256).

    Only names, shapes and their order count: two layouts with the same hash
    pack the same leaves in the same order.
    """
    canonical = msgspec.json.encode([[name, [int(s) for s in shape]] for name, shape in pairs])
    return hashlib.sha256(canonical).hexdigest()[:16]


def layout_hash_of(obj: Any) -> str | None:
    """The layout hash announced by ``obj``: a str, an IndexMap, or any ``.layout_hash``."""
    if obj is None:
        return None
    if isinstance(obj, str):
        return obj
    value = getattr(obj, "layout_hash", None)
    if value is None and isinstance(obj, IndexMap):
        value = obj.computed_hash()
    if callable(value):
        value = value()
    if value is not None and not isinstance(value, str):
        raise ValidationError(
            f"layout_hash of {type(obj).__name__} must be a str, got {type(value).__name__}"
        )
    return value


class IndexMap(msgspec.Struct, frozen=True, kw_only=True):
    """The ordered θ segments and their ``layout_hash``.

    Build one with :meth:`from_shapes` (contiguous, in order) or give the
    entries explicitly; :meth:`validated` checks it against θ's dimension.

    :ivar entries: the θ segments, in packing order.
    :ivar layout_hash: sha256 (16 hex digits) of the ordered ``(name, shape)``
        pairs; filled in when absent, and a stored one must match the entries.
    """

    entries: list[IndexEntry]
    layout_hash: str | None = None

    # -- construction ----------------------------------------------------------

    @classmethod
    def from_shapes(
        cls, leaves: Iterable[tuple[str, Sequence[int]] | tuple[str, Sequence[int], str | None]]
    ) -> IndexMap:
        """Pack leaves contiguously in the order given: ``(name, shape[, block])``."""
        entries: list[IndexEntry] = []
        start = 0
        for leaf in leaves:
            if not isinstance(leaf, tuple) or len(leaf) not in (2, 3):
                raise ValidationError(
                    f"IndexMap.from_shapes expects (name, shape) or (name, shape, block), "
                    f"got {leaf!r}"
                )
            name, shape = leaf[0], leaf[1]
            block = leaf[2] if len(leaf) == 3 else None
            dims = _shape(shape, name)
            size = math.prod(dims)
            entries.append(
                IndexEntry(name=name, start=start, stop=start + size, shape=dims, block=block)
            )
            start += size
        imap = cls(entries=entries)
        return imap.validated(start)

    # -- validation ------------------------------------------------------------

    @property
    def dim(self) -> int:
        """θ dimension covered (the largest ``stop``)."""
        return max((e.stop for e in self.entries), default=0)

    def computed_hash(self) -> str:
        """The layout hash computed from the entries (ignores the stored one)."""
        return compute_layout_hash((e.name, e.shape) for e in self.entries)

    def validated(self, dim: int | None = None) -> IndexMap:
        """Check the entries against θ's dimension and return the map with its hash filled in.

        Refused with :class:`~capsa.errors.ValidationError`: entries that are
        not a list of :class:`IndexEntry`, an empty, non-str or duplicate
        name, a start, stop or shape dimension that is not an int, a block
        that is not a str, a segment out of ``[0, dim]``, overlapping
        segments, ``stop - start`` different from the product of ``shape``,
        segments that do not cover ``0..dim`` exactly, or a stored
        ``layout_hash`` that does not match the entries. Shapes given as
        tuples come back as lists (as they decode from JSON).
        """
        entries = _checked_entries(self.entries)
        if dim is None:
            dim = max((e.stop for e in entries), default=0)
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 0:
            raise ValidationError(f"IndexMap: theta dimension must be an int >= 0, got {dim!r}")
        for e in entries:
            where = f"IndexMap entry {e.name!r}"
            if not 0 <= e.start <= e.stop <= dim:
                raise ValidationError(
                    f"{where}: [{e.start}, {e.stop}) is out of range for theta of dimension {dim}"
                )
            if e.stop - e.start != math.prod(e.shape):
                raise ValidationError(
                    f"{where}: stop - start = {e.stop - e.start} but shape {e.shape} holds "
                    f"{math.prod(e.shape)} values"
                )
        ordered = sorted(entries, key=lambda e: (e.start, e.stop))
        cursor = 0
        for e in ordered:
            if e.start < cursor:
                raise ValidationError(
                    f"IndexMap entry {e.name!r} [{e.start}, {e.stop}) overlaps the entry "
                    f"before it (which ends at {cursor})"
                )
            if e.start > cursor:
                raise ValidationError(
                    f"IndexMap leaves theta[{cursor}:{e.start}] uncovered (before {e.name!r})"
                )
            cursor = e.stop
        if cursor != dim:
            raise ValidationError(
                f"IndexMap covers theta[0:{cursor}] but theta has dimension {dim}"
            )
        checked = msgspec.structs.replace(self, entries=entries)
        computed = checked.computed_hash()
        if self.layout_hash is not None and self.layout_hash != computed:
            raise ValidationError(
                f"IndexMap layout_hash {self.layout_hash!r} does not match its entries "
                f"(computed {computed!r}); the entries were edited or the hash was copied "
                "from another layout"
            )
        return msgspec.structs.replace(checked, layout_hash=computed)

    def check_compatible(self, expected: Any, *, what: str = "the decoder") -> None:
        """Raise :class:`LayoutMismatchError` unless ``expected``'s layout hash equals this one's.

        ``expected`` is a hash string, another IndexMap, or any object with a
        ``layout_hash`` attribute (a decoder, a parameter spec).
        """
        want = layout_hash_of(expected)
        if want is None:
            return
        have = self.layout_hash or self.computed_hash()
        if want != have:
            raise LayoutMismatchError(
                f"theta layout mismatch: the run was packed with layout_hash {have!r} "
                f"but {what} expects {want!r}; decoding would assign values to the wrong "
                "parameters. Use the decoder/spec the run was produced with"
            )

    # -- lookups ---------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        """Entry names in θ order."""
        return [e.name for e in sorted(self.entries, key=lambda e: e.start)]

    def entry(self, name: str) -> IndexEntry:
        """The entry called ``name`` (:class:`ValidationError` naming the known ones)."""
        for e in self.entries:
            if e.name == name:
                return e
        known = ", ".join(repr(n) for n in self.names[:12]) or "none"
        raise ValidationError(f"IndexMap has no entry {name!r} (entries: {known})")

    def blocks(self) -> dict[str, list[IndexEntry]]:
        """Block label -> its entries in θ order (entries without a block use their name)."""
        out: dict[str, list[IndexEntry]] = {}
        for e in sorted(self.entries, key=lambda e: e.start):
            out.setdefault(e.block or e.name, []).append(e)
        return out

    def block_indices(self, block: str) -> list[int]:
        """The θ indices of every entry in ``block``, in order."""
        groups = self.blocks()
        if block not in groups:
            known = ", ".join(repr(b) for b in groups) or "none"
            raise ValidationError(f"IndexMap has no block {block!r} (blocks: {known})")
        return [i for e in groups[block] for i in range(e.start, e.stop)]

    def take(self, theta: Any, name: str) -> Any:
        """The values of entry ``name``: ``theta[..., start:stop]`` reshaped to ``(..., *shape)``.

        Works on a single θ vector ``(D,)`` and on a trace ``(T, D)``, with
        numpy arrays and lazy (zarr, memmap) arrays alike: only the slice is read.
        """
        import numpy as np

        e = self.entry(name)
        part = np.asarray(theta[..., e.start : e.stop])
        return part.reshape((*part.shape[:-1], *e.shape))

    def take_block(self, theta: Any, block: str) -> Any:
        """The θ columns of ``block`` (``(..., n)``), in θ order."""
        import numpy as np

        index = self.block_indices(block)
        lo, hi = min(index), max(index) + 1
        part = np.asarray(theta[..., lo:hi])
        return part[..., [i - lo for i in index]]

    def block_vector(self, values: Mapping[str, float], *, default: float | None = None) -> Any:
        """A ``(D,)`` vector holding ``values[block]`` on every index of that block.

        Useful for block-level learning rates (``base_lr`` per family). A
        block missing from ``values`` takes ``default`` (an error when None).
        """
        import numpy as np

        groups = self.blocks()
        unknown = sorted(set(values) - set(groups))
        if unknown:
            raise ValidationError(
                f"block_vector: unknown block(s) {unknown}; blocks are {list(groups)}"
            )
        out = np.empty(self.dim, dtype=np.float64)
        for block, entries in groups.items():
            if block in values:
                value = values[block]
            elif default is not None:
                value = default
            else:
                raise ValidationError(f"block_vector: no value for block {block!r} (no default)")
            for e in entries:
                out[e.start : e.stop] = float(value)
        return out


def _checked_entries(entries: Any) -> list[IndexEntry]:
    """The entries with their field types checked, shapes as lists of ints."""
    if not isinstance(entries, list | tuple):
        raise ValidationError(
            f"IndexMap: entries must be a list of IndexEntry, got {type(entries).__name__}"
        )
    seen: set[str] = set()
    out: list[IndexEntry] = []
    for e in entries:
        if not isinstance(e, IndexEntry):
            raise ValidationError(
                f"IndexMap: entries must be IndexEntry objects, got {type(e).__name__}: {e!r}"
            )
        if not isinstance(e.name, str) or not e.name:
            raise ValidationError(f"IndexMap: entry names must be non-empty str, got {e.name!r}")
        if e.name in seen:
            raise ValidationError(f"IndexMap: entry name {e.name!r} appears twice")
        seen.add(e.name)
        where = f"IndexMap entry {e.name!r}"
        if isinstance(e.shape, int | str | bytes):
            raise ValidationError(f"{where}: shape must be a list of ints, got {e.shape!r}")
        dims = _shape(e.shape, e.name)
        for field in ("start", "stop"):
            value = getattr(e, field)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError(f"{where}: {field} must be an int, got {value!r}")
        if e.block is not None and not isinstance(e.block, str):
            raise ValidationError(f"{where}: block must be a str or None, got {e.block!r}")
        out.append(e if e.shape == dims and type(e.shape) is list else _with_shape(e, dims))
    return out


def _with_shape(entry: IndexEntry, dims: list[int]) -> IndexEntry:
    return msgspec.structs.replace(entry, shape=dims)


def _shape(shape: Any, name: str) -> list[int]:
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = [shape]
    if isinstance(shape, str) or not isinstance(shape, Sequence):
        raise ValidationError(
            f"IndexMap entry {name!r}: shape must be a list of ints, got {shape!r}"
        )
    dims: list[int] = []
    for d in shape:
        if isinstance(d, bool) or not isinstance(d, int) or d < 0:
            raise ValidationError(
                f"IndexMap entry {name!r}: shape {list(shape)!r} must hold ints >= 0"
            )
        dims.append(int(d))
    return dims
