"""Target probability and status: monotone in the target, direction-aware, thresholds."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from observatory.targets import (
    MONTH,
    QUARTER,
    YEAR,
    date_to_index,
    period_from_index,
    period_index,
    period_kind,
    probability_of_meeting,
    status_from_probability,
)

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(mean=finite, scale=st.floats(min_value=0, max_value=1e4), dof=st.integers(1, 200),
       a=finite, b=finite)
def test_probability_is_monotone_in_the_target(mean: float, scale: float, dof: int,
                                               a: float, b: float) -> None:
    low, high = min(a, b), max(a, b)
    for direction, sign in (("lower_is_better", 1), ("higher_is_better", -1)):
        p_low = probability_of_meeting(mean=mean, scale=scale, dof=dof, target=low,
                                       direction=direction)
        p_high = probability_of_meeting(mean=mean, scale=scale, dof=dof, target=high,
                                        direction=direction)
        assert 0 <= p_low <= 1 and 0 <= p_high <= 1
        assert sign * (p_high - p_low) >= -1e-12


def test_probability_at_the_mean_is_one_half() -> None:
    for direction in ("lower_is_better", "higher_is_better"):
        assert probability_of_meeting(mean=10, scale=2, dof=5, target=10,
                                      direction=direction) == 0.5


def test_status_thresholds() -> None:
    assert status_from_probability(0.7) == "on track"
    assert status_from_probability(0.69) == "at risk"
    assert status_from_probability(0.3) == "at risk"
    assert status_from_probability(0.29) == "off track"


@given(index=st.integers(1900 * 12, 2200 * 12))
def test_period_round_trip(index: int) -> None:
    for kind in (YEAR, MONTH, QUARTER):
        scaled = index * kind.per_year // 12  # a period index within years 1900-2200
        period = period_from_index(scaled, kind=kind)
        assert period_kind(period) is kind and period_index(period) == scaled


def test_target_dates_map_to_their_period() -> None:
    date = dt.date(2030, 12, 31)
    assert date_to_index(date, kind=YEAR) == 2030
    assert period_from_index(date_to_index(date, kind=MONTH), kind=MONTH) == "2030-12"
    assert period_from_index(date_to_index(date, kind=QUARTER), kind=QUARTER) == "2030-Q4"
