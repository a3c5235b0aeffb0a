"""Sensor time series connector (CSV or Parquet, long format: one value column per call).

Readings are stored compactly (`sensor_values` by `series_id`, one `sensor_series` row per
station and variable; values and hourly aggregates as Parquet files of the store's lake,
observatory/lake.py, so that appends never copy them) and read through the view
`sensor_readings`, which has `variable`, `unit` and a `quality` flag (`ok`, `impossible`,
`missing` for NaN, `duplicate`), so nothing is silently dropped or silently kept: rows
that cannot be parsed are skipped and listed, implausible, NaN and duplicate ones are kept,
flagged and listed, and gaps are reported. Values are converted to the variable's
canonical unit; what is impossible follows from the variable and from the unit
(data_sources/units.py). Times are read by the one shared rule, observatory/timeparse.py.
"""

from __future__ import annotations

import csv
import difflib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
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
from data_sources.units import VARIABLES, canonical_unit, value_bounds
from observatory import lake
from observatory.connectors import Connector, Option, Options, Progress
from observatory.errors import InputError, SourceFileError
from observatory.h3grid import BASE_RESOLUTION
from observatory.store import SourceRecord, file_sha256
from observatory.timeparse import (
    ACCEPTED,
    SAMPLE_ROWS,
    Plan,
    check_time_zone,
    day_first,
    parse_utc,
    plan_for,
)

TABLES = ("sensor_series", "sensor_values", "sensor_readings", "sensor_readings_hourly",
          "sensor_readings_daily")
GAP_FACTOR = 3  # a gap is an interval longer than this many times the station's usual step


def _scan(path: Path) -> pl.LazyFrame:
    if not path.is_file():
        raise SourceFileError(f"{path}: not found. Give a CSV or Parquet file of readings.")
    if path.suffix.lower() in (".parquet", ".pq"):
        return pl.scan_parquet(path)
    return pl.scan_csv(path, infer_schema=False)


def _unreadable(path: Path, exc: Exception) -> SourceFileError:
    """The error for a file Polars could not read, naming the line at fault when it is a
    byte that is not UTF-8 or a row with more fields than the header."""
    where = None
    if path.suffix.lower() not in (".parquet", ".pq"):
        where = _not_utf8(path) or _ragged_row(path)
    return SourceFileError(where or f"{path}: cannot be read ({str(exc).splitlines()[0]}). "
                           "Give comma-separated UTF-8 text with a header row, or Parquet.")


def _not_utf8(path: Path) -> str | None:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                text = line.decode("latin-1").rstrip("\r\n")
                return (f"{path} line {number}: byte 0x{line[exc.start]:02x} is not UTF-8 "
                        f"(the line reads {text!r} as Latin-1). Save the file as UTF-8, "
                        f"e.g. `iconv -f latin1 -t utf-8 {path.name}`.")
    return None


def _ragged_row(path: Path) -> str | None:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        header = next(rows, [])
        for row in rows:
            if len(row) > len(header):
                return (f"{path} line {rows.line_num}: {len(row)} fields where the header "
                        f"has {len(header)} ({','.join(row)!r}). Remove the extra fields, "
                        "or quote values that contain a comma.")
    return None


def _collect(path: Path, query: pl.LazyFrame) -> pl.DataFrame:
    try:
        return query.collect(engine="streaming")
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _unreadable(path, exc) from exc


def _columns(path: Path, frame: pl.LazyFrame, wanted: dict[str, str | None]) -> list[str]:
    try:
        names = frame.collect_schema().names()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _unreadable(path, exc) from exc
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


def _time_expr(text: pl.Expr, sample: pl.Series, *, tz: str,
               date_format: str | None) -> tuple[pl.Expr, Plan]:
    """UTC times by the shared rule with the cheapest plan for the sample, and the plan
    (rows it misses are null here and tried again by `_retry`)."""
    plan = plan_for(sample, date_format=date_format)
    return parse_utc(text, tz=tz, plan=plan), plan


