"""Sensor time series connector (CSV or Parquet, long format: one value column per call).

Readings are stored compactly (`sensor_values` by `series_id`, one `sensor_series` row per
station and variable; values and hourly aggregates as Parquet files of the store's lake,
observatory/lake.py, so that appends never copy them) and read through the view
`sensor_readings`, which has `variable`,
`unit` and a `quality` flag (`ok`, `impossible`, `duplicate`), so nothing is silently
dropped or silently kept: rows that
cannot be parsed are skipped and listed, implausible and duplicate ones are kept, flagged
and listed, and gaps are reported. Values are converted to the variable's canonical unit.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import duckdb
import polars as pl
import polars_h3 as plh3

from data_sources._common import (
    LINE,
    describe_rows,
    outside_area,
    replace_rows,
    slug,
    study_area_bounds,
)
from data_sources.units import VARIABLES, canonical_unit
from observatory import lake
from observatory.connectors import Connector, Option, Options, Progress
from observatory.errors import InputError, SourceFileError
from observatory.h3grid import BASE_RESOLUTION
from observatory.store import SourceRecord, file_sha256

TABLES = ("sensor_series", "sensor_values", "sensor_readings", "sensor_readings_hourly",
          "sensor_readings_daily")
GAP_FACTOR = 3  # a gap is an interval longer than this many times the station's usual step


def _scan(path: Path) -> pl.LazyFrame:
    if not path.is_file():
        raise SourceFileError(f"{path}: not found. Give a CSV or Parquet file of readings.")
    if path.suffix.lower() in (".parquet", ".pq"):
        return pl.scan_parquet(path)
    return pl.scan_csv(path, infer_schema=False)


def _columns(path: Path, frame: pl.LazyFrame, wanted: dict[str, str | None]) -> list[str]:
    try:
        names = frame.collect_schema().names()
    except pl.exceptions.PolarsError as exc:
        raise SourceFileError(f"{path}: cannot be read ({str(exc).splitlines()[0]}).") from exc
    problems = []
    for option, column in wanted.items():
        if column is not None and column not in names:
            close = difflib.get_close_matches(column, names, n=1)
            hint = f" Did you mean `{close[0]}`?" if close else ""
            problems.append(f"{path} line 1: no column `{column}` (given by --{option}).{hint} "
                            f"The columns are: {', '.join(names)}.")
    if problems:
        raise SourceFileError("\n".join(problems))
    return names


def _has_offsets(lazy: pl.LazyFrame, column: str) -> bool:
    """Whether the file's times carry a UTC offset (judged on its first rows)."""
    sample = lazy.select(pl.col(column).cast(pl.String)).head(1000).collect().to_series()
    return bool(sample.str.contains(r"(Z|[+-]\d\d:?\d\d)$").any())


def _parse_time(column: str, *, tz: str, offsets: bool) -> pl.Expr:
    """Times to UTC: with their own offsets, or read as local time in `tz`."""
    raw = pl.col(column)
    if offsets:
        text = raw.cast(pl.String).str.strip_chars()
        return text.str.to_datetime(strict=False, time_unit="us", time_zone="UTC")
    text = raw.cast(pl.String).str.strip_chars()
    naive = text.str.to_datetime(strict=False, time_unit="us")
    local = naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    return local.dt.convert_time_zone("UTC")


def _unit(path: Path, variable: str, unit: str) -> tuple[str, float, float]:
    """(canonical unit, scale, offset) for converting values; raise on a unit problem."""
    spelled = canonical_unit(unit)
    known = VARIABLES.get(variable)
    if known is None:
        return spelled, 1.0, 0.0
    if spelled not in known.factors:
        raise InputError(f"{path}: --unit `{unit}` cannot be converted to {known.unit} for "
                         f"variable `{variable}`; give one of: {', '.join(known.factors)}.")
    scale, offset = known.factors[spelled]
    return known.unit, scale, offset


