"""Appending readings to a loaded sensor source (`observatory ingest timeseries FILE
--source ID --append`) without copying the store.

The file is read with the source's own options (columns, unit, time zone), so a gateway
can drop files of the same shape; options given again must agree with the source's.
Only stations the source already has are accepted. New readings are written as new
Parquet files of the store's lake (observatory/lake.py), rows already loaded (same station
and time) are skipped and reported, and the hourly aggregates of the months touched are
recomputed from every reading of those months.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from data_sources._common import LINE, describe_rows
from data_sources.timeseries import (
    HOUR_US,
    _read,
    _unit,
    create_views,
    daily_from_hourly,
    flag_values,
    hourly_from_values,
    in_lake_order,
    loader,
)
from data_sources.units import canonical_unit
from observatory import lake
from observatory.connectors import AppendOutcome, Options, Progress
from observatory.errors import InputError

# Options that fix how the source's files are read: an append must not change them.
SHAPE_OPTIONS = ("time", "value", "variable", "station", "station_id", "lat", "lon",
                 "station_lat", "station_lon", "tz", "date_format")
COMPACT_FROM = 16  # files in one month of one source before they are merged into one


def _differences(source: dict[str, Any], given: Options) -> list[str]:
    stored = source["options"]
    out = []
    for name in (*SHAPE_OPTIONS, "unit"):
        value = given.get(name)
        if value in (None, "") or (name == "tz" and value == "UTC" and "tz" not in stored):
            continue
        before = stored.get(name)
        same = (canonical_unit(str(value)) == canonical_unit(str(before)) if name == "unit"
                else str(value) == str(before))
        if not same:
            out.append(f"--{name.replace('_', '-')} {value!r} (the source has {before!r})")
    return out


def _options(source: dict[str, Any], given: Options) -> dict[str, Any]:
    if differences := _differences(source, given):
        raise InputError(f"cannot append to `{source['source_id']}`: the options differ from "
                         f"the source's: {'; '.join(differences)}. Load a file of another "
                         "shape as a new source (without --append).")
    return {**source["options"], **{k: v for k, v in given.items()
                                    if k not in SHAPE_OPTIONS and v is not None}}


def _series(con: duckdb.DuckDBPyConnection, path: Path, source_id: str,
            frame: pl.DataFrame) -> pl.DataFrame:
    series = con.sql("SELECT station_id, series_id, h3_cell FROM sensor_series "
                     "WHERE source_id = $s", params={"s": source_id}).pl()
    unknown = sorted(set(frame["station_id"].cast(pl.String).unique().to_list())
                     - set(series["station_id"].to_list()))
    if unknown:
        known = ", ".join(sorted(series["station_id"].to_list())[:20])
        raise InputError(f"{path}: station{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(unknown[:20])} not in source `{source_id}` (it has: "
                         f"{known}). Load new stations with a full ingest (without --append).")
    return series


def _months(frame: pl.DataFrame) -> list[str]:
    return sorted(frame["time"].dt.convert_time_zone("UTC").dt.strftime("%Y-%m").unique()
                  .to_list())


def _new_rows(con: duckdb.DuckDBPyConnection, path: Path, source_id: str,
              values: pl.DataFrame, issues: list[str]) -> tuple[pl.DataFrame, int]:
    """Drop rows whose station and time are already loaded; report them."""
    if values.is_empty():
        return values, 0
    low, high = values["time"].min(), values["time"].max()
    keys = (lake.scan(con, "sensor_values", source_id=source_id, months=_months(values))
            .filter(pl.col("time").is_between(low, high)).select("series_id", "time")
            .unique().with_columns(pl.lit(True).alias("_loaded")).collect())
    marked = values.join(keys, on=["series_id", "time"], how="left")
    overlapping = marked.filter(pl.col("_loaded").fill_null(False))
    if note := describe_rows(str(path), overlapping.sort(LINE), "already loaded (same station and "
                             "time)", column="station_id", action="skipped"):
        issues.append(note)
    return marked.filter(pl.col("_loaded").is_null()).drop("_loaded"), overlapping.height


def _compact(con: duckdb.DuckDBPyConnection, source_id: str, months: list[str]) -> None:
    """Merge a month's raw files into one when appends have made many."""
    for month in months:
        files = lake.paths(con, "sensor_values", source_id=source_id, months=[month])
        if len(files) >= COMPACT_FROM:
            rows = lake.read(con, "sensor_values", source_id=source_id, months=[month])
            lake.replace_files(con, "sensor_values", source_id,
                               lake.write_files(con, "sensor_values", source_id, rows),
                               months=[month])