def _plan_sample(path: Path, lazy: pl.LazyFrame, column: str) -> pl.Series:
    return _collect(path, lazy.select(pl.col(column).cast(pl.String)).head(SAMPLE_ROWS)
                    ).to_series()


def _retry(path: Path, raw: pl.Series, *, tz: str, plan: Plan) -> pl.Series:
    """Times the sample's plan missed, read with every rule of the shared parser."""
    try:
        order = day_first(raw, date_format=None)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    full = Plan(day_first=plan.day_first if order is None else order)
    return pl.DataFrame({"t": raw}).select(parse_utc("t", tz=tz, plan=full)).to_series()


def _read(path: Path, options: Options, issues: list[str]) -> pl.DataFrame:
    """LINE, station_id (categorical), time (UTC), value, lat, lon of each readable row;
    the others are listed in `issues`. Refuses a file without data rows."""
    wanted = {"time": options["time"], "value": options["value"],
              "station": options.get("station"), "lat": options.get("lat"),
              "lon": options.get("lon")}
    tz = check_time_zone(str(options.get("tz") or "UTC"))
    date_format = options.get("date_format") or None
    lazy = _scan(path)
    _columns(path, lazy, wanted)
    sample = _plan_sample(path, lazy, wanted["time"])
    if sample.is_empty():
        raise SourceFileError(f"{path}: no readings: the file has a header (line 1) but no "
                              "data rows. Give a file with at least one reading.")
    try:
        time, plan = _time_expr(pl.col(wanted["time"]).cast(pl.String), sample, tz=tz,
                                date_format=date_format)
    except InputError as exc:
        raise InputError(f"{path}, column `{wanted['time']}`: {exc}") from None
    station = (pl.col(wanted["station"]).cast(pl.String) if wanted["station"]
               else pl.lit(str(options.get("station_id") or slug(path.stem))))
    coords = []
    for axis in ("lat", "lon"):
        fixed = options.get(f"station_{axis}")
        expr = (pl.col(wanted[axis]).cast(pl.Float64, strict=False) if wanted[axis]
                else pl.lit(float(fixed) if fixed is not None else None, pl.Float64))
        coords.append(expr.alias(axis))
    value = pl.col(wanted["value"]).cast(pl.Float64, strict=False)
    frame = _collect(path, lazy.with_row_index(LINE, offset=2).select(
        LINE, station.cast(pl.Categorical).alias("station_id"), time.alias("time"),
        value.alias("value"), *coords))
    raw = (pl.col(wanted["time"]).cast(pl.String).alias("_time_text"),
           pl.col(wanted["value"]).cast(pl.String).alias("_value_text"))
    return _readable(path, frame, lazy.with_row_index(LINE, offset=2).select(LINE, *raw),
                     tz=tz, plan=plan, issues=issues)


def _raw_text(path: Path, frame: pl.DataFrame, text: pl.LazyFrame) -> pl.DataFrame:
    """The rows of `frame` missing a time or a value, with `raw_time` and `raw_value`: the
    file's text where it could not be read (`text` has it as `_time_text` and
    `_value_text` by LINE; a second pass over the file, made only when such rows exist)."""
    failed = frame.filter(pl.col("time").is_null() | pl.col("value").is_null())
    if failed.is_empty():
        return failed.with_columns(raw_time=pl.lit(None, pl.String),
                                   raw_value=pl.lit(None, pl.String))
    lines = _collect(path, text.filter(pl.col(LINE).is_in(failed[LINE].implode())))
    return failed.join(lines, on=LINE, how="left").select(
        *failed.columns,
        pl.when(pl.col("time").is_null()).then(pl.col("_time_text")).alias("raw_time"),
        pl.when(pl.col("value").is_null()).then(pl.col("_value_text")).alias("raw_value"))


