"""Appending service requests to a loaded source (`observatory ingest service-requests FILE
--source ID --append`): a city's Open311 endpoint or export sends new and updated requests.

The file is read with the source's own options. A request id the source does not hold
yet is added; one it holds is replaced when anything changed (status, closing time,
place) and skipped, as already loaded, when nothing did; both are reported. Requests are
few enough to live in the snapshot's own table.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from data_sources._common import describe_rows, study_area_bounds
from data_sources.service_requests import _validate, loader, read_requests
from observatory.connectors import AppendOutcome, Options, Progress
from observatory.errors import InputError, SourceFileError

COMPARED = ("service_name", "status", "requested_at", "closed_at", "lat", "lon", "flag")


def _options(source: dict[str, Any], given: Options) -> dict[str, Any]:
    stored = source["options"]
    differ = [f"--{k.replace('_', '-')} {v!r} (the source has {stored.get(k)!r})"
              for k, v in given.items()
              if k not in ("licence", "cadence_days") and v not in (None, "")
              and str(v) != str(stored.get(k, v))]
    if differ:
        raise InputError(f"cannot append to `{source['source_id']}`: the options differ from "
                         f"the source's: {'; '.join(differ)}.")
    return {**stored, **{k: v for k, v in given.items() if v is not None}}


def _rows(con: duckdb.DuckDBPyConnection, path: Path, source_id: str,
          options: dict[str, Any], issues: list[str]) -> pl.DataFrame:
    if not path.is_file():
        raise SourceFileError(f"{path}: not found.")
    # an update with nothing new is no error: the rows are not required
    raw = read_requests(path, options, rows_required=False)
    rows = _validate(path, raw, issues, study_area_bounds(con), options)
    return rows.select(pl.lit(source_id).alias("source_id"), "request_id", "service_name",
                       "status", pl.col("requested").alias("requested_at"),
                       pl.col("closed").alias("closed_at"), "lat", "lon", "h3_cell", "flag",
                       "__line")


def append(con: duckdb.DuckDBPyConnection, path: Path, progress: Progress, options: Options,
           source: dict[str, Any]) -> AppendOutcome:
    """Add new requests and replace changed ones; skip and report unchanged ones."""
    source_id, issues = str(source["source_id"]), []
    rows = _rows(con, path, source_id, _options(source, options), issues)
    held = con.sql("SELECT * FROM service_requests WHERE source_id = $s",
                   params={"s": source_id}).pl().with_columns(
        pl.col("requested_at", "closed_at").dt.convert_time_zone("UTC"))
    compared = rows.join(held.select("request_id", *COMPARED), on="request_id", how="left",
                         suffix="_held")
    known = compared["service_name_held"].is_not_null()
    same = pl.all_horizontal(pl.col(c).eq_missing(pl.col(f"{c}_held")) for c in COMPARED)
    unchanged = compared.filter(known & same)
    updated = compared.filter(known & ~same)
    for frame, what in ((unchanged, "already loaded and unchanged"),
                        (updated, "already loaded and changed since (status, closing time "
                                  "or place): replaced")):
        if note := describe_rows(str(path), frame, what, column="request_id",
                                 action="skipped" if frame is unchanged else "updated"):
            issues.append(note)
    changed = rows.join(unchanged.select("request_id"), on="request_id", how="anti")
    if changed.height:
        con.execute("DELETE FROM service_requests WHERE source_id = $s AND request_id IN "
                    "(SELECT unnest($ids))", {"s": source_id,
                                               "ids": changed["request_id"].to_list()})
        con.register("_rows", changed.drop("__line").to_arrow())
        con.execute("INSERT INTO service_requests BY NAME SELECT * FROM _rows")
        con.unregister("_rows")
    progress(f"{changed.height - updated.height} new and {updated.height} updated requests "
             f"({unchanged.height} unchanged)")
    total = con.execute("SELECT count(*) FROM service_requests WHERE source_id = $s",
                        {"s": source_id}).fetchall()[0][0]
    return AppendOutcome(
        rows_added=changed.height, overlapping=unchanged.height, tables=("service_requests",),
        first_time=_when(changed, "min"), last_time=_when(changed, "max"),
        row_counts={"service_requests": int(total)}, issues=issues)


def _when(frame: pl.DataFrame, how: str) -> datetime | None:
    if frame.is_empty():
        return None
    value = getattr(frame["requested_at"], how)()
    return value if isinstance(value, datetime) else None


# The service-request connector: whole-file loads from data_sources/service_requests.py,
# plus appends.
connector = dataclasses.replace(loader, append=append)
