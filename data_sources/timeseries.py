"""Sensor time series connector (CSV or Parquet, long format: one value column per call).

Readings go to `sensor_readings` with a `variable` column and a `quality` flag (`ok`,
`impossible`, `duplicate`), so nothing is silently dropped or silently kept: rows that
cannot be parsed are skipped and listed, implausible and duplicate ones are kept, flagged
and listed, and gaps are reported. Values are converted to the variable's canonical unit.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import duckdb
import polars as pl
import polars_h3 as plh3

from data_sources._common import LINE, describe_rows, replace_rows, slug
from data_sources.units import VARIABLES, canonical_unit
from observatory.connectors import Connector, Option, Options, Progress
from observatory.errors import InputError, SourceFileError
from observatory.h3grid import BASE_RESOLUTION
from observatory.store import SourceRecord, file_sha256

TABLES = ("sensor_stations", "sensor_readings", "sensor_readings_hourly")
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


def _parse_time(column: str, tz: str) -> pl.Expr:
    text = pl.col(column).cast(pl.String).str.strip_chars()
    naive = text.str.to_datetime(strict=False, time_unit="us", time_zone=None, ambiguous="null")
    aware = text.str.to_datetime(strict=False, time_unit="us", time_zone="UTC")
    has_offset = text.str.contains(r"(Z|[+-]\d\d:?\d\d)$")
    local = naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    return pl.when(has_offset).then(aware).otherwise(local.dt.convert_time_zone("UTC"))


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
    frame = lazy.with_row_index(LINE, offset=2).select(
        LINE, station.alias("station_id"), _parse_time(wanted["time"], tz).alias("time"),
        pl.col(wanted["time"]).cast(pl.String).alias("raw_time"),
        pl.col(wanted["value"]).cast(pl.String).alias("raw_value"),
        pl.col(wanted["value"]).cast(pl.Float64, strict=False).alias("value"), *coords,
    ).collect()
    return _drop_unparseable(path, frame, issues)


def _drop_unparseable(path: Path, frame: pl.DataFrame, issues: list[str]) -> pl.DataFrame:
    bad_time = frame.filter(pl.col("time").is_null())
    _note(issues, describe_rows(str(path), bad_time, "with a time that cannot be parsed",
                                column="raw_time"))
    missing = frame.filter(pl.col("time").is_not_null() & pl.col("raw_value").is_null())
    _note(issues, describe_rows(str(path), missing, "with no value", column="raw_time"))
    bad_value = frame.filter(pl.col("time").is_not_null() & pl.col("raw_value").is_not_null()
                             & pl.col("value").is_null())
    _note(issues, describe_rows(str(path), bad_value, "with a value that is not a number",
                                column="raw_value"))
    return frame.filter(pl.col("time").is_not_null() & pl.col("value").is_not_null()).drop(
        "raw_time", "raw_value")


def _note(issues: list[str], message: str | None) -> None:
    if message:
        issues.append(message)


def _flag(path: Path, frame: pl.DataFrame, variable: str, issues: list[str]) -> pl.DataFrame:
    """Add `quality`: impossible values and duplicates are kept but flagged, and listed."""
    known = VARIABLES.get(variable)
    impossible = (pl.col("value").is_nan() | (pl.col("value") < known.low)
                  | (pl.col("value") > known.high)) if known else pl.col("value").is_nan()
    frame = frame.sort("station_id", "time", LINE).with_columns(
        pl.when(impossible).then(pl.lit("impossible"))
        .when(pl.struct("station_id", "time").is_first_distinct().not_())
        .then(pl.lit("duplicate")).otherwise(pl.lit("ok")).alias("quality"))
    if known:
        what = (f"with an impossible {variable} value (outside {known.low:g}..{known.high:g} "
                f"{known.unit})")
        _note(issues, describe_rows(str(path), frame.filter(pl.col("quality") == "impossible"),
                                    what, column="value", action="kept, flagged `impossible`"))
    duplicates = frame.filter(pl.col("quality") == "duplicate")
    _note(issues, describe_rows(str(path), duplicates, "repeating a station and time already "
                                "read", column="station_id",
                                action="kept, flagged `duplicate`, left out of indicators"))
    return frame


def _gaps(path: Path, frame: pl.DataFrame, issues: list[str]) -> None:
    steps = (frame.filter(pl.col("quality") != "duplicate")
             .with_columns(pl.col("time").diff().over("station_id").alias("step"))
             .filter(pl.col("step").is_not_null()))
    if steps.height == 0:
        return
    usual = steps.group_by("station_id").agg(pl.col("step").median().alias("usual"))
    gaps = (steps.join(usual, on="station_id")
            .filter(pl.col("step") > pl.col("usual") * GAP_FACTOR))
    if gaps.height:
        longest = gaps.sort("step", descending=True).row(0, named=True)
        issues.append(
            f"{path}: {gaps.height} gaps longer than {GAP_FACTOR}× the usual interval; the "
            f"longest is {longest['step']} at station {longest['station_id']} before "
            f"{longest['time']:%Y-%m-%d %H:%M} UTC (line {longest[LINE]}); not filled.")


def _stations(path: Path, frame: pl.DataFrame, con: duckdb.DuckDBPyConnection,
              issues: list[str]) -> pl.DataFrame:
    stations = (frame.group_by("station_id").agg(pl.col("lat").first(), pl.col("lon").first(),
                                                 pl.col(LINE).first())
                .sort("station_id"))
    impossible = (pl.col("lat").abs() > 90) | (pl.col("lon").abs() > 180)
    area = con.execute("SELECT min(lat), max(lat), min(lon), max(lon) FROM study_cells"
                       ).fetchall()[0] if _has_table(con, "study_cells") else (None,) * 4
    outside = pl.lit(False)
    if area[0] is not None:
        margin = 0.05
        outside = ((pl.col("lat") < area[0] - margin) | (pl.col("lat") > area[1] + margin)
                   | (pl.col("lon") < area[2] - margin) | (pl.col("lon") > area[3] + margin))
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


def _hourly(readings: pl.DataFrame) -> pl.DataFrame:
    return (readings.filter(pl.col("quality") == "ok")
            .group_by("source_id", "station_id", "variable",
                      pl.col("time").dt.truncate("1h").alias("hour"))
            .agg(pl.col("value").mean().alias("mean"), pl.col("value").min().alias("min"),
                 pl.col("value").max().alias("max"), pl.len().cast(pl.Int32).alias("n"))
            .sort("station_id", "hour"))


def source_id(path: Path, options: Options) -> str:
    """`timeseries:<file stem>:<variable>`."""
    return f"timeseries:{slug(path.stem)}:{slug(str(options['variable']))}"


def ingest(con: duckdb.DuckDBPyConnection, path: Path, progress: Progress,
           options: Options) -> SourceRecord:
    """Load one variable of a long-format readings file."""
    variable = slug(str(options["variable"]))
    unit, scale, offset = _unit(path, variable, str(options["unit"]))
    issues: list[str] = []
    frame = _read(path, options, issues)
    progress(f"read {frame.height} readings of {variable}")
    frame = frame.with_columns(pl.col("value") * scale + offset)
    frame = _flag(path, frame, variable, issues)
    _gaps(path, frame, issues)
    stations = _stations(path, frame, con, issues)
    sid = source_id(path, options)
    readings = frame.join(stations.select("station_id", "h3_cell"), on="station_id").select(
        pl.lit(sid).alias("source_id"), "station_id", pl.lit(variable).alias("variable"),
        pl.lit(unit).alias("unit"), "time", "value", "quality", "h3_cell")
    hourly = _hourly(readings)
    stations = stations.with_columns(pl.lit(sid).alias("source_id"),
                                     pl.lit(variable).alias("variable"))
    for table, rows in (("sensor_stations", stations), ("sensor_readings", readings),
                        ("sensor_readings_hourly", hourly)):
        replace_rows(con, table, rows, key="source_id", value=sid)
    progress(f"stored {readings.height} readings, {hourly.height} station-hours")
    return SourceRecord(
        source_id=sid, type="timeseries", path=str(path), sha256=file_sha256(path),
        licence=str(options.get("licence") or "not stated"),
        row_counts={"sensor_stations": stations.height, "sensor_readings": readings.height,
                    "sensor_readings_hourly": hourly.height},
        data_as_of=readings["time"].max() if readings.height else None,
        expected_cadence_days=int(options.get("cadence_days") or 1), issues=issues,
        simulated=bool(options.get("simulated")),
        notes=f"{variable} in {unit}" + (f" (converted from {options['unit']})"
                                         if canonical_unit(str(options["unit"])) != unit else ""),
    )


connector = Connector(
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
