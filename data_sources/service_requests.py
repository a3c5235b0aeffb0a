"""Citizen service requests (311): Open311 GeoReport v2 JSON or CSV.

One row per request in `service_requests`, with requested and closed times, service,
status and its H3 cell. Requests without an id or a requested time are skipped and
listed; a closed time before the requested time, duplicates and impossible coordinates
are flagged and listed. Times are read by the project's one rule (observatory.timeparse),
with `--tz` for times without an offset and `--date-format` where the column cannot tell.
A file that cannot be read, or holds no request, is refused with its line where it has one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import polars_h3 as plh3

from data_sources._common import (
    LINE,
    describe_rows,
    impossible_coordinates,
    outside_area,
    read_json_file,
    read_text_table,
    replace_rows,
    slug,
    study_area_bounds,
)
from observatory.connectors import Connector, Option, Options, Progress
from observatory.errors import InputError, SourceFileError
from observatory.h3grid import BASE_RESOLUTION
from observatory.store import SourceRecord, file_sha256
from observatory.timeparse import ACCEPTED, check_time_zone, parse_series

TABLES = ("service_requests",)
# Open311 GeoReport v2 field -> our column; CSV files use the same names by default.
OPEN311 = {"service_request_id": "request_id", "service_name": "service_name",
           "status": "status", "requested_datetime": "requested_at",
           "updated_datetime": "updated_at", "lat": "lat", "long": "lon"}
CSV_DEFAULTS = {"request_id": "service_request_id", "service_name": "service_name",
                "status": "status", "requested_at": "requested_datetime",
                "closed_at": "closed_datetime", "lat": "lat", "lon": "long"}


_OPEN311_FIX = ("An Open311 GeoReport v2 file is a JSON list of request objects "
                "(`requests.json`).")


def _read_open311(path: Path) -> pl.DataFrame:
    data = read_json_file(path, fix=_OPEN311_FIX)
    if isinstance(data, dict):
        data = data.get("service_requests", data.get("requests"))
    if not isinstance(data, list):
        raise SourceFileError(f"{path}: expected a JSON list of service requests "
                              "(Open311 GeoReport v2 `requests.json`).")
    if others := [i for i, item in enumerate(data, start=1) if not isinstance(item, dict)]:
        first = data[others[0] - 1]
        raise SourceFileError(
            f"{path}: item {others[0]} of the list is a JSON {_json_kind(first)} "
            f"({str(first)[:40]!r}), not a request object ({len(others)} of {len(data)} "
            f"items are not objects). {_OPEN311_FIX}")
    rows = [{ours: _text(item.get(theirs)) for theirs, ours in OPEN311.items()}
            for item in data]
    frame = pl.DataFrame(rows, schema={c: pl.String for c in OPEN311.values()})
    closed = pl.when(pl.col("status").str.to_lowercase() == "closed").then(pl.col("updated_at"))
    return frame.with_columns(closed.alias("closed_at")).drop("updated_at").with_row_index(
        LINE, offset=1)


def _json_kind(value: Any) -> str:
    return {str: "string", list: "list", bool: "boolean", type(None): "null"}.get(
        type(value), "number")


def _text(value: Any) -> str | None:
    """A field's value as text; a nested value (list or object) is not one: null."""
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def _read_csv(path: Path, options: Options, *, rows_required: bool = False) -> pl.DataFrame:
    names = {ours: str(options.get(ours) or theirs) for ours, theirs in CSV_DEFAULTS.items()}
    required = [names[c] for c in ("request_id", "service_name", "status", "requested_at")]
    frame = read_text_table(path, required=required, rows_required=rows_required)
    return frame.select(LINE, *(pl.col(theirs).alias(ours) if theirs in frame.columns
                                else pl.lit(None, pl.String).alias(ours)
                                for ours, theirs in names.items()))


def read_requests(path: Path, options: Options, *, rows_required: bool) -> pl.DataFrame:
    """The file's requests as text columns with their lines; with `rows_required`, a file
    that holds none is an error (a whole-file load must not load nothing without a word)."""
    kind = options.get("format") or ("open311" if path.suffix.lower() == ".json" else "csv")
    if kind != "open311":
        return _read_csv(path, options, rows_required=rows_required)
    frame = _read_open311(path)
    if rows_required and frame.height == 0:
        raise SourceFileError(f"{path}: holds no service requests (an empty list); nothing "
                              "to load. Give the complete file.")
    return frame


def _utc_times(frame: pl.DataFrame, column: str, *, label: str, what: str,
               options: Options) -> pl.Series:
    """A time column read by the project's one time rule (observatory.timeparse)."""
    tz = check_time_zone(str(options.get("tz") or "UTC"))
    date_format = options.get("date_format") or None
    try:
        return parse_series(frame[column].cast(pl.String), tz=tz, date_format=date_format)
    except InputError as exc:
        raise InputError(f"{label}: {what} column: {exc}") from None
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"{label}: --date-format {date_format!r} cannot read the {what} "
                         f"column ({str(exc).splitlines()[0]}); give strftime codes such as "
                         f"%d/%m/%Y %H:%M, or none to read {ACCEPTED}.") from None


