"""``EmbeddingContainer``: a small labelled view of a 2-D embedding.

``load_fit_artifact(path)["embedding_container"]`` is one (or None when the
embedding is not 2-D). It plays the part of the seed's ``DataContainer``
view: the array with its two dimensions labelled by the observation ids and
the component names. It holds the arrays, never copies them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from capsa.errors import MemberNotFoundError, ValidationError

if TYPE_CHECKING:
    from numpy.typing import NDArray

DIMS = ("obs", "component")
"""Dimension names of an embedding container."""


@dataclass(frozen=True, eq=False)
class EmbeddingContainer:
    """An ``(n_obs, n_components)`` embedding labelled by ids and component names.

    :ivar X: the embedding (the loaded array itself).
    :ivar ids: the observation ids, aligned with the rows.
    :ivar components: one name per column (``"dim_1"`` ... unless the fit
        payload has ``component_names``).
    :ivar dims: always ``("obs", "component")``.
    """

    X: NDArray[Any]
    ids: NDArray[Any]
    components: tuple[str, ...]
    dims: tuple[str, str] = DIMS

    def __post_init__(self) -> None:
        if self.X.ndim != 2:
            raise ValidationError(f"an embedding container needs a 2-D array, got {self.X.shape}")
        if len(self.ids) != self.X.shape[0] or len(self.components) != self.X.shape[1]:
            raise ValidationError(
                f"embedding of shape {self.X.shape} does not match {len(self.ids)} ids "
                f"and {len(self.components)} component names"
            )

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_obs, n_components)``."""
        return (int(self.X.shape[0]), int(self.X.shape[1]))

    @property
    def coords(self) -> dict[str, Any]:
        """Labels per dimension: ``{"obs": ids, "component": components}``."""
        return {"obs": self.ids, "component": self.components}

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> NDArray[Any]:
        import numpy as np

        out: NDArray[Any] = np.asarray(self.X, dtype=dtype)
        return out

    def column(self, name: str) -> NDArray[Any]:
        """The values of one component, by name."""
        try:
            index = self.components.index(name)
        except ValueError:
            raise MemberNotFoundError(
                f"no component {name!r}; components are {', '.join(self.components)}"
            ) from None
        out: NDArray[Any] = self.X[:, index]
        return out

    def row(self, obs_id: Any) -> NDArray[Any]:
        """The embedding of one observation, by id (the first match)."""
        import numpy as np

        hits = np.flatnonzero(self.ids == obs_id)
        if hits.size == 0:
            raise MemberNotFoundError(f"no observation with id {obs_id!r}")
        out: NDArray[Any] = self.X[int(hits[0])]
        return out

    def to_dict(self) -> dict[str, Any]:
        """A plain description: dims, coords (as lists) and the values as nested lists."""
        return {
            "dims": list(self.dims),
            "coords": {"obs": self.ids.tolist(), "component": list(self.components)},
            "values": self.X.tolist(),
        }

    def __repr__(self) -> str:
        return (
            f"<EmbeddingContainer obs={self.shape[0]} components={list(self.components)} "
            f"dtype={self.X.dtype}>"
        )


def component_names(fit: Mapping[str, Any], n: int) -> tuple[str, ...]:
    """Names of ``n`` components: ``fit["component_names"]`` when it fits, else ``dim_1`` ..."""
    given = fit.get("component_names")
    if (
        isinstance(given, Sequence)
        and not isinstance(given, str)
        and len(given) == n
        and all(isinstance(name, str) for name in given)
    ):
        return tuple(given)
    return tuple(f"dim_{i + 1}" for i in range(n))


def container_for(
    embedding: NDArray[Any], ids: NDArray[Any], fit: Mapping[str, Any]
) -> EmbeddingContainer | None:
    """The container of a 2-D embedding, or None for other shapes."""
    if embedding.ndim != 2 or len(ids) != embedding.shape[0]:
        return None
    return EmbeddingContainer(embedding, ids, component_names(fit, int(embedding.shape[1])))