def _read(path: Path, options: Options, issues: list[str]) -> pl.DataFrame:
    wanted = {"time": options["time"], "value": options["value"],
              "station": options.get("station"), "lat": options.get("lat"),
              "lon": options.get("lon")}
    lazy = _scan(path)
    _columns(path, lazy, wanted)
    tz = str(options.get("tz") or "UTC")
    station = (pl.col(wanted["station"]).cast(pl.String) if wanted["station"]
               else pl.lit(str(options.get("station_id") or slug(path.stem))))
    coords = []
    for axis in ("lat", "lon"):
        fixed = options.get(f"station_{axis}")
        expr = (pl.col(wanted[axis]).cast(pl.Float64, strict=False) if wanted[axis]
                else pl.lit(float(fixed) if fixed is not None else None, pl.Float64))
        coords.append(expr.alias(axis))
    raw_time = pl.col(wanted["time"]).cast(pl.String)
    raw_value = pl.col(wanted["value"]).cast(pl.String)
    parsed = lazy.with_row_index(LINE, offset=2).select(
        LINE, station.alias("station_id"),
        _parse_time(wanted["time"], tz=tz, offsets=_has_offsets(lazy, wanted["time"]))
        .alias("time"),
        pl.col(wanted["value"]).cast(pl.Float64, strict=False).alias("value"), *coords,
        raw_value.is_null().alias("no_value"),
    ).collect()
    bad = parsed.filter(pl.col("time").is_null() | pl.col("value").is_null())
    if bad.height:
        raw = (lazy.with_row_index(LINE, offset=2)
               .select(LINE, raw_time.alias("raw_time"), raw_value.alias("raw_value"))
               .join(bad.lazy().select(LINE, "time", "no_value"), on=LINE).collect())
        _report_unparseable(path, raw, issues)
    return parsed.filter(pl.col("time").is_not_null() & pl.col("value").is_not_null()).drop(
        "no_value")


def _report_unparseable(path: Path, raw: pl.DataFrame, issues: list[str]) -> None:
    _note(issues, describe_rows(str(path), raw.filter(pl.col("time").is_null()),
                                "with a time that cannot be parsed", column="raw_time"))
    rest = raw.filter(pl.col("time").is_not_null())
    _note(issues, describe_rows(str(path), rest.filter(pl.col("no_value")), "with no value",
                                column="raw_time"))
    _note(issues, describe_rows(str(path), rest.filter(~pl.col("no_value")),
                                "with a value that is not a number", column="raw_value"))


def _note(issues: list[str], message: str | None) -> None:
    if message:
        issues.append(message)


def _with_codes(frame: pl.DataFrame) -> pl.DataFrame:
    """Add `code`, a small integer per station, so that sorts and group-bys run on ints."""
    return frame.with_columns(pl.col("station_id").cast(pl.Categorical).to_physical()
                              .cast(pl.Int64).alias("code"))


def _flag(path: Path, frame: pl.DataFrame, variable: str, issues: list[str]) -> pl.DataFrame:
    """Add `flag`: impossible values and duplicates are kept but flagged, and listed."""
    known = VARIABLES.get(variable)
    impossible = (pl.col("value").is_nan() | (pl.col("value") < known.low)
                  | (pl.col("value") > known.high)) if known else pl.col("value").is_nan()
    frame = frame.with_columns(
        pl.when(impossible).then(pl.lit("impossible"))
        .when(pl.struct("code", "time").is_first_distinct().not_())
        .then(pl.lit("duplicate")).otherwise(None).alias("flag"))
    if known:
        what = (f"with an impossible {variable} value (outside {known.low:g}..{known.high:g} "
                f"{known.unit})")
        _note(issues, describe_rows(str(path), frame.filter(pl.col("flag") == "impossible"),
                                    what, column="value", action="kept, flagged `impossible`"))
    duplicates = frame.filter(pl.col("flag") == "duplicate")
    _note(issues, describe_rows(str(path), duplicates, "repeating a station and time already "
                                "read", column="station_id",
                                action="kept, flagged `duplicate`, left out of indicators"))
    return frame


def _gaps(path: Path, frame: pl.DataFrame, issues: list[str]) -> None:
    steps = (frame.lazy().filter(pl.col("flag").is_null() | (pl.col("flag") != "duplicate"))
             .select("code", "time", LINE).sort("code", "time")
             .with_columns(pl.col("time").diff().over("code").alias("step"))
             .filter(pl.col("step").is_not_null()))
    usual = steps.group_by("code").agg((pl.col("step").median() * GAP_FACTOR).alias("limit"))
    gaps = steps.join(usual, on="code").filter(pl.col("step") > pl.col("limit")).collect()
    if gaps.height:
        longest = gaps.sort("step", descending=True).row(0, named=True)
        station = frame.filter(pl.col(LINE) == longest[LINE])["station_id"][0]
        issues.append(
            f"{path}: {gaps.height} gap{'s' if gaps.height > 1 else ''} longer than "
            f"{GAP_FACTOR}× the usual interval; the "
            f"longest is {longest['step']} at station {station} before "
            f"{longest['time']:%Y-%m-%d %H:%M} UTC (line {longest[LINE]}); not filled.")