def _readable(path: Path, frame: pl.DataFrame, text: pl.LazyFrame, *, tz: str, plan: Plan,
              issues: list[str]) -> pl.DataFrame:
    """The rows with a time and a value (times the plan missed tried again with every
    rule); the others listed in `issues`, or an error when no row is left. `text` gives
    the file's raw time and value text by LINE."""
    failed = _raw_text(path, frame, text)
    missed = failed["time"].is_null() & failed["raw_time"].is_not_null()
    if plan.date_format is None and missed.any():
        again = _retry(path, failed["raw_time"].filter(missed), tz=tz, plan=plan)
        failed = failed.with_columns(failed["time"].scatter(missed.arg_true(), again))
        rows = failed[LINE].cast(pl.Int64) - 2  # LINE counts the file's rows from 2
        frame = frame.with_columns(frame["time"].scatter(rows, failed["time"]))
    rejected = failed.filter(pl.col("time").is_null() | pl.col("value").is_null())
    _report_unparseable(path, rejected, issues)
    if failed.height:
        frame = frame.filter(pl.col("time").is_not_null() & pl.col("value").is_not_null())
    if frame.is_empty():
        raise SourceFileError(f"{path}: no row has both a readable time and a number: "
                              + " ".join(issues))
    return frame


def _report_unparseable(path: Path, raw: pl.DataFrame, issues: list[str]) -> None:
    hint = f"skipped; times are read as {ACCEPTED}"
    _note(issues, describe_rows(str(path), raw.filter(pl.col("time").is_null()),
                                "with a time that cannot be parsed", column="raw_time",
                                action=hint))
    rest = raw.filter(pl.col("time").is_not_null())
    no_value = pl.col("raw_value").is_null()
    _note(issues, describe_rows(str(path), rest.filter(no_value), "with no value",
                                column="station_id"))
    _note(issues, describe_rows(str(path), rest.filter(~no_value),
                                "with a value that is not a number", column="raw_value"))


def _note(issues: list[str], message: str | None) -> None:
    if message:
        issues.append(message)


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


def _mapped(key: pl.Expr, old: pl.Series, new: pl.Series) -> pl.Expr:
    """`key` looked up in a small table (one value per station), without a join's copy."""
    if old.dtype == pl.Categorical:
        key, old = key.to_physical(), old.to_physical()
    return key.replace_strict(old, new, return_dtype=new.dtype)


