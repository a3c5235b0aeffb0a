"""Opendatasoft and CKAN connectors against a fake portal on 127.0.0.1.

The fake answers in the real response formats of the Explore API v2.1 and the CKAN Action
API from a handful of hand-made Helsinki air-quality stations, pages by limit/offset,
filters ODS records on `field > date'…'` / `field >= date'…'`, records every request and
can be told to fail, hang, truncate or answer with HTML. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import h3
import pytest

from data_sources import _http, ckan, opendatasoft
from data_sources._http import PortalError
from observatory.build import ingest_into
from observatory.cli import main
from observatory.errors import InputError
from observatory.h3grid import BASE_RESOLUTION
from observatory.store import SourceRecord, connect_read, init_schema

DATASET = "air-quality-stations"
ODS_TABLE = "portal_air_quality_stations"
PACKAGE = "hsy-air-quality"
CKAN_TABLE = "portal_hsy_air_quality"
RESOURCE_ID = "5f3e1c2a-7b9d-4e61-a0c4-2d8f9b1e6a37"


def _station(sid: str, name: str, pm10: float | None, day: str, lat: float,
             lon: float) -> dict[str, Any]:
    return {"station_id": sid, "name": name, "pm10": pm10, "measured_on": day,
            "geo_point_2d": {"lon": lon, "lat": lat}}


STATIONS = [
    _station("HEL-KALLIO", "Kallio 2", 12, "2024-03-01", 60.1873, 24.9503),
    _station("HEL-MANNERHEIMINTIE", "Mannerheimintie", 21, "2024-03-02", 60.1699, 24.9387),
    _station("HEL-MAKELANKATU", "Mäkelänkatu", 18, "2024-03-03", 60.1961, 24.9520),
    _station("HEL-VALLILA", "Vallila", 15, "2024-03-03", 60.1947, 24.9606),
    _station("ESP-LEPPAVAARA", "Leppävaara", 9, "2024-03-04", 60.2191, 24.8136),
]
ODS_METAS = {"title": "Air quality monitoring stations", "license": "CC BY 4.0",
             "modified": "2024-03-04T06:00:00+00:00",
             "publisher": "Helsinki Region Environmental Services HSY", "records_count": 5}
CKAN_RECORDS = [
    {"station": "Kallio 2", "lat": 60.1873, "lon": 24.9503, "no2": 23.4},
    {"station": "Mannerheimintie", "lat": 60.1699, "lon": 24.9387, "no2": 41.0},
    {"station": "Mäkelänkatu", "lat": 60.1961, "lon": 24.9520, "no2": 37.2},
    {"station": "Vallila", "lat": 60.1947, "lon": 24.9606, "no2": 19.8},
    {"station": "Leppävaara", "lat": 60.2191, "lon": 24.8136, "no2": 15.1},
]
CKAN_PACKAGE = {
    "name": PACKAGE, "title": "HSY air quality stations", "license_id": "cc-by-4.0",
    "license_title": "Creative Commons Attribution 4.0",
    "metadata_modified": "2024-03-05T09:30:12.345678",
    "organization": {"title": "Helsinki Region Environmental Services HSY"},
    "resources": [
        # Unnamed, not in the DataStore: CKAN answers `"name": null` for such resources.
        {"id": "0a9d7c44-readme", "name": None, "datastore_active": False,
         "url": "https://example.invalid/readme.pdf", "format": "PDF"},
        {"id": RESOURCE_ID, "name": "stations", "datastore_active": True,
         "url": "https://example.invalid/stations.csv", "format": "CSV"},
    ],
}
_WHERE = re.compile(r"^\s*(\w+)\s*(>=|>)\s*date'(\d{4}-\d{2}-\d{2})'\s*$")


class Portal:
    """In-memory state of the fake portal; tests change it between loads."""

    def __init__(self) -> None:
        self.ods_records: list[dict[str, Any]] = copy.deepcopy(STATIONS)
        self.ods_metas: dict[str, Any] = dict(ODS_METAS)
        self.ckan_package: dict[str, Any] = copy.deepcopy(CKAN_PACKAGE)
        self.ckan_records: list[dict[str, Any]] = copy.deepcopy(CKAN_RECORDS)
        self.requests: list[str] = []
        self.failures: list[str] = []  # what the next requests do: "503", "hang", "html", …
        self.release = threading.Event()  # ends every hang (set at teardown)
        self.url = ""

    def fail_next(self, count: int, how: str = "503") -> None:
        self.failures.extend([how] * count)

    def paths(self, part: str = "") -> list[str]:
        """Recorded request paths (with query) that contain `part`."""
        return [p for p in self.requests if part in p]

    def queries(self, part: str) -> list[dict[str, str]]:
        """The query parameters of each recorded request whose path contains `part`."""
        return [dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(p).query))
                for p in self.paths(part)]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Quiet: the test output stays readable."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        portal = self.server.portal
        portal.requests.append(self.path)
        failure = portal.failures.pop(0) if portal.failures else None
        if failure == "hang":
            portal.release.wait(10)  # the client has given up by then; answer nothing
            return
        if failure == "503":
            return self._send(503, b"<html><body>Service Unavailable</body></html>", "text/html")
        if failure == "html":
            return self._send(200, b"<!doctype html><title>Maintenance</title>", "text/html")
        if failure == "truncate":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "4096")
            self.end_headers()
            self.wfile.write(b'[{"station_id": "HEL-')
            return None
        split = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(split.query))
        if split.path.startswith("/api/explore/v2.1/catalog/datasets/"):
            return self._ods(split.path.removeprefix("/api/explore/v2.1/catalog/datasets/"),
                             query)
        if split.path.startswith("/api/3/action/"):
            return self._ckan(split.path.removeprefix("/api/3/action/"), query)
        return self._json(404, {"error": "no such page"})

    def _ods(self, rest: str, query: dict[str, str]) -> None:
        portal = self.server.portal
        dataset, _, endpoint = rest.partition("/")
        if dataset != DATASET:
            return self._json(404, {"error_code": "NotFound",
                                    "message": f"Unknown dataset: {dataset}"})
        if endpoint == "":
            return self._json(200, {"dataset_id": DATASET, "has_records": True,
                                    "metas": {"default": portal.ods_metas},
                                    "fields": [{"name": "station_id", "type": "text"},
                                               {"name": "pm10", "type": "double"},
                                               {"name": "measured_on", "type": "date"},
                                               {"name": "geo_point_2d", "type": "geo_point_2d"}]})
        records = portal.ods_records
        if "where" in query:
            match = _WHERE.match(query["where"])
            if not match:
                return self._json(400, {"error_code": "ODSQLError",
                                        "message": f"cannot parse `{query['where']}`"})
            field, op, day = match.groups()
            records = [r for r in records
                       if (r[field][:10] > day if op == ">" else r[field][:10] >= day)]
        if endpoint == "exports/json":
            return self._json(200, records)
        if endpoint == "records":
            limit, offset = int(query.get("limit", 10)), int(query.get("offset", 0))
            if limit > 100:
                return self._json(400, {"error_code": "InvalidRESTParameterError",
                                        "message": "Invalid value for limit API parameter"})
            return self._json(200, {"total_count": len(records),
                                    "results": records[offset:offset + limit]})
        return self._json(404, {"error_code": "NotFound", "message": f"no endpoint {endpoint}"})

    def _ckan(self, action: str, query: dict[str, str]) -> None:
        portal = self.server.portal
        help_url = f"{portal.url}/api/3/action/help_show?name={action}"
        package = portal.ckan_package
        if action == "package_show" and query.get("id") == package["name"]:
            return self._json(200, {"help": help_url, "success": True, "result": package})
        active = {r["id"] for r in package["resources"] if r["datastore_active"]}
        if action == "datastore_search" and query.get("resource_id") in active:
            limit, offset = int(query.get("limit", 100)), int(query.get("offset", 0))
            rows = [{"_id": i, **r} for i, r in enumerate(portal.ckan_records, start=1)]
            start = f"/api/3/action/datastore_search?resource_id={query['resource_id']}"
            return self._json(200, {"help": help_url, "success": True, "result": {
                "resource_id": query["resource_id"],
                "fields": [{"id": "_id", "type": "int"}, {"id": "station", "type": "text"},
                           {"id": "lat", "type": "numeric"}, {"id": "lon", "type": "numeric"},
                           {"id": "no2", "type": "numeric"}],
                "records": rows[offset:offset + limit], "total": len(rows),
                "_links": {"start": f"{start}&limit={limit}",
                           "next": f"{start}&limit={limit}&offset={offset + limit}"}}})
        return self._json(404, {"help": help_url, "success": False,
                                "error": {"__type": "Not Found Error", "message": "Not found"}})

    def _json(self, status: int, payload: object) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json;charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, portal: Portal) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.portal = portal


@pytest.fixture
def portal(monkeypatch: pytest.MonkeyPatch) -> Iterator[Portal]:
    """A running fake portal; backoff sleeps are recorded in `portal.sleeps`, not slept."""
    state = Portal()
    server = _Server(state)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01},
                              daemon=True)
    thread.start()
    sleeps: list[float] = []
    monkeypatch.setattr(_http, "time", SimpleNamespace(sleep=sleeps.append))
    state.sleeps = sleeps  # type: ignore[attr-defined]
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """An empty in-memory store."""
    connection = duckdb.connect()
    init_schema(connection)
    yield connection
    connection.close()


def _ods(con: duckdb.DuckDBPyConnection, portal: Portal, **options: object) -> SourceRecord:
    return ingest_into(con, "opendatasoft", portal.url, options={"dataset": DATASET, **options})


def _ckan(con: duckdb.DuckDBPyConnection, portal: Portal, **options: object) -> SourceRecord:
    return ingest_into(con, "ckan", portal.url, options={"package": PACKAGE, **options})


def _cell(lat: float, lon: float) -> int:
    return int(h3.latlng_to_cell(lat, lon, BASE_RESOLUTION), 16)


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()


# --- Opendatasoft -------------------------------------------------------------------------

def test_ods_export_load(con: duckdb.DuckDBPyConnection, portal: Portal) -> None:
    record = _ods(con, portal)
    assert record.source_id == f"opendatasoft:{DATASET.replace('-', '_')}"
    assert record.row_counts == {ODS_TABLE: 5}
    assert record.licence == "CC BY 4.0"
    assert record.attribution == "Helsinki Region Environmental Services HSY"
    assert record.data_as_of == dt.datetime(2024, 3, 4, 6, 0, tzinfo=dt.UTC)
    base = f"/api/explore/v2.1/catalog/datasets/{DATASET}"
    assert portal.requests == [base, f"{base}/exports/json"]
    rows = _rows(con, f"SELECT station_id, pm10, measured_on, geo_point_2d_lat, "
                      f"geo_point_2d_lon, h3_cell, source_id FROM {ODS_TABLE} ORDER BY 1")
    expected = sorted((s["station_id"], s["pm10"], s["measured_on"], s["geo_point_2d"]["lat"],
                       s["geo_point_2d"]["lon"],
                       _cell(s["geo_point_2d"]["lat"], s["geo_point_2d"]["lon"]),
                       record.source_id) for s in STATIONS)
    assert rows == expected
    stored = _rows(con, "SELECT licence, json_extract_string(options, '$.portal_modified') "
                        f"FROM sources WHERE source_id = '{record.source_id}'")
    assert stored == [("CC BY 4.0", "2024-03-04T06:00:00+00:00")]


def test_ods_records_mode_pages_through_everything(
        con: duckdb.DuckDBPyConnection, portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(opendatasoft, "PAGE", 2)
    record = _ods(con, portal, mode="records")
    assert record.row_counts == {ODS_TABLE: 5}
    assert portal.queries("/records") == [{"limit": "2", "offset": "0"},
                                          {"limit": "2", "offset": "2"},
                                          {"limit": "2", "offset": "4"}]
    assert not portal.paths("/exports/")
    names = _rows(con, f"SELECT name FROM {ODS_TABLE} ORDER BY name")
    assert [n for (n,) in names] == sorted(s["name"] for s in STATIONS)


def test_ods_incremental_refresh_asks_only_newer_and_upserts(
        con: duckdb.DuckDBPyConnection, portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(opendatasoft, "PAGE", 2)
    options = {"mode": "records", "key": "station_id", "since_field": "measured_on"}
    _ods(con, portal, **options)
    assert all("where" not in q for q in portal.queries("/records"))
    # The portal corrects Kallio (a decimal value now) and adds Töölö and a late Vartiokylä
    # reading dated the same day as the newest record already loaded.
    portal.ods_records[0].update(pm10=14.5, measured_on="2024-03-05")
    portal.ods_records += [_station("HEL-TOOLO", "Töölö", 11, "2024-03-05", 60.1766, 24.9228),
                           _station("HEL-VARTIOKYLA", "Vartiokylä", 7, "2024-03-04",
                                    60.2228, 25.1024)]
    portal.ods_metas["modified"] = "2024-03-05T06:00:00+00:00"
    portal.requests.clear()
    record = _ods(con, portal, **options)
    # Inclusive: a record dated the newest loaded day may have been added since.
    newer = {"limit": "2", "where": "measured_on >= date'2024-03-04'"}
    assert portal.queries("/records") == [{**newer, "offset": "0"}, {**newer, "offset": "2"}]
    assert record.row_counts == {ODS_TABLE: 7}
    rows = _rows(con, f"SELECT station_id, count(*), any_value(pm10), any_value(measured_on) "
                      f"FROM {ODS_TABLE} GROUP BY 1 ORDER BY 1")
    assert rows == [("ESP-LEPPAVAARA", 1, 9, "2024-03-04"),
                    ("HEL-KALLIO", 1, 14.5, "2024-03-05"),
                    ("HEL-MAKELANKATU", 1, 18, "2024-03-03"),
                    ("HEL-MANNERHEIMINTIE", 1, 21, "2024-03-02"),
                    ("HEL-TOOLO", 1, 11, "2024-03-05"),
                    ("HEL-VALLILA", 1, 15, "2024-03-03"),
                    ("HEL-VARTIOKYLA", 1, 7, "2024-03-04")]
    toolo = _rows(con, f"SELECT h3_cell FROM {ODS_TABLE} WHERE station_id = 'HEL-TOOLO'")
    assert toolo == [(_cell(60.1766, 24.9228),)]


def test_ods_incremental_refresh_with_nothing_new(con: duckdb.DuckDBPyConnection,
                                                  portal: Portal) -> None:
    options = {"key": "station_id", "since_field": "measured_on"}
    _ods(con, portal, **options)
    portal.ods_records = [r for r in portal.ods_records if r["measured_on"] < "2024-03-04"]
    portal.requests.clear()
    record = _ods(con, portal, **options)
    assert portal.queries("/exports/json") == [{"where": "measured_on >= date'2024-03-04'"}]
    assert record.row_counts == {ODS_TABLE: 5}
    assert "0 records fetched" in (record.notes or "")


def test_ods_since_field_needs_a_key(con: duckdb.DuckDBPyConnection, portal: Portal) -> None:
    with pytest.raises(InputError, match="--since-field needs --key"):
        _ods(con, portal, since_field="measured_on")
    assert portal.requests == []


def test_ods_unchanged_modified_fetches_no_records(con: duckdb.DuckDBPyConnection,
                                                   portal: Portal) -> None:
    first = _ods(con, portal)
    portal.ods_records.pop()  # the portal's data changed but its `modified` stamp did not
    portal.requests.clear()
    again = _ods(con, portal)
    assert portal.requests == [f"/api/explore/v2.1/catalog/datasets/{DATASET}"]
    assert again.row_counts == first.row_counts == {ODS_TABLE: 5}
    assert "0 records fetched" in (again.notes or "")
    portal.ods_metas["modified"] = "2024-03-06T06:00:00+00:00"
    assert _ods(con, portal).row_counts == {ODS_TABLE: 4}


def test_ods_refresh_into_another_table_reloads(con: duckdb.DuckDBPyConnection,
                                                portal: Portal) -> None:
    _ods(con, portal)
    record = _ods(con, portal, table="portal_stations")  # same `modified`, new table
    assert record.row_counts == {"portal_stations": 5}
    assert _rows(con, "SELECT count(*) FROM portal_stations") == [(5,)]
    # The source's rows moved: the old table no longer holds rows nobody accounts for.
    assert _rows(con, f"SELECT count(*) FROM {ODS_TABLE}") == [(0,)]


def test_ods_refresh_widens_column_types(con: duckdb.DuckDBPyConnection,
                                         portal: Portal) -> None:
    for station in portal.ods_records:
        station["note"] = None  # empty in the first load: no type to infer
    _ods(con, portal)
    portal.ods_records[1].update(pm10=21.7, note="calibrated 2024-03-05")
    portal.ods_metas["modified"] = "2024-03-05T06:00:00+00:00"
    _ods(con, portal)
    rows = _rows(con, f"SELECT station_id, pm10, note FROM {ODS_TABLE} "
                      "WHERE note IS NOT NULL OR pm10 <> round(pm10)")
    assert rows == [("HEL-MANNERHEIMINTIE", 21.7, "calibrated 2024-03-05")]


@pytest.mark.parametrize("table", ["Stations; DROP TABLE sources", "stations", "portal-x"])
def test_invalid_table_name_refused(con: duckdb.DuckDBPyConnection, portal: Portal,
                                    table: str) -> None:
    with pytest.raises(InputError, match="--table"):
        _ods(con, portal, table=table)
    assert not portal.paths("/exports/")
    assert _rows(con, "SELECT count(*) FROM sources") == [(0,)]


def test_ods_unknown_dataset_names_url_and_message(con: duckdb.DuckDBPyConnection,
                                                   portal: Portal) -> None:
    with pytest.raises(PortalError) as caught:
        ingest_into(con, "opendatasoft", portal.url, options={"dataset": "no-such-dataset"})
    message = str(caught.value)
    assert f"{portal.url}/api/explore/v2.1/catalog/datasets/no-such-dataset" in message
    assert "HTTP 404" in message and "Unknown dataset: no-such-dataset" in message


def test_ods_cli_ingest(store_copy: Path, portal: Portal,
                        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["ingest", "opendatasoft", portal.url, "--dataset", DATASET, "--mode", "records",
                 "--key", "station_id", "--since-field", "measured_on", "--store",
                 str(store_copy)])
    assert code == 0, capsys.readouterr().err
    assert f"as opendatasoft:air_quality_stations ({ODS_TABLE}: 5)" in capsys.readouterr().err
    con = connect_read(store_copy)
    try:
        options = _rows(con, "SELECT options FROM sources WHERE type = 'opendatasoft'")
        assert json.loads(options[0][0])["since_field"] == "measured_on"
        assert _rows(con, f"SELECT count(DISTINCT h3_cell) FROM {ODS_TABLE}") == [(5,)]
    finally:
        con.close()


# --- CKAN ---------------------------------------------------------------------------------

def test_ckan_load_pages_through_the_datastore(
        con: duckdb.DuckDBPyConnection, portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ckan, "PAGE", 2)
    record = _ckan(con, portal)
    assert record.source_id == "ckan:hsy_air_quality"
    assert record.row_counts == {CKAN_TABLE: 5}
    assert record.licence == "Creative Commons Attribution 4.0"
    assert record.attribution == "Helsinki Region Environmental Services HSY"
    assert record.data_as_of == dt.datetime(2024, 3, 5, 9, 30, 12, 345678, tzinfo=dt.UTC)
    assert record.path == "https://example.invalid/stations.csv"
    assert portal.queries("package_show") == [{"id": PACKAGE}]
    # The unnamed PDF listed first is not mistaken for the DataStore resource.
    assert portal.queries("datastore_search") == [
        {"resource_id": RESOURCE_ID, "limit": "2", "offset": str(offset)} for offset in (0, 2, 4)]
    rows = _rows(con, f"SELECT _id, station, no2, h3_cell FROM {CKAN_TABLE} ORDER BY _id")
    assert rows == [(i, r["station"], r["no2"], _cell(r["lat"], r["lon"]))
                    for i, r in enumerate(CKAN_RECORDS, start=1)]


def test_ckan_refresh_only_when_metadata_modified_changes(
        con: duckdb.DuckDBPyConnection, portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ckan, "PAGE", 2)
    _ckan(con, portal)
    portal.ckan_records.pop()
    portal.requests.clear()
    again = _ckan(con, portal)
    assert again.row_counts == {CKAN_TABLE: 5}
    assert portal.paths("datastore_search") == []
    assert len(portal.paths("package_show")) == 1
    portal.ckan_package["metadata_modified"] = "2024-03-06T10:00:00.000000"
    reloaded = _ckan(con, portal)
    assert reloaded.row_counts == {CKAN_TABLE: 4}
    assert len(portal.paths("datastore_search")) == 2


def test_ckan_unknown_resource_lists_the_resources(con: duckdb.DuckDBPyConnection,
                                                   portal: Portal) -> None:
    with pytest.raises(PortalError, match=r"no resource 'hourly'; its resources: None "
                                          r"\(0a9d7c44-readme\), stations \(5f3e1c2a"):
        _ckan(con, portal, resource="hourly")


def test_ckan_unknown_package_names_url_and_message(con: duckdb.DuckDBPyConnection,
                                                    portal: Portal) -> None:
    with pytest.raises(PortalError) as caught:
        _ckan(con, portal, package="no-such-package")
    message = str(caught.value)
    assert f"{portal.url}/api/3/action/package_show?id=no-such-package" in message
    assert "HTTP 404" in message and "Not Found Error: Not found" in message
    assert "help_show" not in message  # CKAN's help link is noise here
    assert len(portal.requests) == 1  # a 404 is not retried


def test_ckan_cli_error_exits_2_and_leaves_the_store(store_copy: Path, portal: Portal,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    before = store_copy.read_bytes()
    code = main(["ingest", "ckan", portal.url, "--package", "no-such-package",
                 "--store", str(store_copy)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"error: {portal.url}/api/3/action/package_show?id=no-such-package" in err
    assert "Not found" in err and "Traceback" not in err
    assert store_copy.read_bytes() == before


# --- HTTP: retries, timeouts, bad answers -------------------------------------------------

def test_two_503_then_success(con: duckdb.DuckDBPyConnection, portal: Portal) -> None:
    portal.fail_next(2)
    assert _ods(con, portal).row_counts == {ODS_TABLE: 5}
    assert len(portal.paths(f"datasets/{DATASET}")) == 4  # 3 metadata tries, 1 export
    assert portal.sleeps == [0.5, 1.0]  # type: ignore[attr-defined]


def test_four_503_fail_with_the_url(con: duckdb.DuckDBPyConnection, portal: Portal) -> None:
    portal.fail_next(4)
    with pytest.raises(PortalError, match=r"no answer after 4 tries \(HTTP 503\)") as caught:
        _ckan(con, portal)
    assert f"{portal.url}/api/3/action/package_show?id={PACKAGE}" in str(caught.value)
    assert len(portal.requests) == 4
    assert portal.sleeps == [0.5, 1.0, 2.0]  # type: ignore[attr-defined]
    assert _rows(con, "SELECT count(*) FROM sources") == [(0,)]


def test_timeout_is_retried(con: duckdb.DuckDBPyConnection, portal: Portal,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_http, "TIMEOUT_S", 0.2)
    portal.fail_next(1, "hang")
    assert _ods(con, portal).row_counts == {ODS_TABLE: 5}
    assert len(portal.requests) == 3
    portal.fail_next(4, "hang")
    with pytest.raises(PortalError, match=r"no answer after 4 tries \(timed out\)"):
        _ods(con, portal)


def test_truncated_answer_is_retried(con: duckdb.DuckDBPyConnection, portal: Portal) -> None:
    portal.fail_next(1, "truncate")  # the connection closes before the promised length
    assert _ods(con, portal).row_counts == {ODS_TABLE: 5}
    assert len(portal.paths(f"datasets/{DATASET}")) == 3
    assert portal.sleeps == [0.5]  # type: ignore[attr-defined]


def test_non_json_answer_refused(con: duckdb.DuckDBPyConnection, portal: Portal) -> None:
    portal.fail_next(1, "html")
    with pytest.raises(PortalError, match="the answer is not JSON") as caught:
        _ods(con, portal)
    assert f"{portal.url}/api/explore/v2.1/catalog/datasets/{DATASET}" in str(caught.value)
    assert len(portal.requests) == 1  # not retried: the portal did answer


def test_only_http_urls() -> None:
    with pytest.raises(InputError, match="not an http"):
        _http.get_json("file:///etc/passwd")
