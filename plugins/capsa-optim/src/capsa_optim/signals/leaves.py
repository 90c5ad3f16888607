"""θ interpreted as named leaves: through a decoder, the run's IndexMap, or as plain ``theta``.

A *decoder* is any callable ``decoder(theta) -> {name: values}`` taking a
(T, D) block of θ and returning arrays whose first axis is T. It may carry a
``layout_hash`` attribute: when the run records an IndexMap whose hash
differs, :class:`~capsa_optim.LayoutMismatchError` is raised instead of
silently decoding with the wrong packing order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from capsa.errors import ValidationError
from capsa_optim.schema_codec import as_index_map


@dataclass(frozen=True)
class Leaf:
    """One named quantity over time.

    :ivar name: dotted name, unit suffix included (``binary.x_position_as``).
    :ivar values: (T,) for a scalar leaf, (T, k) for a vector one (flattened).
    :ivar block: group label used as the default plot panel.
    :ivar shape: the leaf's own shape.
    """

    name: str
    values: Any
    block: str
    shape: tuple[int, ...]

    @property
    def is_vector(self) -> bool:
        """True for leaves with more than one value per step."""
        return bool(self.values.ndim == 2)


def _block_of(name: str) -> str:
    return name.split(".", 1)[0] if "." in name else name


def _as_leaf(name: str, raw: Any, steps: int, block: str) -> Leaf:
    import numpy as np

    arr = np.asarray(raw)
    if arr.ndim == 0 or arr.shape[0] != steps:
        raise ValidationError(
            f"leaf {name!r} has shape {arr.shape}; its first axis must be the {steps} steps"
        )
    if arr.dtype.hasobject or arr.dtype.kind not in "biuf":
        raise ValidationError(f"leaf {name!r} is not numeric (dtype {arr.dtype})")
    shape = tuple(arr.shape[1:])
    size = int(np.prod(shape)) if shape else 1
    values = arr.reshape(steps) if size == 1 else arr.reshape(steps, size)
    return Leaf(name=name, values=values.astype(np.float64), block=block, shape=shape)


def check_decoder(meta: Any, decoder: Any) -> None:
    """Refuse a decoder whose ``layout_hash`` differs from the run's IndexMap."""
    if decoder is None or getattr(decoder, "layout_hash", None) is None:
        return
    imap = as_index_map(meta)
    if imap is None:
        return
    imap.check_compatible(decoder, what="the decoder")


def iter_leaves(trace: Mapping[str, Any], meta: Any, decoder: Any = None) -> Iterator[Leaf]:
    """Yield the leaves of θ over the whole trace (lazy θ is read leaf by leaf)."""
    import numpy as np

    theta = trace["theta"]
    steps = int(theta.shape[0])
    imap = as_index_map(meta)
    if decoder is not None:
        if not callable(decoder):
            raise ValidationError(f"decoder must be callable theta -> mapping, got {decoder!r}")
        check_decoder(meta, decoder)
        decoded = decoder(np.asarray(theta[...]))
        if not isinstance(decoded, Mapping):
            raise ValidationError(
                f"decoder returned {type(decoded).__name__}; it must return a mapping of name "
                "to (T, ...) arrays"
            )
        blocks = {e.name: e.block for e in imap.entries} if imap is not None else {}
        for name, raw in decoded.items():
            yield _as_leaf(str(name), raw, steps, blocks.get(name) or _block_of(str(name)))
        return
    if imap is None:
        yield _as_leaf("theta", theta[...], steps, "theta")
        return
    imap = imap.validated(int(theta.shape[1]))
    for entry in sorted(imap.entries, key=lambda e: e.start):
        part = np.asarray(theta[:, entry.start : entry.stop])
        yield _as_leaf(
            entry.name,
            part.reshape(steps, *entry.shape),
            steps,
            entry.block or _block_of(entry.name),
        )


def truth_values(truth: Any, meta: Any, decoder: Any = None) -> dict[str, Any]:
    """True values by leaf name, from a mapping or a flat true θ (D,)."""
    import numpy as np

    if isinstance(truth, Mapping):
        return {str(k): np.asarray(v, dtype=np.float64) for k, v in truth.items()}
    flat = np.asarray(truth, dtype=np.float64)
    if flat.ndim != 1:
        raise ValidationError(
            f"truth must be a mapping of leaf name to value or a flat theta (D,), got shape "
            f"{flat.shape}"
        )
    if decoder is not None:
        check_decoder(meta, decoder)
        decoded = decoder(flat[None, :])
        return {str(k): np.asarray(v, dtype=np.float64)[0] for k, v in decoded.items()}
    imap = as_index_map(meta)
    if imap is None:
        return {"theta": flat}
    if flat.shape[0] != imap.dim:
        raise ValidationError(
            f"truth has {flat.shape[0]} values but the run's theta has D = {imap.dim}"
        )
    imap = imap.validated(flat.shape[0])
    return {e.name: imap.take(flat, e.name) for e in imap.entries}
