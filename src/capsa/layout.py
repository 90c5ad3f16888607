"""Layouts: typed kinds + partition values + layers -> keys.

This is the path-resolution half of seed 001's ``ArtifactManager``: instead
of building paths by hand (``base_layer/analysis_sequences_chr1.tsv``), code
names a typed kind and its partition values, and the layout picks the key::

    layout = capsa.Layout(store, prefix="spliceai_eval")
    layout.save("analysis_sequences", table, chromosome="chr1")
    # -> key "spliceai_eval/base_layer/analysis_sequences/chromosome=chr1"
    layout.load("analysis_sequences", chromosome="chr1")
    layout.list(layer="base")    # what is there, by kind and partition

Partition segments are hive-style (``chromosome=chr1``), so a folder of
Parquet partitions reads as one dataset with pyarrow, DuckDB or Polars (they
skip ``_SUCCESS``-style names). The store's mode still applies: production
keys are immutable, development keys live under ``dev/<session>/``, test keys
under ``tests/<name>/``.

A typed kind is an :class:`~capsa.kinds.ArtifactKind` with a ``layer`` and
``partition_keys``; :func:`capsa.kinds.typed_kind` declares one in a line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from capsa.errors import InvalidKeyError, ValidationError
from capsa.store.keys import validate_key

if TYPE_CHECKING:
    from capsa.kinds.base import ArtifactKind
    from capsa.store.artifact import Artifact, ArtifactRef
    from capsa.store.store import Store

DEFAULT_LAYERS: dict[str, str] = {"base": "base_layer", "meta": "meta_layer"}
"""Layer name -> folder, as in seed 001."""


class LayoutEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One artifact found by :meth:`Layout.list`.

    :ivar kind: the typed kind.
    :ivar layer: the layer it belongs to (``None`` for kinds without one).
    :ivar partitions: partition key -> value.
    :ivar key: the store key.
    :ivar size: total member bytes.
    :ivar created_at: commit time.
    """

    kind: str
    layer: str | None
    partitions: dict[str, str]
    key: str
    size: int
    created_at: str


class Layout:
    """Resolve typed kinds, partitions and layers to keys of one store.

    :param store: the store to read and write.
    :param prefix: a key prefix for everything in this layout (a project or
        model name, e.g. ``"spliceai_eval"``); empty for the store root.
    :param layers: layer name -> folder; default ``base`` -> ``base_layer``,
        ``meta`` -> ``meta_layer``.
    """

    def __init__(self, store: Store, prefix: str = "", *, layers: Mapping[str, str] | None = None):
        self.store = store
        self.prefix = validate_key(prefix.strip("/")) if prefix.strip("/") else ""
        self.layers = dict(layers if layers is not None else DEFAULT_LAYERS)
        for name, folder in self.layers.items():
            validate_key(folder)
            if "/" in folder:
                raise InvalidKeyError(f"layer {name!r}: folder {folder!r} must be one segment")

    def _kind(self, kind: str | ArtifactKind) -> ArtifactKind:
        return self.store.registry.kind(kind) if isinstance(kind, str) else kind

    def _layer_folder(self, kind: ArtifactKind) -> str | None:
        layer = kind.layer
        if layer is None:
            return None
        try:
            return self.layers[layer]
        except KeyError:
            raise ValidationError(
                f"kind {kind.name!r} is in layer {layer!r}, which this layout does not have "
                f"(layers: {', '.join(sorted(self.layers))})"
            ) from None

    def key(self, kind: str | ArtifactKind, /, **partitions: Any) -> str:
        """Return the key of ``kind`` for the given partition values.

        :raises ValidationError: a partition key is missing or unknown for the kind.
        :raises InvalidKeyError: a partition value could escape its segment.
        """
        kind_obj = self._kind(kind)
        expected = tuple(kind_obj.partition_keys)
        missing = [k for k in expected if k not in partitions]
        extra = sorted(set(partitions) - set(expected))
        if missing or extra:
            raise ValidationError(
                f"kind {kind_obj.name!r} is partitioned by "
                f"{', '.join(expected) if expected else 'nothing'}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(extra)}" if extra else "")
            )
        parts = [self.prefix] if self.prefix else []
        folder = self._layer_folder(kind_obj)
        if folder is not None:
            parts.append(folder)
        parts.append(kind_obj.name)
        for name in expected:
            value = str(partitions[name])
            if not value or "/" in value or "=" in value:
                raise InvalidKeyError(
                    f"partition {name}={value!r} of kind {kind_obj.name!r}: values must be "
                    "non-empty and contain no '/' or '='"
                )
            parts.append(f"{name}={value}")
        return validate_key("/".join(parts))

    def save(
        self,
        kind: str | ArtifactKind,
        data: Any,
        /,
        *,
        meta: Mapping[str, Any] | None = None,
        options: Mapping[str, Mapping[str, Any]] | None = None,
        **partitions: Any,
    ) -> ArtifactRef:
        """Save ``data`` as ``kind`` at its resolved key (see :meth:`Store.save`)."""
        kind_obj = self._kind(kind)
        meta_all = {**{k: str(v) for k, v in partitions.items()}, **dict(meta or {})}
        return self.store.save(
            self.key(kind_obj, **partitions), kind_obj, data, meta=meta_all, options=options
        )

    def load(
        self, kind: str | ArtifactKind, /, *, verify: bool = False, **partitions: Any
    ) -> Artifact:
        """Load the artifact of ``kind`` for the partition values."""
        return self.store.load(self.key(kind, **partitions), verify=verify)

    def exists(self, kind: str | ArtifactKind, /, **partitions: Any) -> bool:
        """True when the artifact of ``kind`` for the partition values is committed."""
        return self.store.exists(self.key(kind, **partitions))

    def list(self, *, layer: str | None = None, kind: str | None = None) -> list[LayoutEntry]:
        """List what is stored, by kind and partition, optionally for one layer or kind."""
        if layer is not None and layer not in self.layers:
            raise ValidationError(
                f"unknown layer {layer!r} (layers: {', '.join(sorted(self.layers))})"
            )
        base = f"{self.prefix}/" if self.prefix else ""
        if layer is not None:
            base += f"{self.layers[layer]}/"
        folders = {folder: name for name, folder in self.layers.items()}
        entries: list[LayoutEntry] = []
        for info in self.store.iter_artifacts(base, kind=kind):
            rest = info.key[len(self.prefix) + 1 :] if self.prefix else info.key
            segments = rest.split("/")
            found_layer = folders.get(segments[0])
            if found_layer is not None:
                segments = segments[1:]
            if not segments or segments[0] != info.kind:
                continue  # not laid out by this layout
            partitions = dict(s.split("=", 1) for s in segments[1:] if "=" in s)
            entries.append(
                LayoutEntry(
                    kind=info.kind,
                    layer=found_layer,
                    partitions=partitions,
                    key=info.key,
                    size=info.size,
                    created_at=info.created_at,
                )
            )
        return entries