def _update_hourly(con: duckdb.DuckDBPyConnection, source_id: str, added: pl.DataFrame) -> None:
    """Recompute the hourly aggregates of the station-hours that got readings (from every
    reading of those hours) and write each month touched as one new file."""
    floor = (pl.col("time").dt.epoch("us") // HOUR_US * HOUR_US).cast(pl.Datetime("us", "UTC"))
    touched = added.select("series_id", floor.alias("hour")).unique()
    low, high = touched["hour"].min(), touched["hour"].max()
    months = _months(added)
    raw = (lake.scan(con, "sensor_values", source_id=source_id, months=months)
           .filter(pl.col("time").is_between(low, high + timedelta(hours=1), closed="left"))
           .with_columns(floor.alias("hour")).join(touched.lazy(), on=["series_id", "hour"])
           .drop("hour").collect())
    fresh = hourly_from_values(raw)
    kept = (lake.scan(con, "sensor_readings_hourly", source_id=source_id, months=months)
            .join(fresh.lazy().select("series_id", "hour"), on=["series_id", "hour"],
                  how="anti").collect())
    rows = pl.concat([kept, fresh.select(kept.columns)], how="vertical_relaxed")
    for table, frame in (("sensor_readings_hourly", rows),
                         ("sensor_readings_daily", daily_from_hourly(rows))):
        lake.replace_files(con, table, source_id,
                           lake.write_files(con, table, source_id, frame), months=months)


def append(con: duckdb.DuckDBPyConnection, path: Path, progress: Progress, options: Options,
           source: dict[str, Any]) -> AppendOutcome:
    """Add the file's new readings to the source's lake files and hourly aggregates."""
    source_id = str(source["source_id"])
    merged = _options(source, options)
    variable = str(merged["variable"])
    unit, scale, offset = _unit(path, variable, str(merged["unit"]))
    issues: list[str] = []
    frame = _read(path, merged, issues)
    series = _series(con, path, source_id, frame)
    frame = in_lake_order(frame.drop("lat", "lon").join(series.select(
        pl.col("station_id").cast(pl.Categorical), pl.col("series_id").cast(pl.Int64),
        pl.col("h3_cell").cast(pl.Int64)), on="station_id"))
    frame = frame.with_columns(pl.col("value") * scale + offset)
    values = flag_values(path, frame, variable=variable, unit=unit, issues=issues).select(
        "series_id", "time", "value", "flag", "h3_cell", "station_id", LINE)
    values, overlapping = _new_rows(con, path, source_id, values, issues)
    values = values.drop("station_id", LINE)
    progress(f"{values.height} new readings of {variable} ({overlapping} already loaded)")
    if values.height:
        months = _months(values)
        for file in lake.write_files(con, "sensor_values", source_id, values):
            lake.add_file(con, file)
        _compact(con, source_id, months)
        _update_hourly(con, source_id, values)
        create_views(con)
    counts = lake.row_counts(con, source_id)
    return AppendOutcome(
        rows_added=values.height, overlapping=overlapping,
        tables=("sensor_values", "sensor_readings", "sensor_readings_hourly",
                "sensor_readings_daily"),
        first_time=values["time"].min() if values.height else None,  # type: ignore[arg-type]
        last_time=values["time"].max() if values.height else None,  # type: ignore[arg-type]
        row_counts={"sensor_series": series.height,
                    "sensor_readings": counts.get("sensor_values", 0),
                    "sensor_readings_hourly": counts.get("sensor_readings_hourly", 0),
                    "sensor_readings_daily": counts.get("sensor_readings_daily", 0)},
        variables=(variable,), issues=issues)


# The timeseries connector: whole-file loads from data_sources/timeseries.py, plus appends.
connector = dataclasses.replace(loader, append=append)
