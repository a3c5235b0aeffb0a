"""The closed schema of an indicator definition (see STYLE.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Unit = Literal["percent", "per_1k", "per_km2", "count", "residents", "minutes", "index", "ratio",
               "ug_m3", "hours", "days"]
Theme = Literal["accessibility", "mobility", "climate", "services", "land_use", "population"]
Direction = Literal["higher_is_better", "lower_is_better", "neutral"]
Period = Literal["year", "quarter", "month", "day"]
# How cells combine into their parents: `ratio` sums numerators and denominators (a share
# is never averaged); `sum` adds values (counts); `max` keeps the worst place (exceedances
# of a limit that applies at every station).
Aggregation = Literal["ratio", "sum", "max"]
UNIT_SCALE: dict[str, float] = {"percent": 100.0, "per_1k": 1000.0, "per_km2": 1_000_000.0}
UNIT_LABELS: dict[str, str] = {
    "percent": "%", "per_1k": "per 1,000 residents", "per_km2": "per km²", "count": "count",
    "residents": "residents", "minutes": "minutes", "index": "index", "ratio": "ratio",
    "ug_m3": "µg/m³", "hours": "hours", "days": "days",
}
MEASURE_SUFFIXES = ("_share", "_minutes", "_count", "_per_1k", "_per_km2", "_index", "_ug_m3")


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Grain(_Closed):
    h3_resolution: int = Field(10, ge=7, le=10)
    period: Period = "year"
    # `true` when a period's figure depends only on the input rows of that period (a
    # per-period mean, count or share): an append then recomputes only the periods it
    # touched. Cumulative figures (e.g. requests still open at the end of each year) keep
    # the default and are recomputed whole.
    periods_independent: bool = False


class Target(_Closed):
    value: float
    by: dt.date
    source: str


# Text people read (label, description, method) is one English string or a mapping from
# language code to string with at least `en`; readers fall back to English.
Text = str | dict[str, str]


def _has_english(value: Text) -> Text:
    if isinstance(value, dict) and "en" not in value:
        raise ValueError("a text given per language needs at least `en`")
    english = value if isinstance(value, str) else value["en"]
    if not english.strip():
        raise ValueError("the text is empty; write it (in English at least)")
    return value


def text_in(value: Text, language: str = "en") -> str:
    """`value` in `language`, falling back to English."""
    if isinstance(value, str):
        return value
    return value.get(language) or value["en"]


def languages_of(value: Text) -> frozenset[str]:
    """The languages `value` is written in (`en` alone for a plain string)."""
    return frozenset(value) if isinstance(value, dict) else frozenset({"en"})


class Method(_Closed):
    standard: Text
    deviations: Text = "none"

    _english = field_validator("standard", "deviations")(_has_english)

    def standard_in(self, language: str = "en") -> str:
        """The standard followed, in `language` (English when not translated)."""
        return text_in(self.standard, language)

    def deviations_in(self, language: str = "en") -> str:
        """Deviations from the standard, in `language` (English when not translated)."""
        return text_in(self.deviations, language)


class IndicatorSpec(_Closed):
    """One indicator, as an analyst declares it."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: Text
    description: Text
    theme: Theme
    unit: Unit
    direction: Direction
    grain: Grain = Grain()
    inputs: list[str] = Field(min_length=1)
    parameters: dict[str, float | int | str | bool] = {}
    sql: str | None = None
    python: str | None = None
    aggregation: Aggregation = "ratio"
    targets: list[Target] = []
    visibility: Literal["public", "internal"] = "internal"
    min_count: int = Field(11, ge=1)
    owner: str
    method: Method
    headline: bool = False

    _english = field_validator("label", "description")(_has_english)

    def label_in(self, language: str = "en") -> str:
        """The label in `language`, falling back to English."""
        return text_in(self.label, language)

    def description_in(self, language: str = "en") -> str:
        """The description in `language`, falling back to English."""
        return text_in(self.description, language).strip()

    @property
    def scale(self) -> float:
        """value = scale × numerator / denominator for ratio indicators."""
        return UNIT_SCALE.get(self.unit, 1.0)

    @property
    def unit_label(self) -> str:
        """The unit as people read it."""
        return UNIT_LABELS[self.unit]


class LoadedSpec(_Closed):
    """A validated definition with where it came from."""

    spec: IndicatorSpec
    path: Path
    query: str | None  # the SQL text when `sql:` is given
    definition_hash: str
