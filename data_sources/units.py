"""Units of measured variables: canonical unit per variable, conversions, plausible ranges,
and the physical bounds every value of a unit obeys whatever the variable is called."""

from __future__ import annotations

from dataclasses import dataclass

# Spellings people use for the same unit.
ALIASES = {
    "ug/m3": "µg/m³", "µg/m3": "µg/m³", "ug/m³": "µg/m³", "µg/m³": "µg/m³", "ugm-3": "µg/m³",
    "ug m-3": "µg/m³", "microgram/m3": "µg/m³", "μg/m3": "µg/m³", "μg/m³": "µg/m³",
    "mg/m3": "mg/m³", "mg/m³": "mg/m³", "ng/m3": "ng/m³", "ng/m³": "ng/m³", "g/m3": "g/m³",
    "g/m³": "g/m³", "ppb": "ppb", "ppm": "ppm", "ppt": "ppt",
    "#/cm3": "#/cm³", "#/cm³": "#/cm³", "1/cm3": "#/cm³", "1/cm³": "#/cm³", "/cm3": "#/cm³",
    "cm-3": "#/cm³", "particles/cm3": "#/cm³", "#/m3": "#/m³", "#/m³": "#/m³", "#/l": "#/l",
    "c": "°C", "°c": "°C", "degc": "°C", "celsius": "°C",
    "f": "°F", "°f": "°F", "degf": "°F", "k": "K", "kelvin": "K", "%": "%", "percent": "%",
    "pct": "%", "mm": "mm", "m/s": "m/s", "db": "dB", "db(a)": "dB(A)", "dba": "dB(A)",
    "count": "count", "counts": "count", "number": "count", "#": "count",
    "s": "s", "sec": "s", "seconds": "s", "min": "min", "minutes": "min", "h": "h",
    "hours": "h",
}


@dataclass(frozen=True)
class Variable:
    """A known variable: its canonical unit, conversions into it and its plausible range."""

    unit: str
    factors: dict[str, tuple[float, float]]  # unit -> (scale, offset) into the canonical unit
    low: float
    high: float


VARIABLES: dict[str, Variable] = {
    "pm25": Variable("µg/m³", {"µg/m³": (1, 0), "mg/m³": (1000, 0)}, 0, 1000),
    "pm10": Variable("µg/m³", {"µg/m³": (1, 0), "mg/m³": (1000, 0)}, 0, 2000),
    # NO2 at 20 °C and 1 atm: 1 ppb = 1.88 µg/m³ (EU Directive 2008/50/EC reference conditions).
    "no2": Variable("µg/m³", {"µg/m³": (1, 0), "ppb": (1.88, 0), "ppm": (1880, 0)}, 0, 2000),
    "o3": Variable("µg/m³", {"µg/m³": (1, 0), "ppb": (2.00, 0)}, 0, 1000),
    "temperature": Variable("°C", {"°C": (1, 0), "K": (1, -273.15), "°F": (5 / 9, -160 / 9)},
                            -90, 60),
    "humidity": Variable("%", {"%": (1, 0)}, 0, 100),
    "precipitation": Variable("mm", {"mm": (1, 0)}, 0, 500),
    "wind_speed": Variable("m/s", {"m/s": (1, 0)}, 0, 120),
    "noise": Variable("dB(A)", {"dB(A)": (1, 0), "dB": (1, 0)}, 0, 200),
}

# No reading of any unit is larger than this in magnitude: beyond it a value is an overflow
# (1e308, inf), a logger's fill value (9.96921e36, 1e20) or a unit mix-up, never a
# measurement. Sensor values of the units above stay below 1e7 (particle number counts,
# the largest, reach about 1e6 per cm³ beside a motorway); 1e15 leaves eight orders of
# magnitude for units this table does not know.
CEILING = 1e15


@dataclass(frozen=True)
class Bounds:
    """The values that can be true, and why (for the message that lists the others)."""

    low: float
    high: float
    why: str


_CONCENTRATION = "a concentration cannot be negative"
_COUNT = "a count cannot be negative"
_DURATION = "a duration cannot be negative"
# Physical bounds by canonical unit. A mixing ratio cannot exceed the whole (1e6 ppm,
# 1e9 ppb, 1e12 ppt), a temperature cannot go below absolute zero.
UNIT_BOUNDS: dict[str, Bounds] = {
    **{u: Bounds(0, CEILING, _CONCENTRATION)
       for u in ("µg/m³", "mg/m³", "ng/m³", "g/m³", "#/cm³", "#/m³", "#/l")},
    "ppm": Bounds(0, 1e6, "a mixing ratio lies between 0 and 1e6 ppm"),
    "ppb": Bounds(0, 1e9, "a mixing ratio lies between 0 and 1e9 ppb"),
    "ppt": Bounds(0, 1e12, "a mixing ratio lies between 0 and 1e12 ppt"),
    "%": Bounds(0, 100, "a percentage lies between 0 and 100"),
    "count": Bounds(0, CEILING, _COUNT),
    **{u: Bounds(0, CEILING, _DURATION) for u in ("s", "min", "h")},
    "K": Bounds(0, CEILING, "below absolute zero"),
    "°C": Bounds(-273.15, CEILING, "below absolute zero"),
    "°F": Bounds(-459.67, CEILING, "below absolute zero"),
}


def canonical_unit(text: str) -> str:
    """The canonical spelling of a unit, or the text itself when unknown."""
    return ALIASES.get(text.strip().lower().replace(" ", ""), ALIASES.get(text.strip().lower(),
                                                                         text.strip()))


def value_bounds(variable: str, unit: str) -> Bounds:
    """The values of `variable` in `unit` (its canonical unit) that can be true: the
    variable's plausible range, within the unit's physical bounds and ±CEILING. Infinite
    values always lie outside; NaN is the caller's to treat as missing."""
    physical = UNIT_BOUNDS.get(canonical_unit(unit),
                               Bounds(-CEILING, CEILING, "no reading is that large"))
    known = VARIABLES.get(variable)
    if known is None:
        return physical
    low, high = max(known.low, physical.low), min(known.high, physical.high)
    return Bounds(low, high, "")  # the variable's range says it all

