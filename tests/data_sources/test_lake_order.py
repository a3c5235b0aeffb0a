"""The readings' lake order (month, series, time) and what is computed on it, checked against
a plain recomputation on random readings: the order itself, each reading's interval since the
previous reading of its series (what the gap report uses) and the monthly files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from data_sources.timeseries import LINE, _steps, hourly_from_values, in_lake_order
from observatory import lake

START = datetime(2023, 12, 30, tzinfo=UTC)
readings = st.lists(
    st.tuples(st.integers(1, 4), st.integers(0, 90 * 24)),  # series, hours after START
    min_size=1, max_size=60)


def _frame(rows: list[tuple[int, int]], *, time_sorted: bool,
           step: timedelta = timedelta(hours=1)) -> pl.DataFrame:
    if time_sorted:
        rows = sorted(rows, key=lambda row: row[1])
    return pl.DataFrame({
        LINE: range(2, len(rows) + 2),
        "series_id": [series for series, _ in rows],
        "time": [START + step * count for _, count in rows],
        "value": [count / 7 for _, count in rows],
    }, schema_overrides={LINE: pl.UInt32, "time": pl.Datetime("us", "UTC")})


def _month(column: str = "time") -> pl.Expr:
    return pl.col(column).dt.year() * 12 + pl.col(column).dt.month()


@settings(max_examples=150, deadline=None)
@given(readings, st.booleans())
def test_lake_order_is_month_series_time_with_file_order_for_ties(
        rows: list[tuple[int, int]], time_sorted: bool) -> None:
    frame = _frame(rows, time_sorted=time_sorted)
    expected = frame.sort(_month(), "series_id", "time", LINE)
    assert in_lake_order(frame).equals(expected)


@settings(max_examples=150, deadline=None)
@given(readings, st.booleans())
def test_steps_equal_the_interval_since_the_series_previous_reading(
        rows: list[tuple[int, int]], time_sorted: bool) -> None:
    ordered = in_lake_order(_frame(rows, time_sorted=time_sorted))
    repeated = ((pl.col("series_id") == pl.col("series_id").shift(1))
                & (pl.col("time") == pl.col("time").shift(1)))
    ordered = ordered.with_columns(pl.when(repeated).then(pl.lit("duplicate")).alias("flag"))
    ours = ordered.with_columns(_steps(ordered).alias("step"))
    by_series = ordered.sort("series_id", "time", LINE).with_columns(
        pl.when(pl.col("flag").is_null())
        .then(pl.col("time").diff().over("series_id")).alias("expected"))
    joined = ours.join(by_series.select(LINE, "expected"), on=LINE)
    assert joined["step"].to_list() == joined["expected"].to_list()


@settings(max_examples=60, deadline=None)
@given(readings)
def test_monthly_files_hold_each_month_in_series_and_time_order(
        rows: list[tuple[int, int]]) -> None:
    frame = _frame(rows, time_sorted=False).with_columns(
        pl.lit(None, pl.String).alias("flag"), pl.lit(1, pl.Int64).alias("h3_cell"))
    con = duckdb.connect()
    files = lake.write_files(con, "sensor_values", "s", frame)
    root = lake.lake_root(con)
    months = frame.select(_month().unique().sort()).to_series().to_list()
    assert [file.month for file in files] == [f"{m // 12:04d}-{m % 12 + 1:02d}"
                                              for m in [m - 1 for m in months]]
    back = pl.concat([pl.read_parquet(root / file.path) for file in files])
    assert back.height == frame.height
    assert back.equals(back.sort(_month(), "series_id", "time", maintain_order=True))


@settings(max_examples=150, deadline=None)
@given(readings, st.lists(st.booleans(), min_size=60, max_size=60))
def test_hourly_runs_equal_hourly_groups(rows: list[tuple[int, int]],
                                         flagged: list[bool]) -> None:
    frame = in_lake_order(_frame(rows, time_sorted=False, step=timedelta(minutes=20)))
    frame = frame.with_columns(pl.Series("flag", ["impossible" if f else None
                                                  for f in flagged[:frame.height]]))
    runs = hourly_from_values(frame, lake_ordered=True)
    groups = hourly_from_values(frame).sort("series_id", "hour")
    assert runs.schema == groups.schema
    ordered = runs.sort("series_id", "hour")
    assert ordered.drop("mean").equals(groups.drop("mean"))
    assert ((ordered["mean"] - groups["mean"]).abs() < 1e-12).all()
    assert runs.equals(runs.sort(_month("hour"), "series_id", "hour"))  # in lake order


@settings(max_examples=200, deadline=None)
@given(readings, st.sampled_from(["lake", "time", "file"]))
def test_month_blocks_equal_a_plain_recomputation(rows: list[tuple[int, int]],
                                                   order: str) -> None:
    """`lake._by_month` finds each month's rows by binary search when months come in order
    and falls back to sorting when they do not: either way the same blocks as month
    numbers computed row by row after a stable sort, and the rows of each block intact."""
    frame = _frame(rows, time_sorted=order != "file")
    if order == "lake":
        frame = in_lake_order(frame)
    ordered, blocks = lake._by_month(frame, "time")
    expected = frame.with_columns(_month().alias("_m")).sort("_m", maintain_order=True)
    assert ordered.equals(expected.drop("_m"))
    months = expected["_m"].to_list()
    cuts = [i for i in range(1, len(months)) if months[i] != months[i - 1]]
    starts, stops = [0, *cuts], [*cuts, len(months)]
    assert [(start, stop) for _, start, stop in blocks] == list(zip(starts, stops, strict=True))
    assert [lake.month_label(number) for number, _, _ in blocks] == [
        f"{(months[start] - 1) // 12:04d}-{(months[start] - 1) % 12 + 1:02d}"
        for start in starts]