def in_lake_order(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows by UTC month, `series_id` and time, rows of the same station and time in file
    order: the order of the lake's monthly files, so they are written without another
    sort. A file in time order needs only a stable radix sort on (month, series)."""
    time_sorted = frame["time"].is_sorted()
    months = lake.month_numbers(frame["time"].rechunk())
    series = frame["series_id"].to_numpy()
    span = int(series.max() - series.min()) + 1
    key = (months - months.min()).astype(np.int64) * span + (series - series.min())
    del months, series
    if time_sorted and key.max() < 2**16:
        order = np.argsort(key.astype(np.uint16), kind="stable")
        rows = pl.Series(order.astype(np.uint32) if frame.height < 2**32 else order)
        # column by column, each made one chunk first (a gather from one chunk is several
        # times faster), so that at most one column is copied twice at a time
        return pl.DataFrame([column.rechunk().gather(rows) for column in frame.iter_columns()])
    keys = ["_key"] if time_sorted else ["_key", "time"]
    return (frame.with_columns(pl.Series("_key", key)).sort(keys, maintain_order=True)
            .drop("_key"))


def _listed(issues: list[str], path: Path, rows: pl.DataFrame, what: str, **how: str) -> None:
    _note(issues, describe_rows(str(path), rows.sort(LINE), what, **how))


def flag_values(path: Path, frame: pl.DataFrame, *, variable: str, unit: str,
                issues: list[str]) -> pl.DataFrame:
    """Add `flag` to readings in lake order (`in_lake_order`): NaN is `missing`, a value
    outside what the variable and unit allow `impossible`, a repeated station and time
    `duplicate`; all are kept and listed."""
    bounds = value_bounds(variable, unit)
    value = pl.col("value")
    repeated = ((pl.col("series_id") == pl.col("series_id").shift(1))
                & (pl.col("time") == pl.col("time").shift(1)))
    frame = frame.with_columns(
        pl.when(value.is_nan()).then(pl.lit("missing"))
        .when(~value.is_between(bounds.low, bounds.high)).then(pl.lit("impossible"))
        .when(repeated).then(pl.lit("duplicate")).otherwise(None).alias("flag"))
    flagged = frame.filter(pl.col("flag").is_not_null())
    why = f": {bounds.why}" if bounds.why else ""
    _listed(issues, path, flagged.filter(pl.col("flag") == "impossible"),
            f"with an impossible {variable} value (outside {bounds.low:g}..{bounds.high:g} "
            f"{unit}{why})", column="value", action="kept, flagged `impossible`")
    _listed(issues, path, flagged.filter(pl.col("flag") == "missing"),
            "with the value NaN (not a number)", column="value",
            action="kept, flagged `missing`, left out of indicators")
    _listed(issues, path, flagged.filter(pl.col("flag") == "duplicate"),
            "repeating a station and time already read", column="station_id",
            action="kept, flagged `duplicate`, left out of indicators")
    return frame


def _steps(frame: pl.DataFrame) -> pl.Series:
    """Each reading's interval since the previous reading of its series (null for the
    first and for duplicates), in lake order: within a month a series' rows are adjacent;
    its first row of a month follows its last row of an earlier month."""
    same = pl.col("series_id") == pl.col("series_id").shift(1)
    steps = frame.select(pl.when(same).then(pl.col("time").diff())).to_series()
    rows = frame.select("series_id", "time").with_row_index("_pos")
    firsts = rows.filter(~same.fill_null(False))
    lasts = rows.filter(pl.col("series_id") != pl.col("series_id").shift(-1).fill_null(-1))
    earlier = firsts.join_asof(lasts.rename({"time": "_before"}), on="_pos", by="series_id",
                               strategy="backward", allow_exact_matches=False,
                               check_sortedness=False)  # both are by row position
    earlier = earlier.filter(pl.col("_before").is_not_null())
    if earlier.height:
        steps = steps.scatter(earlier["_pos"], earlier["time"] - earlier["_before"])
    duplicate = frame["flag"].eq_missing("duplicate")
    return pl.select(pl.when(duplicate).then(None).otherwise(steps)).to_series()


def _gaps(path: Path, frame: pl.DataFrame, issues: list[str]) -> None:
    """Report intervals longer than GAP_FACTOR× the station's median step (lake order)."""
    gaps = (frame.lazy().select("series_id", "station_id", "time", LINE)
            .with_columns(_steps(frame).alias("step"))
            .filter(pl.col("step") > pl.col("step").median().over("series_id") * GAP_FACTOR)
            .collect())
    if gaps.height:
        longest = gaps.sort("step", LINE, descending=[True, False]).row(0, named=True)
        issues.append(
            f"{path}: {gaps.height} gap{'s' if gaps.height > 1 else ''} longer than "
            f"{GAP_FACTOR}× the usual interval; the "
            f"longest is {longest['step']} at station {longest['station_id']} before "
            f"{longest['time']:%Y-%m-%d %H:%M} UTC (line {longest[LINE]}); not filled.")