def _stations(path: Path, frame: pl.DataFrame, con: duckdb.DuckDBPyConnection,
              issues: list[str]) -> pl.DataFrame:
    stations = (frame.group_by("code").agg(pl.col("station_id", "lat", "lon", LINE).first())
                .sort(LINE))
    impossible = (pl.col("lat").abs() > 90) | (pl.col("lon").abs() > 180)
    outside = outside_area(study_area_bounds(con), pl.col("lat"), pl.col("lon"))
    stations = stations.with_columns(
        pl.when(pl.col("lat").is_null() | pl.col("lon").is_null()).then(pl.lit("no_location"))
        .when(impossible).then(pl.lit("impossible")).when(outside).then(pl.lit("outside_area"))
        .otherwise(pl.lit("ok")).alias("location_flag"))
    for flag, what in (("impossible", "with impossible coordinates (latitude beyond ±90 or "
                        "longitude beyond ±180)"),
                       ("outside_area", "outside the study area (a typo in lat/lon?)"),
                       ("no_location", "without coordinates (give --lat/--lon or "
                        "--station-lat/--station-lon)")):
        _note(issues, describe_rows(str(path), stations.filter(pl.col("location_flag") == flag),
                                    what, column="station_id", noun="station",
                                    action="loaded, not placed on the map"))
    placed = pl.col("location_flag") == "ok"
    cell = plh3.latlng_to_cell("lat", "lon", BASE_RESOLUTION).cast(pl.Int64)
    return stations.with_columns(pl.when(placed).then(cell).alias("h3_cell")).drop(LINE)


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables "
                            "WHERE table_name = $n", {"n": name}).fetchall()[0][0])


def _hourly(values: pl.DataFrame) -> pl.DataFrame:
    hour_us = 3_600_000_000
    hour = (pl.col("time").dt.epoch("us") // hour_us * hour_us).cast(pl.Datetime("us", "UTC"))
    return (values.lazy().filter(pl.col("flag").is_null())
            .group_by("series_id", hour.alias("hour"))
            .agg(pl.col("value").mean().alias("mean"), pl.col("value").min().alias("min"),
                 pl.col("value").max().alias("max"), pl.len().cast(pl.Int32).alias("n"))
            .collect())


def daily_from_hourly(hourly: pl.DataFrame) -> pl.DataFrame:
    """Per series and UTC day: hours, sum of hourly means, sum of mean × readings, readings
    and the highest hourly maximum (what yearly figures need, 24 times fewer rows)."""
    day = pl.col("hour").dt.convert_time_zone("UTC").dt.date().alias("day")
    return hourly.group_by("series_id", day).agg(
        pl.len().cast(pl.Int32).alias("hours"), pl.col("mean").sum().alias("mean_sum"),
        (pl.col("mean") * pl.col("n")).sum().alias("weighted_sum"),
        pl.col("n").sum().cast(pl.Int64).alias("n"), pl.col("max").max().alias("max"))


def source_id(path: Path, options: Options) -> str:
    """`timeseries:<file stem>:<variable>`."""
    return f"timeseries:{slug(path.stem)}:{slug(str(options['variable']))}"


# nearest_station(variable): every study cell with the series of its nearest placed station
# of `variable` (equirectangular distance between cell centre and station), for indicators
# that assign residents to stations.
NEAREST_STATION_MACRO = """
CREATE OR REPLACE MACRO nearest_station(var) AS TABLE
SELECT c.h3_cell,
       arg_min(s.series_id, pow(c.lat - s.lat, 2)
               + pow((c.lon - s.lon) * cos(radians(c.lat)), 2)) AS series_id
FROM study_cells AS c CROSS JOIN sensor_series AS s
WHERE s.variable = var AND s.location_flag = 'ok'
GROUP BY c.h3_cell
"""

READINGS_VIEW = """
CREATE OR REPLACE VIEW sensor_readings AS
SELECT s.source_id, s.station_id, s.variable, s.unit, v.time, v.value,
       coalesce(v.flag, 'ok') AS quality, v.h3_cell, v.series_id
FROM sensor_values AS v JOIN sensor_series AS s USING (series_id)
"""


def _first_series_id(con: duckdb.DuckDBPyConnection, sid: str) -> int:
    if not _has_table(con, "sensor_series"):
        return 1
    return int(con.execute("SELECT coalesce(max(series_id), 0) + 1 FROM sensor_series "
                           "WHERE source_id <> $s", {"s": sid}).fetchall()[0][0])


def _store(con: duckdb.DuckDBPyConnection, sid: str, series: pl.DataFrame,
           values: pl.DataFrame, hourly: pl.DataFrame) -> None:
    """Replace the source's stations in the store and its readings in the lake."""
    replace_rows(con, "sensor_series", series, key="source_id", value=sid)
    lake.drop_source(con, sid)
    for table, rows in (("sensor_values", values), ("sensor_readings_hourly", hourly),
                        ("sensor_readings_daily", daily_from_hourly(hourly))):
        lake.replace_files(con, table, sid, lake.write_files(con, table, sid, rows))
    create_views(con)


def create_views(con: duckdb.DuckDBPyConnection) -> None:
    """The readings view and the nearest-station macro (over the lake views)."""
    present = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() UNION ALL "
                                         "SELECT table_name FROM duckdb_tables()").fetchall()}
    for table in ("sensor_values", "sensor_readings_hourly", "sensor_readings_daily"):
        if table not in present:
            lake.refresh_view(con, table)
    con.execute(READINGS_VIEW)
    con.execute(NEAREST_STATION_MACRO)


