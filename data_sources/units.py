"""Units of measured variables: canonical unit per variable, conversions, plausible ranges."""

from __future__ import annotations

from dataclasses import dataclass

# Spellings people use for the same unit.
ALIASES = {
    "ug/m3": "µg/m³", "µg/m3": "µg/m³", "ug/m³": "µg/m³", "µg/m³": "µg/m³", "ugm-3": "µg/m³",
    "ug m-3": "µg/m³", "microgram/m3": "µg/m³", "mg/m3": "mg/m³", "mg/m³": "mg/m³",
    "ppb": "ppb", "ppm": "ppm", "c": "°C", "°c": "°C", "degc": "°C", "celsius": "°C",
    "f": "°F", "°f": "°F", "degf": "°F", "k": "K", "kelvin": "K", "%": "%", "percent": "%",
    "mm": "mm", "m/s": "m/s", "db": "dB", "db(a)": "dB(A)", "dba": "dB(A)", "count": "count",
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


def canonical_unit(text: str) -> str:
    """The canonical spelling of a unit, or the text itself when unknown."""
    return ALIASES.get(text.strip().lower().replace(" ", ""), ALIASES.get(text.strip().lower(),
                                                                         text.strip()))
