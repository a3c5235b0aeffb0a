"""Service requests: Open311 GeoReport v2 JSON and CSV, with their data problems."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from observatory.build import ingest_into
from observatory.errors import SourceFileError
from observatory.store import connect_in_place

# Shaped like the GeoReport v2 `requests.json` example of the Open311 specification.
OPEN311 = [
    {"service_request_id": "638344", "status": "closed", "status_notes": "Duplicate request.",
     "service_name": "Sidewalk and Curb Issues", "service_code": "006", "description": None,
     "agency_responsible": None, "service_notice": None,
     "requested_datetime": "2010-04-14T06:37:38-08:00",
     "updated_datetime": "2010-04-14T15:37:38-08:00",
     "expected_datetime": "2010-04-15T06:37:38-08:00", "address": "8TH AVE and JUDAH ST",
     "address_id": "545483", "zipcode": "94122", "lat": 60.1702, "long": 24.9401,
     "media_url": "http://city.gov.s3.amazonaws.com/requests/media/638344.jpg"},
    {"service_request_id": "638349", "status": "open", "status_notes": None,
     "service_name": "Potholes", "service_code": "007", "requested_datetime":
     "2010-04-19T06:37:38-08:00", "updated_datetime": "2010-04-19T06:37:38-08:00",
     "lat": 8.1702, "long": 24.9401},
    {"service_request_id": "638350", "status": "closed", "service_name": "Potholes",
     "requested_datetime": "2010-04-20T06:00:00Z", "updated_datetime": "2010-04-19T06:00:00Z",
     "lat": 60.171, "long": 24.945},
    {"service_request_id": "638350", "status": "open", "service_name": "Potholes",
     "requested_datetime": "2010-04-20T06:00:00Z", "lat": 60.171, "long": 24.945},
    {"service_request_id": None, "status": "open", "service_name": "Potholes",
     "requested_datetime": "2010-04-21T06:00:00Z"},
]


def test_open311(store_copy: Path, tmp_path: Path) -> None:
    path = tmp_path / "requests.json"
    path.write_text(json.dumps(OPEN311))
    con = connect_in_place(store_copy)
    record = ingest_into(con, "service-requests", path)
    rows = con.execute("SELECT request_id, status, closed_at - requested_at, flag, "
                       "h3_cell IS NOT NULL FROM service_requests WHERE source_id = $s "
                       "ORDER BY 1", {"s": record.source_id}).fetchall()
    con.close()
    assert [(r[0], r[1], r[3], r[4]) for r in rows] == [
        ("638344", "closed", None, True), ("638349", "open", "outside_area", False),
        ("638350", "closed", "closed_before_requested", True)]
    assert rows[0][2].total_seconds() == 9 * 3600
    issues = "\n".join(record.issues)
    assert "1 row without a request id or a parseable requested time (line 5" in issues
    assert "1 row closed before they were requested (line 3; request_id '638350')" in issues
    assert "1 row repeating a request id already read (line 4" in issues
    assert "1 row outside the study area (a typo in lat/long?) (line 2" in issues


def test_csv_with_own_column_names(empty_con: duckdb.DuckDBPyConnection,
                                   tmp_path: Path) -> None:
    path = tmp_path / "requests.csv"
    path.write_text("id,service,state,opened,closed,y,x\n"
                    "1,Litter,closed,2024-05-01 08:00,2024-05-02 08:00,60.17,24.94\n"
                    "2,Litter,open,2024-05-03 09:00,,60.17,24.94\n")
    record = ingest_into(empty_con, "service-requests", path, options={
        "request_id": "id", "service_name": "service", "status": "state",
        "requested_at": "opened", "closed_at": "closed", "lat": "y", "lon": "x"})
    assert record.row_counts == {"service_requests": 2} and record.issues == []
    (hours,), = empty_con.execute("SELECT epoch(closed_at - requested_at) / 3600 FROM "
                                  "service_requests WHERE request_id = '1'").fetchall()
    assert hours == 24


@pytest.mark.parametrize(("name", "text", "message"), [
    ("bad.json", "[{\"service_request_id\": 1,}]", r"bad\.json line 1: not valid JSON"),
    ("obj.json", "{\"hello\": 1}", r"expected a JSON list of service requests"),
    ("cols.csv", "id,when\n1,2024-01-01\n", r"cols\.csv line 1: missing columns "
     r"service_request_id, service_name, status, requested_datetime"),
])
def test_unusable_files(empty_con: duckdb.DuckDBPyConnection, tmp_path: Path, name: str,
                        text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SourceFileError, match=message):
        ingest_into(empty_con, "service-requests", path)
