"""Numbers for people: one rule for every page, the brief and every text export.

The rule depends only on the indicator's unit (`IndicatorSpec.unit`):

- shares (`percent`): one decimal, clamped to [0, 100] (float arithmetic can give
  `100.00000000000001` or `-1e-15`);
- counts (`count`, `residents`): whole numbers;
- rates and everything measured (`per_1k`, `per_km2`, `minutes`, `ug_m3`, `hours`, `days`,
  `index`, `ratio`): three significant figures.

`value_to_published` gives the rounded number (for CSV and GeoJSON); `value_to_text` gives
the words a reader sees. Full precision is kept only in Parquet. Pure Python, no imports
beyond the standard library, so any layer can use it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Kind = Literal["share", "count", "rate"]

SHARE_UNITS = frozenset({"percent"})
COUNT_UNITS = frozenset({"count", "residents"})
MISSING = "no data"


@dataclass(frozen=True)
class NumberRule:
    """How one unit's numbers are rounded and printed."""

    kind: Kind
    decimals: int | None = None  # fixed decimals (shares, counts)
    significant: int | None = None  # significant figures (rates)
    bounds: tuple[float, float] | None = None  # clamped into these after rounding

    @property
    def description(self) -> str:
        """The rule in words (for published metadata)."""
        if self.significant is not None:
            return f"{self.significant} significant figures"
        return {0: "whole numbers", 1: "one decimal"}.get(self.decimals or 0,
                                                         f"{self.decimals} decimals")


SHARE = NumberRule("share", decimals=1, bounds=(0.0, 100.0))
COUNT = NumberRule("count", decimals=0)
RATE = NumberRule("rate", significant=3)


def rule_from_unit(unit: str) -> NumberRule:
    """The rule for an indicator's unit; an unknown unit is measured (a rate)."""
    if unit in SHARE_UNITS:
        return SHARE
    if unit in COUNT_UNITS:
        return COUNT
    return RATE


def _rounded(value: float, rule: NumberRule) -> float:
    if rule.significant is not None:
        rounded = float(f"{value:.{rule.significant}g}")  # decimal rounding, no float noise
    else:
        rounded = round(value, rule.decimals or 0)
    if rule.bounds is not None:
        rounded = min(max(rounded, rule.bounds[0]), rule.bounds[1])
    return rounded + 0.0  # -0.0 reads as 0


def value_to_published(value: float | None, *, unit: str) -> float | int | None:
    """`value` rounded by its unit's rule: an int for counts, a float otherwise.

    None, NaN and infinities give None: a published file leaves the cell empty.
    """
    if value is None or not math.isfinite(value):
        return None
    rule = rule_from_unit(unit)
    rounded = _rounded(float(value), rule)
    return int(rounded) if rule.kind == "count" else rounded


def value_to_text(value: float | None, *, unit: str, missing: str = MISSING) -> str:
    """`value` as a reader sees it: rounded by its unit's rule, with thousands separators.

    A missing value (None, NaN, infinite) prints `missing`: say why where it is known.
    """
    rounded = value_to_published(value, unit=unit)
    if rounded is None:
        return missing
    rule = rule_from_unit(unit)
    if rule.significant is None:
        return f"{rounded:,.{rule.decimals or 0}f}"
    if rounded == 0:
        return "0"
    # The decimal digits themselves (`#` keeps trailing zeros: 6.00, 1.20), never the
    # binary float's expansion, which would print noise for large values.
    return f"{Decimal(f'{value:#.{rule.significant}g}'):,f}"
