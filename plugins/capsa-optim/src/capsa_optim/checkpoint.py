"""Checkpoints: the best and final θ of a run, to reload an optimized point later.

Stored as the seed names them: ``checkpoint_best.npz`` holds ``theta_best``,
``best_step``, ``best_loss``; ``checkpoint_final.npz`` holds
``theta_final``, ``final_step``, ``final_loss``; both may hold minimal
extras (any other named array).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from capsa.errors import IntegrityError, ValidationError

WHICH = ("best", "final")
"""The two checkpoints a run can hold."""


def seed_keys(which: str) -> tuple[str, str, str]:
    """The npz keys of θ, step and loss: ``("theta_best", "best_step", "best_loss")``."""
    return f"theta_{which}", f"{which}_step", f"{which}_loss"


@dataclass(frozen=True)
class Checkpoint:
    """θ at one step, with its step index and loss.

    :ivar which: ``"best"`` or ``"final"``.
    :ivar theta: θ, shape (D,).
    :ivar step: the optimizer step.
    :ivar loss: the loss at that step.
    :ivar extras: other arrays saved with it (optimizer state ...).
    """

    which: str
    theta: Any
    step: int
    loss: float
    extras: dict[str, Any] = field(default_factory=dict)

    def to_npz(self) -> dict[str, Any]:
        """The arrays of ``checkpoint_<which>.npz`` under the seed's key names."""
        import numpy as np

        k_theta, k_step, k_loss = seed_keys(self.which)
        return {
            k_theta: np.asarray(self.theta),
            k_step: np.asarray(self.step, dtype=np.int64),
            k_loss: np.asarray(self.loss, dtype=np.float64),
            **{k: np.asarray(v) for k, v in self.extras.items()},
        }

    @classmethod
    def from_npz(cls, which: str, arrays: Mapping[str, Any], *, where: str = "") -> Checkpoint:
        """Read a checkpoint back from its npz arrays (seed key names)."""
        import numpy as np

        keys = seed_keys(which)
        missing = [k for k in keys if k not in arrays]
        if missing:
            raise IntegrityError(f"{where or f'checkpoint_{which}.npz'} lacks {missing}")
        extras = {k: arrays[k] for k in arrays if k not in keys}
        return cls(
            which=which,
            theta=np.asarray(arrays[keys[0]]),
            step=int(np.asarray(arrays[keys[1]])),
            loss=float(np.asarray(arrays[keys[2]])),
            extras=extras,
        )


def coerce_checkpoint(value: Any, which: str, dim: int) -> dict[str, Any]:
    """Check a checkpoint given to ``save_run`` and return its npz arrays.

    Accepts a :class:`Checkpoint`, or a mapping with either generic keys
    (``theta``, ``step``, ``loss``) or the seed's (``theta_best``,
    ``best_step``, ``best_loss``), plus extras.

    :raises ValidationError: missing keys, θ not of shape (D,), a step that
        is not a non-negative int, a loss that is not a real number.
    """
    import numpy as np

    where = f"checkpoint_{which}"
    if isinstance(value, Checkpoint):
        if value.which != which:
            raise ValidationError(f"{where}: got a {value.which!r} checkpoint")
        arrays: dict[str, Any] = value.to_npz()
    elif isinstance(value, Mapping):
        arrays = dict(value)
        for generic, seed in zip(("theta", "step", "loss"), seed_keys(which), strict=True):
            if generic in arrays:
                if seed in arrays:
                    raise ValidationError(f"{where}: give {generic!r} or {seed!r}, not both")
                arrays[seed] = arrays.pop(generic)
    else:
        raise ValidationError(
            f"{where} must be a Checkpoint or a mapping (theta, step, loss), "
            f"got {type(value).__name__}"
        )
    k_theta, k_step, k_loss = seed_keys(which)
    missing = [k for k in (k_theta, k_step, k_loss) if k not in arrays]
    if missing:
        raise ValidationError(f"{where}: missing {missing}")
    theta = np.asarray(arrays[k_theta])
    if theta.dtype.kind not in "iuf" or theta.shape != (dim,):
        raise ValidationError(
            f"{where}: theta must be a real vector of shape ({dim},), got shape {theta.shape} "
            f"dtype {theta.dtype}"
        )
    step = arrays[k_step]
    if isinstance(step, bool) or not isinstance(step, int | np.integer) or int(step) < 0:
        step_arr = np.asarray(step)
        if step_arr.shape != () or step_arr.dtype.kind not in "iu" or int(step_arr) < 0:
            raise ValidationError(f"{where}: step must be an int >= 0, got {step!r}")
    loss = np.asarray(arrays[k_loss])
    if loss.shape != () or loss.dtype.kind not in "iuf":
        raise ValidationError(f"{where}: loss must be a real number, got {arrays[k_loss]!r}")
    out: dict[str, Any] = {
        k_theta: theta.astype(np.float64) if theta.dtype.kind in "iu" else theta,
        k_step: np.asarray(int(np.asarray(step)), dtype=np.int64),
        k_loss: loss.astype(np.float64),
    }
    for key, extra in arrays.items():
        if key in out:
            continue
        array = np.asarray(extra)
        if array.dtype.hasobject:
            raise ValidationError(f"{where}: extra {key!r} holds Python objects")
        out[key] = array
    return out
