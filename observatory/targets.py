"""Targets: the probability that a forecast meets a declared target, and the status it gives.

The forecast at the target date is a Student-t distribution (mean, scale, degrees of
freedom) from observatory.forecasting.models; the probability of meeting the target is
P(Y ≤ target) when lower is better and P(Y ≥ target) when higher is better. The status
reads it against stated thresholds.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Protocol, TypeVar

ON_TRACK = 0.7  # probability at or above which a target is on track
OFF_TRACK = 0.3  # probability below which it is off track; at risk in between
THRESHOLDS_TEXT = (f"on track: probability ≥ {ON_TRACK:.0%}; at risk: {OFF_TRACK:.0%} to "
                   f"{ON_TRACK:.0%}; off track: < {OFF_TRACK:.0%}")
STATUSES = ("on track", "at risk", "off track", "no target", "no forecast")
_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


@dataclass(frozen=True)
class PeriodKind:
    """How a period string counts: periods a year and its seasonal cycle."""

    name: str
    per_year: int


YEAR, QUARTER, MONTH = PeriodKind("year", 1), PeriodKind("quarter", 4), PeriodKind("month", 12)


class _Dated(Protocol):
    @property
    def by(self) -> dt.date: ...


_Target = TypeVar("_Target", bound=_Dated)


def chosen_target(targets: list[_Target], *, today: dt.date | None = None) -> _Target | None:
    """The nearest target not yet due, else the latest one."""
    if not targets:
        return None
    today = today or dt.date.today()
    upcoming = sorted((t for t in targets if t.by >= today), key=lambda t: t.by)
    return upcoming[0] if upcoming else max(targets, key=lambda t: t.by)


def probability_of_meeting(*, mean: float, scale: float, dof: int, target: float,
                           direction: str) -> float:
    """P(forecast meets target): ≤ target if lower is better, ≥ if higher is better.

    A zero scale (a flat history) gives 1 or 0. Raises ValueError for a neutral direction.
    """
    if direction not in ("lower_is_better", "higher_is_better"):
        raise ValueError(f"a target cannot be met or missed with direction `{direction}`")
    if scale <= 0:
        meets = mean <= target if direction == "lower_is_better" else mean >= target
        return 1.0 if meets else 0.0
    from scipy import stats  # only here: importing it costs the command line 0.4 s

    below = float(stats.t.cdf((target - mean) / scale, max(dof, 1)))
    return below if direction == "lower_is_better" else 1.0 - below


def status_from_probability(probability: float) -> str:
    """on track / at risk / off track for a probability of meeting the target."""
    if probability >= ON_TRACK:
        return "on track"
    return "at risk" if probability >= OFF_TRACK else "off track"


def period_kind(period: str) -> PeriodKind | None:
    """The kind of a period string ('2024', '2024-03', '2024-Q2'), None if not understood."""
    if _YEAR.match(period):
        return YEAR
    if _MONTH.match(period):
        return MONTH
    return QUARTER if _QUARTER.match(period) else None


def period_index(period: str) -> int:
    """A running index of a period: consecutive periods differ by one."""
    if _YEAR.match(period):
        return int(period)
    if match := _MONTH.match(period):
        return int(match[1]) * 12 + int(match[2]) - 1
    if match := _QUARTER.match(period):
        return int(match[1]) * 4 + int(match[2]) - 1
    raise ValueError(f"period `{period}` is not a year, YYYY-MM or YYYY-Qn")


def period_from_index(index: int, *, kind: PeriodKind) -> str:
    """The period string of a running index (inverse of `period_index`)."""
    if kind is YEAR:
        return str(index)
    year, within = divmod(index, kind.per_year)
    return f"{year}-{within + 1:02d}" if kind is MONTH else f"{year}-Q{within + 1}"


def date_to_index(date: dt.date, *, kind: PeriodKind) -> int:
    """The running index of the period that contains `date`."""
    if kind is YEAR:
        return date.year
    if kind is MONTH:
        return date.year * 12 + date.month - 1
    return date.year * 4 + (date.month - 1) // 3
