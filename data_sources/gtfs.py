"""GTFS connector: one or several feeds (zip or folder), their ids scoped by feed.

Loads stops, routes (with an SDG 11.2.1 capacity class), trips, stop times (times past
24:00 kept as seconds after the service day's midnight), calendar and calendar dates, and
departures per stop per hour on a representative weekday. Dangling references and
impossible or far-away stop coordinates are counted, listed and skipped; the valid part
is loaded.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import duckdb
import polars as pl

from data_sources._common import (
    LINE,
    describe_rows,
    far_from_median,
    impossible_coordinates,
    read_text_table,
    replace_rows,
    slug,
    zip_damage,
)
from observatory.connectors import Connector, Option, Options, Progress
from observatory.errors import SourceFileError
from observatory.h3grid import with_cells
from observatory.store import SourceRecord, file_sha256

FAR_KM = 150.0  # a stop this far from the feed's median stop is taken as a typo
REQUIRED = {
    "stops.txt": ("stop_id", "stop_lat", "stop_lon"),
    "routes.txt": ("route_id", "route_type"),
    "trips.txt": ("route_id", "service_id", "trip_id"),
    "stop_times.txt": ("trip_id", "departure_time", "stop_id", "stop_sequence"),
}
CALENDAR = ("service_id", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
            "sunday", "start_date", "end_date")
WEEKDAYS = CALENDAR[1:8]
TABLES = ("gtfs_stops", "gtfs_routes", "gtfs_trips", "gtfs_stop_times", "gtfs_calendar",
          "gtfs_calendar_dates", "gtfs_stop_departures")


def capacity_class(route_type: int) -> str:
    """SDG 11.2.1 capacity: `high` for rail, metro and ferry; `low` for bus, tram and others."""
    high = {1, 2, 4, 12} | set(range(100, 200)) | set(range(400, 500)) | set(range(1000, 1100))
    return "high" if route_type in high else "low"


class _Feed:
    """Reads the files of a feed from a zip or a folder."""

    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise SourceFileError(f"{path}: not found. Give a GTFS .zip or a folder of .txt files.")
        self.path, self.names = path, {}
        if path.is_dir():
            self.names = {p.name: p for p in path.glob("*.txt")}
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                self.names = {Path(n).name: n for n in archive.namelist() if n.endswith(".txt")}
        elif damage := zip_damage(path):
            raise SourceFileError(f"{path}: {damage}; download the feed again.")
        else:
            raise SourceFileError(f"{path}: is neither a zip archive nor a folder; a GTFS feed "
                                  "is a .zip of stops.txt, routes.txt, trips.txt, ….")

    def has(self, name: str) -> bool:
        return name in self.names

    def read(self, name: str, required: tuple[str, ...]) -> pl.DataFrame:
        label = f"{self.path}:{name}" if not self.path.is_dir() else str(self.path / name)
        if name not in self.names:
            raise SourceFileError(f"{self.path}: {name} is missing; every GTFS feed has it.")
        if self.path.is_dir():
            return read_text_table(self.path / name, name=label, required=required)
        with zipfile.ZipFile(self.path) as archive:
            data = archive.read(self.names[name])
        return read_text_table(self.path, name=label, data=data, required=required)


def _seconds(column: str) -> pl.Expr:
    """`H:MM:SS` (hours may pass 24) to seconds after midnight; null when malformed."""
    parts = pl.col(column).str.extract_groups(r"^(\d{1,3}):([0-5]\d):([0-5]\d)$")
    return (parts.struct["1"].cast(pl.Int32) * 3600 + parts.struct["2"].cast(pl.Int32) * 60
            + parts.struct["3"].cast(pl.Int32))


def _stops(feed: _Feed, feed_id: str, issues: list[str]) -> pl.DataFrame:
    raw = feed.read("stops.txt", REQUIRED["stops.txt"]).with_columns(
        pl.col("stop_lat").cast(pl.Float64, strict=False).alias("lat"),
        pl.col("stop_lon").cast(pl.Float64, strict=False).alias("lon"))
    bad = impossible_coordinates(pl.col("lat"), pl.col("lon"))
    label = f"{feed.path.name}:stops.txt"
    _note(issues, describe_rows(label, raw.filter(bad), "with impossible coordinates "
                                "(stop_lat/stop_lon missing, out of range or 0,0)",
                                column="stop_id"))
    raw = raw.filter(~bad)
    far = far_from_median(pl.col("lat"), pl.col("lon"), km=FAR_KM)
    _note(issues, describe_rows(label, raw.filter(far), f"more than {FAR_KM:g} km from the "
                                "feed's other stops (a typo in stop_lat/stop_lon?)",
                                column="stop_id"))
    stops = raw.filter(~far).select(
        pl.lit(feed_id).alias("feed_id"), "stop_id",
        pl.col("stop_name") if "stop_name" in raw.columns else pl.lit(None, pl.String).alias(
            "stop_name"), "lat", "lon",
        (pl.col("location_type").cast(pl.Int8, strict=False).fill_null(0)
         if "location_type" in raw.columns else pl.lit(0, pl.Int8)).alias("location_type"))
    return with_cells(stops)


def _note(issues: list[str], message: str | None) -> None:
    if message:
        issues.append(message)


def _routes(feed: _Feed, feed_id: str, issues: list[str]) -> pl.DataFrame:
    raw = feed.read("routes.txt", REQUIRED["routes.txt"])
    typed = raw.with_columns(pl.col("route_type").cast(pl.Int32, strict=False))
    _note(issues, describe_rows(f"{feed.path.name}:routes.txt",
                                typed.filter(pl.col("route_type").is_null()),
                                "with a route_type that is not a whole number", column="route_id"))
    typed = typed.filter(pl.col("route_type").is_not_null())
    optional = [pl.col(c) if c in typed.columns else pl.lit(None, pl.String).alias(c)
                for c in ("agency_id", "route_short_name", "route_long_name")]
    return typed.select(
        pl.lit(feed_id).alias("feed_id"), "route_id", *optional, "route_type",
        pl.col("route_type").map_elements(capacity_class, return_dtype=pl.String)
        .alias("capacity"))


def _trips(feed: _Feed, feed_id: str, routes: pl.DataFrame, issues: list[str]) -> pl.DataFrame:
    raw = feed.read("trips.txt", REQUIRED["trips.txt"])
    dangling = raw.join(routes.select("route_id"), on="route_id", how="anti")
    _note(issues, describe_rows(f"{feed.path.name}:trips.txt", dangling,
                                "whose route_id is missing from routes.txt", column="route_id"))
    kept = raw.join(routes.select("route_id"), on="route_id", how="semi")
    direction = (pl.col("direction_id").cast(pl.Int8, strict=False)
                 if "direction_id" in kept.columns else pl.lit(None, pl.Int8))
    return kept.select(pl.lit(feed_id).alias("feed_id"), "trip_id", "route_id", "service_id",
                       direction.alias("direction_id"), LINE)


def _stop_times(feed: _Feed, feed_id: str, stops: pl.DataFrame, trips: pl.DataFrame,
                issues: list[str]) -> pl.DataFrame:
    raw = feed.read("stop_times.txt", REQUIRED["stop_times.txt"])
    label = f"{feed.path.name}:stop_times.txt"
    arrival = "arrival_time" if "arrival_time" in raw.columns else "departure_time"
    timed = raw.with_columns(_seconds("departure_time").alias("departure_s"),
                             _seconds(arrival).alias("arrival_s"),
                             pl.col("stop_sequence").cast(pl.Int32, strict=False))
    malformed = timed.filter(pl.col("departure_s").is_null() & (pl.col("departure_time") != "")
                             | pl.col("stop_sequence").is_null())
    _note(issues, describe_rows(label, malformed, "with a malformed departure_time (H:MM:SS) or "
                                "stop_sequence", column="departure_time"))
    timed = timed.join(malformed.select(LINE), on=LINE, how="anti")
    no_stop = timed.join(stops.select("stop_id"), on="stop_id", how="anti")
    _note(issues, describe_rows(label, no_stop, "whose stop_id is missing from stops.txt (or "
                                "was skipped there)", column="stop_id"))
    no_trip = timed.join(trips.select("trip_id"), on="trip_id", how="anti")
    _note(issues, describe_rows(label, no_trip, "whose trip_id is missing from trips.txt (or "
                                "was skipped there)", column="trip_id"))
    kept = (timed.join(stops.select("stop_id"), on="stop_id", how="semi")
            .join(trips.select("trip_id"), on="trip_id", how="semi"))
    return kept.select(pl.lit(feed_id).alias("feed_id"), "trip_id", "stop_id", "stop_sequence",
                       "arrival_s", "departure_s")


def _dates(column: str) -> pl.Expr:
    return pl.col(column).str.strptime(pl.Date, "%Y%m%d", strict=False)


def _calendar(feed: _Feed, feed_id: str, issues: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    if not (feed.has("calendar.txt") or feed.has("calendar_dates.txt")):
        raise SourceFileError(f"{feed.path}: has neither calendar.txt nor calendar_dates.txt; "
                              "a GTFS feed needs at least one to say when trips run.")
    calendar = pl.DataFrame(schema={c: pl.String for c in CALENDAR})
    if feed.has("calendar.txt"):
        calendar = feed.read("calendar.txt", CALENDAR)
    calendar = calendar.with_columns(_dates("start_date"), _dates("end_date"),
                                     *(pl.col(d).cast(pl.Int8, strict=False) == 1
                                       for d in WEEKDAYS))
    if LINE in calendar.columns:
        bad = calendar.filter(pl.col("start_date").is_null() | pl.col("end_date").is_null())
        _note(issues, describe_rows(f"{feed.path.name}:calendar.txt", bad,
                                    "with a start_date or end_date not in YYYYMMDD",
                                    column="service_id"))
    calendar = calendar.filter(pl.col("start_date").is_not_null()
                               & pl.col("end_date").is_not_null())
    exceptions = pl.DataFrame(schema={"service_id": pl.String, "date": pl.String,
                                      "exception_type": pl.String})
    if feed.has("calendar_dates.txt"):
        exceptions = feed.read("calendar_dates.txt", ("service_id", "date", "exception_type"))
    exceptions = exceptions.with_columns(_dates("date"),
                                         pl.col("exception_type").cast(pl.Int8, strict=False))
    exceptions = exceptions.filter(pl.col("date").is_not_null()
                                   & pl.col("exception_type").is_in([1, 2]))
    calendar = calendar.select(pl.lit(feed_id).alias("feed_id"), *CALENDAR)
    return calendar, exceptions.select(pl.lit(feed_id).alias("feed_id"), "service_id", "date",
                                       "exception_type")


def _services_on(calendar: pl.DataFrame, exceptions: pl.DataFrame, day: dt.date) -> set[str]:
    weekday = WEEKDAYS[day.weekday()]
    base = calendar.filter((pl.col("start_date") <= day) & (pl.col("end_date") >= day)
                           & pl.col(weekday))["service_id"].to_list()
    on_day = exceptions.filter(pl.col("date") == day)
    added = on_day.filter(pl.col("exception_type") == 1)["service_id"].to_list()
    removed = set(on_day.filter(pl.col("exception_type") == 2)["service_id"].to_list())
    return (set(base) | set(added)) - removed


def representative_weekday(calendar: pl.DataFrame, exceptions: pl.DataFrame,
                           trips: pl.DataFrame) -> tuple[dt.date | None, set[str]]:
    """The Monday-to-Friday date with the most trips running (earliest on ties)."""
    starts = calendar["start_date"].to_list() + exceptions["date"].to_list()
    ends = calendar["end_date"].to_list() + exceptions["date"].to_list()
    if not starts:
        return None, set()
    trips_per_service = dict(trips.group_by("service_id").len().iter_rows())
    best: tuple[int, dt.date | None, set[str]] = (-1, None, set())
    day, last = min(starts), min(max(ends), min(starts) + dt.timedelta(days=366))
    while day <= last:
        if day.weekday() < 5:
            services = _services_on(calendar, exceptions, day)
            count = sum(trips_per_service.get(s, 0) for s in services)
            if count > best[0]:
                best = (count, day, services)
        day += dt.timedelta(days=1)
    return best[1], best[2]


def _departures(stop_times: pl.DataFrame, trips: pl.DataFrame, day: dt.date | None,
                services: set[str]) -> pl.DataFrame:
    running = trips.filter(pl.col("service_id").is_in(sorted(services))).select("trip_id")
    return (stop_times.join(running, on="trip_id", how="semi")
            .filter(pl.col("departure_s").is_not_null())
            .with_columns((pl.col("departure_s") // 3600).alias("hour"))
            .group_by("feed_id", "stop_id", "hour").agg(pl.len().cast(pl.Int32).alias("departures"))
            .with_columns(pl.lit(day, dtype=pl.Date).alias("service_date"))
            .sort("stop_id", "hour"))


def _unused_trips(trips: pl.DataFrame, stop_times: pl.DataFrame, label: str,
                  issues: list[str]) -> pl.DataFrame:
    empty = trips.join(stop_times.select("trip_id").unique(), on="trip_id", how="anti")
    _note(issues, describe_rows(label, empty, "for trips without any stop time",
                                column="trip_id"))
    return trips.join(empty.select("trip_id"), on="trip_id", how="anti").drop(LINE)


def ingest(con: duckdb.DuckDBPyConnection, path: Path, progress: Progress,
           options: Options) -> SourceRecord:
    """Load one GTFS feed, replacing the rows of an earlier load of the same feed."""
    feed = _Feed(path)
    feed_id = str(options.get("feed_id") or slug(path.name.removesuffix(".zip")))
    issues: list[str] = []
    stops = _stops(feed, feed_id, issues)
    routes = _routes(feed, feed_id, issues)
    trips = _trips(feed, feed_id, routes, issues)
    stop_times = _stop_times(feed, feed_id, stops, trips, issues)
    trips = _unused_trips(trips, stop_times, f"{path.name}:trips.txt", issues)
    calendar, exceptions = _calendar(feed, feed_id, issues)
    day, services = representative_weekday(calendar, exceptions, trips)
    departures = _departures(stop_times, trips, day, services)
    progress(f"feed {feed_id}: {stops.height} stops, {trips.height} trips, "
             f"{stop_times.height} stop times; representative weekday {day}")
    frames = dict(zip(TABLES, (stops, routes, trips, stop_times, calendar, exceptions,
                               departures), strict=True))
    for table, frame in frames.items():
        replace_rows(con, table, frame, key="feed_id", value=feed_id)
    newest = calendar["end_date"].max() if calendar.height else exceptions["date"].max()
    return SourceRecord(
        source_id=source_id(path, options), type="gtfs", path=str(path),
        licence=str(options.get("licence") or "not stated"), sha256=file_sha256_any(path),
        row_counts={t: f.height for t, f in frames.items()}, issues=issues,
        data_as_of=dt.datetime.combine(newest, dt.time(), dt.UTC) if newest else None,
        expected_cadence_days=int(options.get("cadence_days") or 30),
        notes=f"feed_id {feed_id}; representative weekday {day}",
    )


def source_id(path: Path, options: Options) -> str:
    """`gtfs:<feed id>`."""
    return f"gtfs:{options.get('feed_id') or slug(path.name.removesuffix('.zip'))}"


def file_sha256_any(path: Path) -> str:
    """sha256 of a file, or of a folder's .txt files in name order."""
    if path.is_file():
        return file_sha256(path)
    import hashlib

    digest = hashlib.sha256()
    for item in sorted(path.glob("*.txt")):
        digest.update(item.name.encode())
        digest.update(item.read_bytes())
    return digest.hexdigest()


connector = Connector(
    name="gtfs", help="a GTFS feed (.zip or folder)", ingest=ingest, tables=TABLES,
    source_id=source_id,
    options=(
        Option("feed_id", "id that scopes this feed's ids (default: from the file name)"),
        Option("licence", "the feed's licence, e.g. CC-BY-4.0"),
        Option("cadence_days", "how often the publisher refreshes the feed", kind=int,
               default=30),
    ),
)
