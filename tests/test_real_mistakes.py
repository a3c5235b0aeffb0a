"""Real files, real mistakes: each is refused with exit 2, naming the file (and the line
where it has one) and how to fix it; none is an internal error, none loads in silence."""

from __future__ import annotations

import io
import json
import random
import re
import struct
import textwrap
import zipfile
import zlib
from pathlib import Path

import pytest

from data_sources import _http
from data_sources._common import zip_damage
from data_sources.osm_pbf import _blob_header
from observatory.build import default_pbf, ingest_into
from observatory.cli import main
from observatory.store import connect_in_place, connect_read

REQUESTS_HEADER = "service_request_id,service_name,status,requested_datetime,lat,long\n"
DEEP = "[" * 100_000 + "]" * 100_000


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err, err
    return code, err


def _ingest(capsys: pytest.CaptureFixture[str], store: Path, kind: str, path: Path | str,
            *extra: str) -> tuple[int, str]:
    return _run(capsys, "ingest", kind, str(path), "--store", str(store), *extra)


# --- OpenStreetMap PBF ----------------------------------------------------------------

def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _blocks(raw: bytes) -> list[tuple[int, int, int]]:
    """(start, start of blob, blob size) of each block."""
    found, pos = [], 0
    while pos < len(raw):
        (length,) = struct.unpack(">I", raw[pos:pos + 4])
        size = _blob_header(raw[pos + 4:pos + 4 + length])[1]
        found.append((pos, pos + 4 + length, size))
        pos += 4 + length + size
    return found


def _flipped_blob(raw: bytes) -> bytes:
    """The real extract with bytes of its first data block's compressed data flipped."""
    _, blob, size = _blocks(raw)[1]
    middle = blob + size // 3
    return raw[:middle] + bytes(b ^ 0xFF for b in raw[middle:middle + 64]) + raw[middle + 64:]


def _garbage_block(raw: bytes) -> bytes:
    """The real extract with a well-framed data block of valid zlib but random protobuf."""
    payload = random.Random(1).randbytes(2000)
    packed = zlib.compress(payload)
    blob = b"\x10" + _varint(len(payload)) + b"\x1a" + _varint(len(packed)) + packed
    header = b"\x0a\x07OSMData\x18" + _varint(len(blob))
    first_data = _blocks(raw)[1][0]
    return (raw[:first_data] + struct.pack(">I", len(header)) + header + blob
            + raw[first_data:])


@pytest.mark.parametrize("damage", [_flipped_blob, _garbage_block])
def test_pbf_that_passes_the_block_check_but_not_pyrosm(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: object) -> None:
    bad = tmp_path / "corrupt.osm.pbf"
    bad.write_bytes(damage(default_pbf().read_bytes()))  # type: ignore[operator]
    code, err = _ingest(capsys, tmp_path / "s.duckdb", "osm", bad)
    assert code == 2
    assert f"{bad}: corrupt; pyrosm says:" in err and "Download the extract again" in err


def test_folder_given_as_pbf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "extract.osm.pbf"
    folder.mkdir()
    code, err = _ingest(capsys, tmp_path / "s.duckdb", "osm", folder)
    assert code == 2 and f"{folder}: is a folder, not a file" in err


# --- service requests: encodings, ragged rows, depth, emptiness -------------------------

