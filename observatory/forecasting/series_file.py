"""A series from a CSV file: parse the time column, infer its frequency and season, fill
short gaps, and extend it into the future. Errors name the file, the line and what to fix.

Times are read by the project's one time parser (observatory.timeparse): ISO dates with
`-` or `/`, months, day-first dates where the column tells (or `date_format`); a column of
bare years (`2012`) is a yearly series of integer years. A row whose value is empty (or
NA, NaN, null) is a missing point like a row that is not there; both are filled within
`FillLimits` (observatory.forecasting.gaps) or refused naming the gap.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from observatory.errors import InputError
from observatory.forecasting.gaps import DEFAULT_LIMITS, FillLimits, GapError, fill_gaps
from observatory.timeparse import ACCEPTED, parse_series

# (name, typical spacing in days, seasonal period, polars offset)
FREQUENCIES = (
    ("hourly", 1 / 24, 24, "1h"), ("daily", 1, 7, "1d"), ("weekly", 7, 52, "1w"),
    ("monthly", 30.4, 12, "1mo"), ("quarterly", 91.3, 4, "3mo"), ("yearly", 365.25, 1, "1y"),
)
_PERIOD = {"hourly": "hour", "daily": "day", "weekly": "week", "monthly": "month",
           "quarterly": "quarter", "yearly": "year"}
MISSING_VALUES = ("", "na", "n/a", "nan", "null")  # lower case, after stripping
_FIX = {"gap": "fill it in the file or raise --max-gap",
        "share": "fill some in the file or raise --max-fill-share"}


@dataclass(frozen=True)
class FileSeries:
    """A regular series read from a file, its short gaps filled."""

    times: list[str]
    values: np.ndarray
    frequency: str
    season: int
    offset: str | None  # None: integer years
    last: dt.datetime | int
    filled_times: tuple[str, ...] = ()
    fill_method: str | None = None


def _lines(frame: pl.DataFrame, mask: pl.Series) -> str:
    lines = frame.filter(mask)["__line"].head(5).to_list()
    return ", ".join(str(n) for n in lines) + (", …" if int(mask.sum()) > 5 else "")


def _first(frame: pl.DataFrame, mask: pl.Series, column: str) -> str:
    """'line 7 (`2012/13/45`)': the first flagged line and its text."""
    row = frame.filter(mask).row(0, named=True)
    text = row[column]
    return f"line {row['__line']} ({'empty' if text is None else repr(text)})"


def read_series(path: Path, *, time: str, value: str, date_format: str | None = None,
                limits: FillLimits = DEFAULT_LIMITS) -> FileSeries:
    """Read, check, sort and fill one series; raises InputError naming lines to fix."""
    frame = _read(path, time=time, value=value)
    values = _values(path, frame, value=value)
    parsed, years = _times(path, frame, time=time, date_format=date_format)
    frame = (frame.with_columns(parsed.alias("__t"), values.alias("__v"))
             .filter(pl.col("__v").is_not_null()).sort("__t"))
    if (dup := frame["__t"].is_duplicated()).any():
        raise InputError(f"{path}: the same `{time}` appears more than once (line "
                         f"{_lines(frame, dup)}); keep one row per time.")
    if frame.height < 3:
        raise InputError(f"{path}: {frame.height} rows with a value; a forecast needs at "
                         "least 3.")
    return _regular(path, frame, years=years, limits=limits)


def _read(path: Path, *, time: str, value: str) -> pl.DataFrame:
    if not path.is_file():
        raise InputError(f"{path}: not found; give a CSV file with a header row.")
    try:
        frame = pl.read_csv(path, infer_schema=False).with_row_index("__line", offset=2)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as CSV ({str(exc).splitlines()[0]}).") from exc
    if missing := [c for c in (time, value) if c not in frame.columns]:
        raise InputError(f"{path} line 1: no column {', '.join(missing)} (the header has "
                         f"{', '.join(c for c in frame.columns if c != '__line')}); name the "
                         "columns with --time and --value.")
    return frame


def _values(path: Path, frame: pl.DataFrame, *, value: str) -> pl.Series:
    """The values as floats, null where the file leaves them empty (a point to fill)."""
    text = frame[value].str.strip_chars()
    empty = text.is_null() | text.str.to_lowercase().is_in(MISSING_VALUES)
    values = text.cast(pl.Float64, strict=False)
    if (bad := ~empty & (values.is_null() | ~values.is_finite())).any():
        more = f" (lines {_lines(frame, bad)})" if int(bad.sum()) > 1 else ""
        raise InputError(f"{path}: column `{value}` is not a number at "
                         f"{_first(frame, bad, value)}{more}; fix or empty those cells (an "
                         "empty value is a missing point).")
    return values.scatter(empty.arg_true(), None)


def _times(path: Path, frame: pl.DataFrame, *, time: str, date_format: str | None
           ) -> tuple[pl.Series, bool]:
    """The time column as integer years (bare years) or naive UTC datetimes."""
    raw = frame[time].str.strip_chars()
    years = date_format is None and bool(raw.str.contains(r"^\d{4}$").all())
    if years and not raw.has_nulls():
        return raw.cast(pl.Int64), True
    try:
        parsed = parse_series(raw, date_format=date_format)
    except InputError as exc:
        raise InputError(f"{path}: column `{time}`: {exc}") from None
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"{path}: --date-format {date_format!r} cannot read column "
                         f"`{time}` ({str(exc).splitlines()[0]}); give strftime codes "
                         "such as %d/%m/%Y.") from None
    if (bad := parsed.is_null()).any():
        how = (f"does not match --date-format {date_format!r}" if date_format
               else f"is not a date or time; use {ACCEPTED}")
        raise InputError(f"{path}: column `{time}` at {_first(frame, bad, time)} {how}.")
    return parsed.dt.replace_time_zone(None), False


def _regular(path: Path, frame: pl.DataFrame, *, years: bool, limits: FillLimits
             ) -> FileSeries:
    """The series on its regular grid (first to last time), short gaps filled."""
    times = frame["__t"]
    if years:
        name, season, offset = "yearly", 1, None
        grid = pl.Series("__t", range(int(times[0]), int(times[-1]) + 1), dtype=pl.Int64)
    else:
        spacing = float((times.diff().drop_nulls().dt.total_seconds() / 86400).median())
        name, _, season, offset = min(FREQUENCIES, key=lambda f: abs(np.log(spacing / f[1])))
        grid = pl.datetime_range(times[0], times[-1], interval=offset, eager=True,
                                 time_unit="us").alias("__t")
    if (off := ~times.is_in(grid.implode())).any():
        raise InputError(f"{path}: the series is not regular ({name}): an uneven step at "
                         f"line {_lines(frame, off)}; give one row per {_PERIOD[name]} (a "
                         "missing one is filled).")
    if frame.height * 2 < grid.len():
        raise InputError(f"{path}: only {frame.height} of the {grid.len()} {name} times "
                         f"from {times[0]} to {times[-1]} have a value; a series this "
                         "sparse is not regular.")
    values = grid.to_frame().join(frame.select("__t", "__v"), on="__t", how="left")["__v"]
    labels = [str(t) for t in grid.to_list()] if years else _labels(grid.to_list())
    try:
        filled = fill_gaps(values.fill_null(np.nan).to_numpy(), labels=labels, season=season,
                           limits=limits, unit=f"{name} points")
    except GapError as exc:
        raise InputError(f"{path}: {exc}; {_FIX[exc.kind]}.") from None
    return FileSeries(labels, filled.values, name, season, offset, grid.to_list()[-1],
                      tuple(t for t, m in zip(labels, filled.missing, strict=True) if m),
                      filled.method)


def _labels(times: list[dt.datetime]) -> list[str]:
    dates_only = all(t.hour == t.minute == t.second == 0 for t in times)
    return [t.date().isoformat() if dates_only else t.isoformat() for t in times]


def future_times(series: FileSeries, horizon: int) -> list[str]:
    """Labels of the `horizon` periods after the last one."""
    if series.offset is None:
        return [str(int(series.last) + k) for k in range(1, horizon + 1)]
    count, unit = re.match(r"(\d+)(\w+)", series.offset).groups()  # type: ignore[union-attr]
    start = pl.Series([series.last])
    return _labels([start.dt.offset_by(f"{int(count) * k}{unit}")[0]
                    for k in range(1, horizon + 1)])
