"""Opendatasoft Explore API v2.1: a portal dataset into a store table.

Full loads use the dataset's JSON export (no paging limit); `--mode records` pages through
`/records` (100 per page). With `--key` and `--since-field`, a refresh asks only for
records newer than those loaded and upserts them; without, a refresh reloads only when
the dataset's `modified` stamp changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from data_sources._common import parse_stamp, slug, table_name
from data_sources._http import PortalError, with_query
from data_sources._portal import (
    is_unchanged,
    newest_value,
    portal_json,
    store_records,
)
from data_sources._records import records_to_frame
from observatory.connectors import Connector, Option, Options, Progress
from observatory.errors import InputError
from observatory.store import SourceRecord

PAGE = 100


def _base(source: str | Path) -> str:
    return str(source).rstrip("/")


def _dataset_url(source: str | Path, dataset: str) -> str:
    return f"{_base(source)}/api/explore/v2.1/catalog/datasets/{dataset}"


def _records(url: str, where: str | None, progress: Progress) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        page = _object(portal_json(with_query(f"{url}/records", {
            "limit": PAGE, "offset": len(rows), "where": where})), f"{url}/records")
        batch = page.get("results", [])
        rows.extend(batch)
        progress(f"{len(rows)} of {page.get('total_count', '?')} records")
        if not batch or len(rows) >= int(page.get("total_count", 0)):
            return rows


def _object(answer: Any, url: str) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise PortalError(f"{url}: expected a JSON object, got {type(answer).__name__}; is this "
                          "an Opendatasoft portal (Explore API v2.1)?")
    return answer


def _fetch(url: str, *, mode: str, where: str | None, progress: Progress) -> list[dict[str, Any]]:
    if mode == "records":
        return _records(url, where, progress)
    rows = portal_json(with_query(f"{url}/exports/json", {"where": where}))
    if not isinstance(rows, list):
        raise InputError(f"{url}/exports/json: expected a JSON list of records.")
    return rows


def source_id(source: str | Path, options: Options) -> str:
    """`opendatasoft:<dataset id>`."""
    return f"opendatasoft:{slug(str(options['dataset']))}"


def ingest(con: duckdb.DuckDBPyConnection, source: str | Path, progress: Progress,
           options: Options) -> SourceRecord:
    """Load (or refresh) one dataset of an Opendatasoft portal."""
    dataset, sid = str(options["dataset"]), source_id(source, options)
    key, since = options.get("key"), options.get("since_field")
    _check_incremental(key, since)
    url = _dataset_url(source, dataset)
    metas = (_object(portal_json(url), url).get("metas") or {}).get("default") or {}
    modified = str(metas.get("modified") or metas.get("data_processed") or "")
    table = table_name(options, f"portal_{slug(dataset)}")
    incremental = bool(key and since)
    newest = newest_value(con, table, str(since), sid) if incremental else None
    if not incremental and is_unchanged(con, sid, modified=modified, table=table):
        progress(f"{dataset}: not modified since the last load ({modified})")
        rows_loaded, fetched = _count(con, table, sid), 0
    else:
        where = _newer_than(str(since), newest) if newest else None
        records = _fetch(url, mode=str(options.get("mode") or "export"), where=where,
                         progress=progress)
        fetched = len(records)
        rows_loaded = store_records(con, table, records_to_frame(records, source=url),
                                    source_id=sid,
                                    key=str(key) if key else None,
                                    incremental=incremental and newest is not None)
    progress(f"{dataset}: {fetched} records fetched, {rows_loaded} in {table}")
    return SourceRecord(
        source_id=sid, type="opendatasoft", path=url, sha256="-",
        licence=str(metas.get("license") or options.get("licence") or "not stated"),
        attribution=metas.get("publisher"), row_counts={table: rows_loaded},
        data_as_of=parse_stamp(modified),
        expected_cadence_days=int(options.get("cadence_days") or 7),
        notes=f"{metas.get('title') or dataset}; {fetched} records fetched this time",
        options={**options, "portal_modified": modified},
    )


def _check_incremental(key: object, since: object) -> None:
    if since and not key:
        raise InputError("--since-field needs --key (the field that identifies a record) so "
                         "that newer records replace their older versions; give both or neither.")
    if key and not since:
        raise InputError("--key needs --since-field (the date field by which newer records are "
                         "found); give both or neither.")


def _newer_than(field: str, value: str) -> str:
    """An ODSQL filter for records whose `field` is at or after `value`.

    Inclusive: records dated the newest loaded day (or stamp) may have been added since the
    last load; those already loaded are fetched again and replaced by the upsert.
    """
    if len(value) >= 10 and value[4] == "-" and value[7] == "-":
        return f"{field} >= date'{value[:10]}'"
    try:
        float(value)
    except ValueError:
        escaped = value.replace('"', '\\"')
        return f'{field} >= "{escaped}"'
    return f"{field} >= {value}"


def _count(con: duckdb.DuckDBPyConnection, table: str, sid: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table} WHERE source_id = $s",
                           {"s": sid}).fetchall()[0][0])


connector = Connector(
    name="opendatasoft", help="a dataset of an Opendatasoft portal (Explore API v2.1)",
    ingest=ingest, source_id=source_id, takes_url=True,
    options=(
        Option("dataset", "the dataset id on the portal", required=True),
        Option("table", "store table (default portal_<dataset>)"),
        Option("mode", "export (default) or records (paged)", choices=("export", "records")),
        Option("key", "field that identifies a record, for incremental refresh"),
        Option("since_field", "date field: a refresh fetches only newer records"),
        Option("licence", "licence, when the portal states none"),
        Option("cadence_days", "days within which the portal updates", kind=int, default=7),
    ),
)
