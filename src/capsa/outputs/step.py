"""``StepOutput``: what a step returns instead of saving ("return, don't save").

A step computes; it does not write files. It returns what it produced::

    return StepOutput(
        artifacts={"model": fitted_model},                 # to the deduplicated store
        outputs=[(png_bytes, "2D_Chart", "png")],          # to exports/<group>/2D_Chart.png
    )

and a :class:`~capsa.outputs.persister.Persister` writes it, honouring its
``save_artifacts`` and ``save_outputs`` flags. Steps are then testable by
looking at what they return, with no I/O to mock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from capsa.errors import InvalidKeyError, ValidationError
from capsa.store.keys import validate_member_file

_EXT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_+-]{0,15}$")


@dataclass
class StepOutput:
    """What one step produced (seed 003's ``StepOutput``).

    :ivar artifacts: internal objects (models, fitted transformers), by name;
        persisted by reference into content-addressed storage, so identical
        ones are stored once. A name with an extension (``"scaler.json"``)
        picks the format; otherwise the value's type does.
    :ivar outputs: human-readable files as ``(data, name, ext)`` triples
        (``(png_bytes, "2D_Chart", "png")``); persisted under readable names,
        ``exports/<group>/<name>.<ext>``. ``data`` is bytes (written as is),
        text (UTF-8), or a value that the format owning ``ext`` writes
        (``({"rmse": 0.3}, "scores", "json")``).
    """

    artifacts: dict[str, Any] = field(default_factory=dict)
    outputs: list[tuple[Any, str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.artifacts) or bool(self.outputs)

    def output_files(self) -> list[tuple[str, Any]]:
        """``(file name, data)`` of every output, checked (see :meth:`validate`)."""
        self.validate()
        return [(f"{name}.{ext.lstrip('.')}", data) for data, name, ext in self.outputs]

    def validate(self) -> None:
        """Check names and shapes; raise :class:`~capsa.errors.ValidationError` naming the culprit.

        Artifact names and output names must be valid member file names
        (no ``..``, no absolute paths, no backslashes ...); outputs must be
        ``(data, name, ext)`` triples with a plain extension; no file may be
        given twice; no value may be None.
        """
        if not isinstance(self.artifacts, dict):
            raise ValidationError(
                f"StepOutput.artifacts must be a dict of name -> object, got "
                f"{type(self.artifacts).__name__}"
            )
        for name, value in self.artifacts.items():
            if not isinstance(name, str):
                raise ValidationError(f"StepOutput artifact names must be strings, got {name!r}")
            _check_name(name, f"artifact {name!r}")
            if value is None:
                raise ValidationError(f"StepOutput artifact {name!r} is None")
        if not isinstance(self.outputs, list | tuple):
            raise ValidationError(
                f"StepOutput.outputs must be a list of (data, name, ext) triples, got "
                f"{type(self.outputs).__name__}"
            )
        seen: set[str] = set()
        for i, item in enumerate(self.outputs):
            if not isinstance(item, tuple | list) or len(item) != 3:
                raise ValidationError(
                    f"StepOutput.outputs[{i}] must be a (data, name, ext) triple, got {item!r:.80}"
                )
            data, name, ext = item
            if not isinstance(name, str) or not name:
                raise ValidationError(f"StepOutput.outputs[{i}]: name must be a non-empty string")
            if not isinstance(ext, str) or not _EXT.match(ext.lstrip(".")):
                raise ValidationError(
                    f"StepOutput.outputs[{i}] ({name!r}): extension {ext!r} must be letters, "
                    "digits, '_', '+' or '-' (e.g. 'png', 'csv')"
                )
            file = f"{name}.{ext.lstrip('.')}"
            _check_name(file, f"output {i} ({file!r})")
            if data is None:
                raise ValidationError(f"StepOutput output {file!r} has no data (None)")
            if file in seen:
                raise ValidationError(f"StepOutput output {file!r} is given twice")
            seen.add(file)


def _check_name(name: str, what: str) -> None:
    if "/" in name:
        raise ValidationError(f"StepOutput {what}: a name cannot contain '/'")
    try:
        validate_member_file(name, key="StepOutput")
    except InvalidKeyError as exc:
        raise ValidationError(f"StepOutput {what}: {exc}") from None


__all__ = ["StepOutput"]