def _validate(path: Path, frame: pl.DataFrame, issues: list[str],
              bounds: tuple[float, ...] | None, options: Options) -> pl.DataFrame:
    label = str(path)
    times = {ours: _utc_times(frame, ours, label=label, what=f"`{ours}`", options=options)
             for ours in ("requested_at", "closed_at")}
    typed = frame.with_columns(times["requested_at"].alias("requested"),
                               times["closed_at"].alias("closed"),
                               pl.col("lat").cast(pl.Float64, strict=False),
                               pl.col("lon").cast(pl.Float64, strict=False),
                               pl.col("status").str.to_lowercase())
    unusable = pl.col("request_id").is_null() | pl.col("requested").is_null()
    _note(issues, describe_rows(label, typed.filter(unusable), "without a request id or a "
                                "parseable requested time", column="requested_at"))
    typed = typed.filter(~unusable)
    bad_close = typed.filter(pl.col("closed_at").is_not_null() & pl.col("closed").is_null())
    _note(issues, describe_rows(label, bad_close, "with a closed time that cannot be parsed",
                                column="closed_at", action="kept as not closed"))
    backwards = typed.filter(pl.col("closed") < pl.col("requested"))
    _note(issues, describe_rows(label, backwards, "closed before they were requested",
                                column="request_id",
                                action="kept, flagged `closed_before_requested`"))
    duplicate = typed.filter(pl.col("request_id").is_first_distinct().not_())
    _note(issues, describe_rows(label, duplicate, "repeating a request id already read",
                                column="request_id", action="skipped (the first one is kept)"))
    bad_place = impossible_coordinates(pl.col("lat"), pl.col("lon"))
    _note(issues, describe_rows(label, typed.filter(bad_place), "with missing or impossible "
                                "coordinates", column="request_id",
                                action="kept, not placed on the map"))
    far = ~bad_place & outside_area(bounds, pl.col("lat"), pl.col("lon"))
    _note(issues, describe_rows(label, typed.filter(far), "outside the study area (a typo in "
                                "lat/long?)", column="request_id",
                                action="kept, flagged `outside_area`, not placed on the map"))
    bad_place = bad_place | far
    return typed.filter(pl.col("request_id").is_first_distinct()).with_columns(
        pl.when(pl.col("closed") < pl.col("requested")).then(pl.lit("closed_before_requested"))
        .when(far).then(pl.lit("outside_area"))
        .when(bad_place).then(pl.lit("no_location")).otherwise(None).alias("flag"),
        pl.when(~bad_place).then(plh3.latlng_to_cell("lat", "lon", BASE_RESOLUTION)
                                 .cast(pl.Int64)).alias("h3_cell"))


def _note(issues: list[str], message: str | None) -> None:
    if message:
        issues.append(message)


def source_id(path: Path, options: Options) -> str:
    """`service_requests:<file stem>`."""
    return f"service_requests:{slug(path.stem)}"


def ingest(con: duckdb.DuckDBPyConnection, path: Path, progress: Progress,
           options: Options) -> SourceRecord:
    """Load a file of service requests, replacing an earlier load of the same file."""
    if not path.is_file():
        raise SourceFileError(f"{path}: not found. Give an Open311 JSON or a CSV file.")
    kind = options.get("format") or ("open311" if path.suffix.lower() == ".json" else "csv")
    issues: list[str] = []
    raw = read_requests(path, options, rows_required=True)
    rows = _validate(path, raw, issues, study_area_bounds(con), options)
    sid = source_id(path, options)
    table = rows.select(pl.lit(sid).alias("source_id"), "request_id", "service_name", "status",
                        pl.col("requested").alias("requested_at"),
                        pl.col("closed").alias("closed_at"), "lat", "lon", "h3_cell", "flag")
    replace_rows(con, "service_requests", table, key="source_id", value=sid)
    progress(f"{table.height} service requests, {len(issues)} validation notes")
    return SourceRecord(
        source_id=sid, type="service_requests", path=str(path), sha256=file_sha256(path),
        licence=str(options.get("licence") or "not stated"),
        row_counts={"service_requests": table.height}, issues=issues,
        data_as_of=table["requested_at"].max() if table.height else None,
        expected_cadence_days=int(options.get("cadence_days") or 1),
        simulated=bool(options.get("simulated")), notes=f"format {kind}",
    )


# The registered connector (with its append path) is data_sources.service_requests_append's.
loader = Connector(
    name="service-requests", help="service requests (Open311 GeoReport v2 JSON or CSV)",
    ingest=ingest, tables=TABLES, source_id=source_id,
    options=(
        Option("format", "file format (default: from the extension)",
               choices=("open311", "csv")),
        *(Option(ours, f"CSV column for {ours} (default `{theirs}`)")
          for ours, theirs in CSV_DEFAULTS.items()),
        Option("tz", "time zone of times without an offset (default UTC)"),
        # argparse formats help text: %% is a literal %
        Option("date_format", "strftime codes of the times where they are not ISO 8601 and "
               "the column cannot tell day-first from month-first, e.g. %%d/%%m/%%Y %%H:%%M"),
        Option("licence", "the data's licence"),
        Option("cadence_days", "days within which new data is expected", kind=int, default=1),
    ),
)
