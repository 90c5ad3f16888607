"""Units carried in names, and the automatic scaling of errors.

Naming convention (seed): a leaf's unit is the suffix after its last ``_``
(``binary.x_position_as`` is in arcseconds, ``primary.zernike_coeffs_nm`` in
nanometres). Errors against truth are scaled automatically to the unit
scientists read them in: angles to µas, lengths to nm, dimensionless values
to ppm of the true value. Every choice can be overridden per leaf.
"""

from __future__ import annotations

from capsa.errors import ValidationError

ANGLE = {
    "as": 1.0,
    "mas": 1e-3,
    "uas": 1e-6,
    "arcmin": 60.0,
    "deg": 3600.0,
    "rad": 206264.80624709636,
}
"""Angle units, in arcseconds."""

LENGTH = {"m": 1.0, "mm": 1e-3, "um": 1e-6, "nm": 1e-9, "pm": 1e-12}
"""Length units, in metres."""

TIME = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
"""Time units, in seconds."""

RELATIVE = {"ppm": 1e-6, "ppb": 1e-9, "pct": 1e-2}
"""Relative units, as fractions."""

_FAMILIES = (ANGLE, LENGTH, TIME, RELATIVE)

PRETTY = {"uas": "µas", "um": "µm", "us": "µs", "as": "arcsec", "pct": "%", "1": ""}
"""How units are printed on axes."""

ERROR_UNIT = {id(ANGLE): "uas", id(LENGTH): "nm"}
"""Default unit of errors per family (others keep their own unit)."""


def family_of(unit: str) -> dict[str, float] | None:
    """The unit family (a name -> factor table) holding ``unit``, or None."""
    for family in _FAMILIES:
        if unit in family:
            return family
    return None


def split_unit(name: str) -> tuple[str, str]:
    """``"binary.x_position_as"`` -> ``("binary.x_position", "as")``; no unit gives ``"1"``."""
    leaf = name.rsplit(".", 1)[-1]
    if "_" in leaf:
        suffix = leaf.rsplit("_", 1)[1]
        if family_of(suffix) is not None:
            return name[: -len(suffix) - 1], suffix
    return name, "1"


def with_tag(name: str, tag: str, unit: str | None = None) -> str:
    """Insert ``tag`` before the unit suffix: ``("z_nm", "rms")`` -> ``"z_rms_nm"``."""
    stem, own = split_unit(name)
    unit = own if unit is None else unit
    return f"{stem}_{tag}" + ("" if unit == "1" else f"_{unit}")


def conversion(from_unit: str, to_unit: str) -> float:
    """Factor taking values in ``from_unit`` to ``to_unit`` (same family).

    :raises ValidationError: units of different families, or unknown ones.
    """
    if from_unit == to_unit:
        return 1.0
    family = family_of(from_unit)
    if family is None or to_unit not in family:
        raise ValidationError(f"cannot convert {from_unit!r} to {to_unit!r}")
    return family[from_unit] / family[to_unit]


def error_unit(unit: str) -> str:
    """The unit errors of a leaf in ``unit`` are shown in (µas, nm, ppm ...)."""
    family = family_of(unit)
    if family is None:
        return "ppm"
    return ERROR_UNIT.get(id(family), unit)


def pretty(unit: str) -> str:
    """A unit as printed on an axis label (``uas`` -> ``µas``)."""
    return PRETTY.get(unit, unit)