def ingest(con: duckdb.DuckDBPyConnection, path: Path, progress: Progress,
           options: Options) -> SourceRecord:
    """Load one variable of a long-format readings file."""
    variable = slug(str(options["variable"]))
    unit, scale, offset = _unit(path, variable, str(options["unit"]))
    issues: list[str] = []
    frame = _with_codes(_read(path, options, issues))
    progress(f"read {frame.height} readings of {variable}")
    frame = _flag(path, frame.with_columns(pl.col("value") * scale + offset), variable, issues)
    _gaps(path, frame, issues)
    sid = source_id(path, options)
    stations = _stations(path, frame, con, issues).with_row_index("series_id").with_columns(
        pl.col("series_id").cast(pl.Int64) + _first_series_id(con, sid))
    values = frame.join(stations.select("code", "series_id", "h3_cell"), on="code").select(
        "series_id", "time", "value", "flag", "h3_cell")
    hourly = _hourly(values)
    series = stations.drop("code").with_columns(
        pl.lit(sid).alias("source_id"), pl.lit(variable).alias("variable"),
        pl.lit(unit).alias("unit"))
    _store(con, sid, series, values, hourly)
    progress(f"stored {values.height} readings, {hourly.height} station-hours")
    return SourceRecord(
        source_id=sid, type="timeseries", path=str(path), sha256=file_sha256(path),
        licence=str(options.get("licence") or "not stated"),
        row_counts={"sensor_series": series.height, "sensor_readings": values.height,
                    "sensor_readings_hourly": hourly.height,
                    "sensor_readings_daily": lake.row_counts(con, sid).get(
                        "sensor_readings_daily", 0)},
        data_as_of=values["time"].max() if values.height else None,
        expected_cadence_days=int(options.get("cadence_days") or 1), issues=issues,
        simulated=bool(options.get("simulated")),
        notes=f"{variable} in {unit}" + (f" (converted from {options['unit']})"
                                         if canonical_unit(str(options["unit"])) != unit else ""),
    )


# The registered connector (with its append path) is data_sources.timeseries_append's.
loader = Connector(
    name="timeseries", help="sensor readings (CSV or Parquet, long format)", ingest=ingest,
    tables=TABLES, source_id=source_id,
    options=(
        Option("time", "column holding the time", required=True),
        Option("value", "column holding the value", required=True),
        Option("variable", "what is measured, e.g. pm25, no2, temperature", required=True),
        Option("unit", "the values' unit, e.g. µg/m³, ppb, °C", required=True),
        Option("station", "column holding the station id"),
        Option("station_id", "station id for a single-station file"),
        Option("lat", "column holding the latitude"),
        Option("lon", "column holding the longitude"),
        Option("station_lat", "latitude of a single-station file", kind=float),
        Option("station_lon", "longitude of a single-station file", kind=float),
        Option("tz", "time zone of times without an offset (default UTC)", default="UTC"),
        Option("licence", "the data's licence"),
        Option("cadence_days", "days within which new data is expected", kind=int, default=1),
    ),
)