def _stations(path: Path, frame: pl.DataFrame, con: duckdb.DuckDBPyConnection,
              issues: list[str]) -> pl.DataFrame:
    """One row per station (in order of first reading): its first coordinates, a location
    flag and, when placed, its H3 cell (indexed once per station, not per reading)."""
    stations = (frame.group_by("station_id").agg(pl.col("lat", "lon", LINE).first())
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


HOUR_US = 3_600_000_000


def hourly_from_values(values: pl.DataFrame, *, lake_ordered: bool = False) -> pl.DataFrame:
    """Per series and UTC hour: mean, min, max and number of the readings flagged ok.

    Readings in lake order (`in_lake_order`) have each station-hour as one run of rows:
    those are reduced run by run, giving the hours in lake order too; other frames are
    grouped by hash.
    """
    if lake_ordered:
        return _hourly_runs(values)
    hour = (pl.col("time").dt.epoch("us") // HOUR_US * HOUR_US).cast(pl.Datetime("us", "UTC"))
    return (values.lazy().filter(pl.col("flag").is_null())
            .group_by("series_id", hour.alias("hour"))
            .agg(pl.col("value").mean().alias("mean"), pl.col("value").min().alias("min"),
                 pl.col("value").max().alias("max"), pl.len().cast(pl.Int32).alias("n"))
            .collect())


def _hourly_runs(values: pl.DataFrame) -> pl.DataFrame:
    series = values["series_id"].to_numpy()
    hours = values["time"].dt.epoch("us").to_numpy() // HOUR_US
    value = values["value"].to_numpy()
    ok = values["flag"].is_null().to_numpy()
    if not ok.all():
        series, hours, value = series[ok], hours[ok], value[ok]
    if not value.size:
        return hourly_from_values(values.clear())
    starts = np.flatnonzero(np.concatenate(
        [[True], (series[1:] != series[:-1]) | (hours[1:] != hours[:-1])]))
    counts = np.diff(np.append(starts, value.size))
    return pl.DataFrame({
        "series_id": series[starts],
        "hour": pl.Series(hours[starts] * HOUR_US).cast(pl.Datetime("us", "UTC")),
        "mean": np.add.reduceat(value, starts) / counts,
        "min": np.minimum.reduceat(value, starts), "max": np.maximum.reduceat(value, starts),
        "n": counts.astype(np.int32)})


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
    with ThreadPoolExecutor(1) as pool:  # the checksum is read while Polars parses
        checksum = pool.submit(file_sha256, path)
        frame = _read(path, options, issues)
    progress(f"read {frame.height} readings of {variable}")
    sid = source_id(path, options)
    stations = _stations(path, frame, con, issues).with_row_index("series_id").with_columns(
        pl.col("series_id").cast(pl.Int64) + _first_series_id(con, sid))
    frame = frame.select(LINE, "station_id", "time", "value", _mapped(
        pl.col("station_id"), stations["station_id"], stations["series_id"]).alias("series_id"))
    frame = in_lake_order(frame)
    if scale != 1 or offset != 0:
        frame = frame.with_columns(pl.col("value") * scale + offset)
    frame = flag_values(path, frame, variable=variable, unit=unit, issues=issues)
    _gaps(path, frame, issues)
    values = frame.select("series_id", "time", "value", "flag", _mapped(
        pl.col("series_id"), stations["series_id"], stations["h3_cell"]).alias("h3_cell"))
    del frame
    hourly = hourly_from_values(values, lake_ordered=True)
    series = stations.with_columns(
        pl.col("station_id").cast(pl.String), pl.lit(sid).alias("source_id"),
        pl.lit(variable).alias("variable"), pl.lit(unit).alias("unit"))
    _store(con, sid, series, values, hourly)
    progress(f"stored {values.height} readings, {hourly.height} station-hours")
    return SourceRecord(
        source_id=sid, type="timeseries", path=str(path), sha256=checksum.result(),
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
        Option("date_format", "how the times are written where the column cannot tell "
               "(strftime codes, e.g. %%d/%%m/%%Y %%H:%%M for 31/01/2024 08:30)"),
        Option("licence", "the data's licence"),
        Option("cadence_days", "days within which new data is expected", kind=int, default=1),
    ),
)