def test_latin1_open311(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "requests.json"
    path.write_bytes('[\n {"service_request_id": "1",\n  "service_name": "Katuvalo rikki '
                     'Töölössä"}\n]\n'.encode("latin-1"))
    code, err = _ingest(capsys, tmp_path / "s.duckdb", "service-requests", path)
    assert code == 2
    assert f"{path} line 3: not UTF-8 text (byte 0xF6 at column 36" in err
    assert "Save it as UTF-8" in err


def test_latin1_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "requests.csv"
    path.write_bytes((REQUESTS_HEADER + "1,Litter,open,2024-05-01,60.17,24.94\n"
                      "2,Graffiti Töölö,open,2024-05-02,60.17,24.94\n").encode("latin-1"))
    code, err = _ingest(capsys, tmp_path / "s.duckdb", "service-requests", path)
    assert code == 2 and f"{path} line 3: not UTF-8 text (byte 0xF6" in err


def test_csv_row_with_extra_fields(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "requests.csv"
    path.write_text(REQUESTS_HEADER + "1,Litter,open,2024-05-01,60.17,24.94\n"
                    '2,"Litter, bins",open,2024-05-02,60.17,24.94\n'
                    "3,Litter, bins,open,2024-05-03,60.17,24.94\n")
    code, err = _ingest(capsys, tmp_path / "s.duckdb", "service-requests", path)
    assert code == 2
    assert f"{path} line 4: 7 fields where the header has 6" in err
    assert "Quote values that contain the delimiter" in err


def test_open311_nested_100000_deep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "requests.json"
    path.write_text('[{"service_request_id": "1",\n "attributes": ' + DEEP + "}]")
    code, err = _ingest(capsys, tmp_path / "s.duckdb", "service-requests", path)
    assert code == 2 and f"{path} line 2: JSON nested more than 200 levels deep" in err


@pytest.mark.parametrize(("name", "text", "message"), [
    ("header.csv", REQUESTS_HEADER, "has a header line but no rows of data"),
    ("strings.json", json.dumps(["638344", "638349"]),
     "item 1 of the list is a JSON string ('638344'), not a request object (2 of 2 items"),
    ("empty.json", "[]", "holds no service requests (an empty list)"),
])
def test_files_with_no_request_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    code, err = _ingest(capsys, tmp_path / "s.duckdb", "service-requests", path)
    assert code == 2 and f"{path}: {message}" in err


def test_requested_times_follow_the_shared_rule(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Day-first dates, slashes and a local zone are read as the forecast command reads
    them (observatory.timeparse), not as unparseable."""
    path = tmp_path / "requests.csv"
    path.write_text(REQUESTS_HEADER + "1,Litter,open,31/01/2024 08:00,60.17,24.94\n"
                    "2,Litter,open,2024/02/01 08:00,60.17,24.94\n")
    store = tmp_path / "s.duckdb"
    code, err = _ingest(capsys, store, "service-requests", path, "--tz", "Europe/Helsinki")
    assert code == 0, err
    con = connect_read(store)
    try:
        rows = con.execute("SELECT request_id, strftime(requested_at AT TIME ZONE 'UTC', "
                           "'%Y-%m-%d %H:%M') FROM service_requests ORDER BY 1").fetchall()
    finally:
        con.close()
    assert rows == [("1", "2024-01-31 06:00"), ("2", "2024-02-01 06:00")]


def test_ambiguous_dates_ask_for_a_format(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "requests.csv"
    path.write_text(REQUESTS_HEADER + "1,Litter,open,01/02/2024,60.17,24.94\n")
    code, err = _ingest(capsys, tmp_path / "s.duckdb", "service-requests", path)
    assert code == 2 and f"{path}: `requested_at` column:" in err and "--date-format" in err


# --- portals ----------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "option"), [("ckan", "--package"),
                                              ("opendatasoft", "--dataset")])
def test_portal_json_nested_100000_deep(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch, kind: str,
                                        option: str) -> None:
    monkeypatch.setattr(_http, "_open", lambda url, *, timeout: DEEP.encode())
    code, err = _ingest(capsys, tmp_path / "s.duckdb", kind, "https://portal.invalid",
                        option, "air")
    assert code == 2
    assert "error: https://portal.invalid/api/" in err and "nested more than 200 levels" in err


def test_portal_records_that_are_not_objects(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {"/air": {"metas": {"default": {"modified": "2024-01-01"}}},
               "/air/exports/json": ["a", "b"]}
    monkeypatch.setattr(_http, "_open", lambda url, *, timeout: json.dumps(
        answers[url.split("/datasets", 1)[1]]).encode())
    code, err = _ingest(capsys, tmp_path / "s.duckdb", "opendatasoft",
                        "https://portal.invalid", "--dataset", "air")
    assert code == 2 and "datasets/air: record 1 is str 'a', not a JSON object" in err


# --- population -------------------------------------------------------------------------

def test_population_of_1e400(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "grid.csv"
    path.write_text("lat,lon,population\n60.170,24.940,120\n60.172,24.945,1e400\n")
    code, err = _ingest(capsys, tmp_path / "s.duckdb", "population", path)
    assert code == 2
    assert f"{path} line 3: `population` '1e400' is not a number of residents" in err


def test_header_only_population(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "grid.csv"
    path.write_text("lat,lon,population\n")
    code, err = _ingest(capsys, tmp_path / "s.duckdb", "population", path)
    assert code == 2 and f"{path}: has a header line but no rows of data" in err


def test_population_with_no_valid_row(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "grid.csv"
    path.write_text("lat,lon,population\n60.17,24.94,n/a\n")
    code, err = _ingest(capsys, tmp_path / "s.duckdb", "population", path)
    assert code == 2 and f"{path}: no residents to load" in err and "line 2" in err


def test_one_row_grid_does_not_replace_the_population_in_silence(
        store_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "grid.csv"
    path.write_text("lat,lon,population\n60.170,24.940,50\n")
    before = store_copy.read_bytes()
    code, err = _ingest(capsys, store_copy, "population", path)
    assert code == 2
    assert f"{path}: the grid spans 4.38 % of the study area (7 of its 160" in err
    assert "the 21,936 residents in the store would become 50" in err and "--force" in err
    assert store_copy.read_bytes() == before
    con = connect_in_place(store_copy)
    try:
        record = ingest_into(con, "population", path, options={"force": True})
        total = con.execute("SELECT sum(population) FROM population_cells").fetchall()[0][0]
    finally:
        con.close()
    assert total == 50
    assert any("loaded with --force (21,936 residents before, 50 after)" in i
               for i in record.issues)
    assert "spanning only 4.38 % of the study area (--force)" in record.notes


# --- zip archives -----------------------------------------------------------------------

def _truncated_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("grid.csv", "lat,lon,population\n" + "60.17,24.94,1\n" * 5000)
    whole = buffer.getvalue()
    return whole[:len(whole) // 2]


def test_truncated_zip_is_named_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "grid.zip"
    path.write_bytes(_truncated_zip())
    code, err = _ingest(capsys, tmp_path / "s.duckdb", "population", path)
    assert code == 2 and f"{path}: is a truncated or corrupt zip archive" in err
    assert zip_damage(path) is not None and zip_damage(b"stop_id,stop_name\n") is None


# --- indicators -------------------------------------------------------------------------

SPEC = """\
indicator:
  name: {name}
  label: Toy
  description: Toy indicator for tests.
  theme: services
  unit: count
  direction: neutral
  inputs: [osm_pois]
  sql: {name}.sql
  aggregation: sum
  owner: tests
  method: {{standard: none}}
"""
GOOD_SQL = "SELECT h3_cell, count(*) AS value FROM osm_pois GROUP BY 1\n"


def _indicators(folder: Path, **sql: str) -> Path:
    (folder / "services").mkdir(parents=True)
    for name, text in {"toy_good_count": GOOD_SQL, **sql}.items():
        (folder / "services" / f"{name}.yml").write_text(SPEC.format(name=name))
        (folder / "services" / f"{name}.sql").write_text(textwrap.dedent(text))
    return folder


@pytest.mark.parametrize(("sql", "message"), [
    ("SELECT h3_cell,\n  count(*) AS value\nFROMM osm_pois GROUP BY 1\n",
     "toy_bad_count.sql line 3, column 1: the query of `toy_bad_count` failed: not valid "
     "SQL: Parser Error"),
    ("SELECT h3_cell AS cell, count(*) AS value FROM osm_pois GROUP BY 1\n",
     "toy_bad_count.yml: the query returns no column h3_cell"),
    ("SELECT h3_cell, 1 AS value FROM osm_pois\n",
     "toy_bad_count.yml: several rows for the same h3_cell"),
    ("SELECT h3_cell, 'many' AS value FROM osm_pois GROUP BY 1\n",
     "toy_bad_count.yml: column value holds String (e.g. 'many'), not numbers"),
    ("SELECT h3_cell, 'inf'::DOUBLE AS value FROM osm_pois GROUP BY 1\n",
     r"toy_bad_count.yml: \d+ rows with an infinite or NaN value \(first: h3_cell \d+, "
     r"value inf\)"),
    ("SELECT h3_cell, CASE WHEN count(*) > 3 THEN 'nan'::DOUBLE ELSE 1 END AS value "
     "FROM osm_pois GROUP BY 1\n", r"toy_bad_count.yml: \d+ rows with an infinite or NaN "
     r"value \(first: h3_cell \d+, value nan\); such a figure is never stored"),
])
def test_indicator_failures_are_bad_input(store_copy: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str], sql: str,
                                          message: str) -> None:
    folder = _indicators(tmp_path / "indicators", toy_bad_count=sql)
    before = store_copy.read_bytes()
    code, err = _run(capsys, "indicators", "compute", "--store", str(store_copy),
                     "--indicators", str(folder))
    assert code == 2 and re.search(message if "\\d" in message else re.escape(message), err)
    assert "1 problem in the indicators; no result was written" in err
    assert "[compute] toy_good_count: " in err  # the others still computed
    assert "toy_good_count." not in err.split("error:", 1)[1]
    assert store_copy.read_bytes() == before


def test_latin1_definition_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _indicators(tmp_path / "indicators",
                         toy_bad_count="-- Määrä\nSELECT h3_cell, count(*) AS value\n")
    sql = folder / "services" / "toy_bad_count.sql"
    sql.write_bytes(sql.read_text().encode("latin-1"))
    yml = folder / "services" / "toy_good_count.yml"
    yml.write_bytes(yml.read_text().replace("Toy indicator", "Ääni").encode("latin-1"))
    code, err = _run(capsys, "indicators", "validate", "--indicators", str(folder),
                     "--store", str(tmp_path / "none.duckdb"))
    assert code == 2
    assert "toy_bad_count.yml line 9: SQL file `toy_bad_count.sql` line 1: not UTF-8" in err
    assert "toy_good_count.yml line 4: not UTF-8 text (byte 0xC4" in err


def test_a_truncated_gtfs_zip_is_named_so(store_copy: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "feed.zip"
    path.write_bytes(_truncated_zip())
    code, err = _ingest(capsys, store_copy, "gtfs", path)
    assert code == 2 and f"{path}: is a truncated or corrupt zip archive" in err


def test_force_is_a_switch_on_the_command_line(store_copy: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "grid.csv"
    path.write_text("lat,lon,population\n60.170,24.940,50\n")
    code, err = _ingest(capsys, store_copy, "population", path, "--force")
    assert code == 0, err
    con = connect_in_place(store_copy)
    try:
        assert con.execute("SELECT sum(population) FROM population_cells").fetchall() == [(50,)]
    finally:
        con.close()
