"""CKAN Action API: a DataStore resource of a portal package into a store table.

`package_show` gives the licence, the modification stamp and the resources; the records
come from `datastore_search`, paged with `limit`/`offset` until the total is reached. A
refresh reloads only when the package's `metadata_modified` changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from data_sources._common import parse_stamp, slug, table_name
from data_sources._http import PortalError, with_query
from data_sources._portal import is_unchanged, portal_json, store_records
from data_sources._records import records_to_frame
from observatory.connectors import Connector, Option, Options, Progress
from observatory.store import SourceRecord

PAGE = 1000


def _action(source: str | Path, action: str, **params: Any) -> Any:
    url = with_query(f"{str(source).rstrip('/')}/api/3/action/{action}", params)
    answer = portal_json(url)
    if not isinstance(answer, dict) or not answer.get("success"):
        error = answer.get("error", {}) if isinstance(answer, dict) else {}
        raise PortalError(f"{url}: CKAN says {error.get('__type', 'error')}: "
                          f"{error.get('message', answer)}.")
    return answer["result"]


def _resource(package: dict[str, Any], wanted: str | None) -> dict[str, Any]:
    resources = package.get("resources", [])
    for resource in resources:
        # Without `wanted`, only a DataStore resource will do: unnamed resources have no name.
        if (wanted is not None and wanted in (resource.get("id"), resource.get("name"))) or (
                wanted is None and resource.get("datastore_active")):
            return resource
    names = ", ".join(f"{r.get('name')} ({r.get('id')})" for r in resources) or "none"
    raise PortalError(f"package `{package.get('name')}` has no "
                      f"{'resource ' + repr(wanted) if wanted else 'DataStore resource'}; "
                      f"its resources: {names}.")


def _records(source: str | Path, resource_id: str, progress: Progress) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        page = _action(source, "datastore_search", resource_id=resource_id, limit=PAGE,
                       offset=len(rows))
        batch = page.get("records", []) if isinstance(page, dict) else None
        if not isinstance(batch, list):
            raise PortalError(f"{source}: datastore_search of {resource_id} answered no list "
                              "of records; is this a CKAN portal?")
        rows.extend(batch)
        progress(f"{len(rows)} of {page.get('total', '?')} records")
        if not batch or len(rows) >= int(page.get("total", len(rows))):
            return rows


def source_id(source: str | Path, options: Options) -> str:
    """`ckan:<package>`."""
    return f"ckan:{slug(str(options['package']))}"


def ingest(con: duckdb.DuckDBPyConnection, source: str | Path, progress: Progress,
           options: Options) -> SourceRecord:
    """Load (or refresh) one DataStore resource of a CKAN package."""
    sid = source_id(source, options)
    package = _action(source, "package_show", id=options["package"])
    resource = _resource(package, options.get("resource"))
    modified = str(package.get("metadata_modified") or "")
    table = table_name(options, f"portal_{slug(str(options['package']))}")
    if is_unchanged(con, sid, modified=modified, table=table,
                    portal_resource=str(resource["id"])):
        progress(f"{package.get('name')}: not modified since the last load ({modified})")
        fetched = 0
        rows_loaded = con.execute(f"SELECT count(*) FROM {table} WHERE source_id = $s",
                                  {"s": sid}).fetchall()[0][0]
    else:
        records = _records(source, str(resource["id"]), progress)
        fetched = len(records)
        rows_loaded = store_records(con, table, records_to_frame(
            records, source=f"{str(source).rstrip('/')} resource {resource['id']}"),
            source_id=sid)
    return SourceRecord(
        source_id=sid, type="ckan", path=str(resource.get("url") or source), sha256="-",
        licence=str(package.get("license_title") or package.get("license_id")
                    or options.get("licence") or "not stated"),
        attribution=(package.get("organization") or {}).get("title"),
        row_counts={table: int(rows_loaded)}, data_as_of=parse_stamp(modified),
        expected_cadence_days=int(options.get("cadence_days") or 7),
        notes=f"{package.get('title') or package.get('name')}; resource {resource.get('id')}; "
              f"{fetched} records fetched this time",
        options={**options, "portal_modified": modified, "portal_resource": str(resource["id"])},
    )


connector = Connector(
    name="ckan", help="a DataStore resource of a CKAN portal (Action API)", ingest=ingest,
    source_id=source_id, takes_url=True,
    options=(
        Option("package", "the package (dataset) id or name", required=True),
        Option("resource", "resource id or name (default: the first DataStore resource)"),
        Option("table", "store table (default portal_<package>)"),
        Option("licence", "licence, when the portal states none"),
        Option("cadence_days", "days within which the portal updates", kind=int, default=7),
    ),
)
