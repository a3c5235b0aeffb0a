"""Short gaps in a regular series are filled by one stated method; long ones are refused.

One rule for the forecast command and the build's forecast step (`fill_gaps`):

- limits: at most `max_share` of the points (default 10 %) may be filled, and no run of
  missing points may be longer than `max_gap` (default max(3, one season): a week of daily
  data, a year of monthly data, four quarters, three years of yearly data). Beyond that
  an interpolation would invent a stretch of history the forecast then learns from.
- method: a seasonal series (season > 1, at least two full seasons long) is filled by
  seasonal interpolation as R's `forecast::na.interp` does (Hyndman & Athanasopoulos,
  FPP3 13.9): an STL decomposition of the linearly interpolated series gives the seasonal
  component; the seasonally adjusted series is interpolated linearly over each gap and the
  seasonal component added back. Any other series is interpolated linearly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from observatory.errors import InputError

DEFAULT_MAX_SHARE = 0.10
LINEAR = "linear interpolation"
SEASONAL = "seasonal interpolation (STL)"


@dataclass(frozen=True)
class FillLimits:
    """How much of a series may be filled: a share of its points and a run length."""

    max_share: float = DEFAULT_MAX_SHARE
    max_gap: int | None = None  # None: max(3, season)

    def gap_for(self, season: int) -> int:
        """The longest run of missing points that is filled for this seasonal period."""
        return self.max_gap if self.max_gap is not None else max(3, season)


DEFAULT_LIMITS = FillLimits()


@dataclass(frozen=True)
class Filled:
    """A series with its gaps filled: the values, which were missing and how they were filled."""

    values: np.ndarray
    missing: np.ndarray  # bool, one per value
    method: str | None  # None: nothing was missing

    @property
    def count(self) -> int:
        """How many points were filled."""
        return int(self.missing.sum())

    def sentence(self, *, unit: str = "points") -> str:
        """'3 missing periods filled by linear interpolation' ('' when none was)."""
        if not self.count:
            return ""
        noun = unit[:-1] if self.count == 1 and unit.endswith("s") else unit
        return f"{self.count} missing {noun} filled by {self.method}"


class GapError(InputError, ValueError):
    """A series whose gaps are too long or too many to fill; `kind` is 'gap' or 'share'."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def _runs(missing: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of missing points."""
    edges = np.diff(np.concatenate([[0], missing.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True))


def fill_gaps(values: np.ndarray, *, labels: Sequence[str], season: int = 1,
              limits: FillLimits = DEFAULT_LIMITS, unit: str = "points") -> Filled:
    """Fill the NaNs of a regular series (first and last value observed) within `limits`.

    `labels` name the points (times or periods) for the error message; GapError names the
    first run that is too long (from, to, how many, the limit), or the share filled."""
    y = np.asarray(values, dtype=float)
    missing = np.isnan(y)
    if not missing.any():
        return Filled(y, missing, None)
    if missing[0] or missing[-1]:
        raise ValueError("the first and last value of a series to fill must be observed")
    limit = limits.gap_for(season)
    if long := [(a, b) for a, b in _runs(missing) if b - a + 1 > limit]:
        a, b = long[0]
        more = f" (and {len(long) - 1} more such gaps)" if len(long) > 1 else ""
        raise GapError(f"the gap from {labels[a]} to {labels[b]} ({b - a + 1} missing "
                       f"{unit}) is longer than the limit of {limit} {unit} in a row{more}",
                       kind="gap")
    share = missing.mean()
    if share > limits.max_share + 1e-12:
        raise GapError(f"{int(missing.sum())} of {len(y)} {unit} are missing ({share:.1%}), "
                       f"more than the limit of {limits.max_share:.0%}", kind="share")
    positions = np.arange(len(y))
    linear = y.copy()
    linear[missing] = np.interp(positions[missing], positions[~missing], y[~missing])
    if season < 2 or len(y) < 2 * season + 1:
        return Filled(linear, missing, LINEAR)
    from statsmodels.tsa.seasonal import STL

    seasonal = STL(linear, period=season, robust=True).fit().seasonal
    adjusted = y - seasonal
    filled = y.copy()
    filled[missing] = np.interp(positions[missing], positions[~missing],
                                adjusted[~missing]) + seasonal[missing]
    return Filled(filled, missing, SEASONAL)
