"""The one rule for reading times: formats, day-first, offsets, time zones, large columns."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from observatory.errors import InputError
from observatory.timeparse import check_time_zone, parse_series, plan_for

UTC = dt.UTC


@pytest.mark.parametrize(("text", "expected"), [
    ("2012-01-01", dt.datetime(2012, 1, 1, tzinfo=UTC)),
    ("2012/01/01", dt.datetime(2012, 1, 1, tzinfo=UTC)),
    ("2012/1/5", dt.datetime(2012, 1, 5, tzinfo=UTC)),
    ("2012-03", dt.datetime(2012, 3, 1, tzinfo=UTC)),
    ("2012", dt.datetime(2012, 1, 1, tzinfo=UTC)),
    ("2012-01-01T08:30", dt.datetime(2012, 1, 1, 8, 30, tzinfo=UTC)),
    ("2012-01-01 08:30:00.5", dt.datetime(2012, 1, 1, 8, 30, 0, 500000, tzinfo=UTC)),
    ("2012-01-01T08:30:00Z", dt.datetime(2012, 1, 1, 8, 30, tzinfo=UTC)),
    ("2012-01-01T10:30:00+02:00", dt.datetime(2012, 1, 1, 8, 30, tzinfo=UTC)),
    (" 2012-01-01T08:30+0200 ", dt.datetime(2012, 1, 1, 6, 30, tzinfo=UTC)),
    ("junk", None), ("", None), ("2012-13-01", None),
])
def test_each_accepted_form(text: str, expected: dt.datetime | None) -> None:
    assert parse_series(pl.Series([text])).to_list() == [expected]


def test_day_first_is_decided_by_the_column_or_the_format() -> None:
    assert parse_series(pl.Series(["31/01/2012", "01/02/2012"])).dt.day().to_list() == [31, 1]
    assert parse_series(pl.Series(["01/31/2012", "02/01/2012"])).dt.month().to_list() == [1, 2]
    with pytest.raises(InputError, match="--date-format"):
        parse_series(pl.Series(["01/02/2012"]))
    dated = parse_series(pl.Series(["01/02/2012"]), date_format="%d/%m/%Y")
    assert dated.to_list() == [dt.datetime(2012, 2, 1, tzinfo=UTC)]


def test_local_times_follow_the_time_zone() -> None:
    parsed = parse_series(pl.Series(["2012-06-01 12:00", "2012-03-25 03:30"]),
                          tz="Europe/Helsinki")
    assert parsed.to_list() == [dt.datetime(2012, 6, 1, 9, 0, tzinfo=UTC), None]  # a gap hour
    assert check_time_zone("Europe/Helsinki") == "Europe/Helsinki"
    with pytest.raises(InputError, match="'Mars/Olympus' is not a time zone"):
        check_time_zone("Mars/Olympus")


def test_a_plan_from_the_head_still_reads_a_different_tail() -> None:
    values = pl.Series(["2024-01-01 10:00"] * 12_000 + ["2024/02/01", "nope"])
    assert not plan_for(values.head(100)).normalise  # ISO already: the fast path
    parsed = parse_series(values)
    assert parsed[-2] == dt.datetime(2024, 2, 1, tzinfo=UTC) and parsed[-1] is None


def test_columns_with_nothing_readable_keep_their_length() -> None:
    assert parse_series(pl.Series(["junk", "nope", None])).to_list() == [None, None, None]
    assert parse_series(pl.Series([None, None], dtype=pl.String)).to_list() == [None, None]
    assert parse_series(pl.Series([], dtype=pl.String)).to_list() == []


def test_utc_logger_times_take_the_fast_plan_and_keep_their_instants() -> None:
    values = pl.Series(["2024-01-01T10:00:00Z", "2024-01-01T10:10:00Z"] * 6_000
                       + ["2024-01-01T12:00:00+02:00"])
    assert plan_for(values.head(100)).utc_z
    parsed = parse_series(values)
    assert parsed[0] == dt.datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
    assert parsed[-1] == dt.datetime(2024, 1, 1, 10, 0, tzinfo=UTC)  # re-read: its offset
    assert parsed.null_count() == 0
