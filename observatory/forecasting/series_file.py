"""A series from a CSV file: parse the time column, infer its frequency and season, and
extend it into the future. Errors name the file, the line and what to fix."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from observatory.errors import InputError

# (name, typical spacing in days, seasonal period, polars offset)
FREQUENCIES = (
    ("hourly", 1 / 24, 24, "1h"), ("daily", 1, 7, "1d"), ("weekly", 7, 52, "1w"),
    ("monthly", 30.4, 12, "1mo"), ("quarterly", 91.3, 4, "3mo"), ("yearly", 365.25, 1, "1y"),
)


@dataclass(frozen=True)
class FileSeries:
    """A regular series read from a file."""

    times: list[str]
    values: np.ndarray
    frequency: str
    season: int
    offset: str | None  # None: integer years
    last: dt.datetime | int


def _lines(frame: pl.DataFrame, mask: pl.Series) -> str:
    lines = frame.filter(mask)["__line"].head(5).to_list()
    return ", ".join(str(n) for n in lines) + (", …" if int(mask.sum()) > 5 else "")


def read_series(path: Path, *, time: str, value: str) -> FileSeries:
    """Read, check and sort one series; raises InputError naming lines to fix."""
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
    values = frame[value].str.strip_chars().cast(pl.Float64, strict=False)
    if (bad := values.is_null() | values.is_nan()).any():
        raise InputError(f"{path}: column `{value}` is missing or not a number at line "
                         f"{_lines(frame, bad)}; fill or remove those rows.")
    raw = frame[time].str.strip_chars()
    years = raw.str.contains(r"^\d{4}$").all()
    parsed = (raw.cast(pl.Int64) if years
              else raw.str.to_datetime(strict=False, time_unit="us"))
    if (bad := parsed.is_null()).any():
        raise InputError(f"{path}: column `{time}` is not a date or time at line "
                         f"{_lines(frame, bad)}; use ISO 8601 (2024-03-01) or a year.")
    frame = frame.with_columns(parsed.alias("__t"), values.alias("__v")).sort("__t")
    if (dup := frame["__t"].is_duplicated()).any():
        raise InputError(f"{path}: the same `{time}` appears more than once (line "
                         f"{_lines(frame, dup)}); keep one row per time.")
    if frame.height < 3:
        raise InputError(f"{path}: {frame.height} rows; a forecast needs at least 3.")
    return _regular(path, frame, years=years)


def _regular(path: Path, frame: pl.DataFrame, *, years: bool) -> FileSeries:
    times = frame["__t"]
    if years:
        steps = times.diff().drop_nulls()
        spacing, name, season, offset = 365.25, "yearly", 1, None
    else:
        steps = times.diff().drop_nulls().dt.total_seconds() / 86400
        spacing = float(steps.median())
        name, _, season, offset = min(FREQUENCIES, key=lambda f: abs(np.log(spacing / f[1])))
        steps = steps / spacing
    irregular = (steps - steps.median()).abs() > 0.2 * float(steps.median())
    if years:
        irregular = steps != 1
    if irregular.any():
        where = _lines(frame.slice(1), irregular)
        raise InputError(f"{path}: the series is not regular ({name}): a gap or uneven step "
                         f"before line {where}; fill the missing times first.")
    labels = ([str(t) for t in times.to_list()] if years
              else _labels(times.to_list()))
    return FileSeries(labels, frame["__v"].to_numpy(), name, season, offset,
                      times.to_list()[-1])


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
