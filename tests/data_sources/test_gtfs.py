"""GTFS: the real broken HSL fragment, hand-made feeds for each error kind, several feeds."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import duckdb
import pytest

from data_sources.gtfs import capacity_class
from observatory.build import ingest_into
from observatory.cli import main
from observatory.errors import SourceFileError
from observatory.store import connect_read

STOPS = "stop_id,stop_name,stop_lat,stop_lon\nA,Alpha,60.170,24.940\nB,Beta,60.171,24.945\n"
ROUTES = "route_id,route_short_name,route_type\nR1,1,0\nM,M1,1\n"
TRIPS = "route_id,service_id,trip_id\nR1,WK,T1\nM,WK,T2\n"
STOP_TIMES = ("trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
              "T1,07:00:00,07:00:00,A,1\nT1,07:05:00,07:05:00,B,2\n"
              "T2,24:50:00,25:10:00,A,1\nT2,25:15:00,25:15:00,B,2\n")
CALENDAR = ("service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,"
            "end_date\nWK,1,1,1,1,1,0,0,20240101,20241231\n")


def _feed(folder: Path, **overrides: str | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    files = {"stops.txt": STOPS, "routes.txt": ROUTES, "trips.txt": TRIPS,
             "stop_times.txt": STOP_TIMES, "calendar.txt": CALENDAR}
    for name, text in {**files, **{k.replace("_txt", ".txt"): v for k, v in overrides.items()}
                       }.items():
        if text is not None:
            (folder / name).write_text(text)
    return folder


def _ingest(con: duckdb.DuckDBPyConnection, path: Path, **options: str):
    return ingest_into(con, "gtfs", path, options=options)


def test_real_broken_hsl_fragment(empty_con: duckdb.DuckDBPyConnection,
                                  broken_gtfs_zip: Path) -> None:
    record = _ingest(empty_con, broken_gtfs_zip, feed_id="hsl", licence="CC-BY-4.0")
    assert record.row_counts == {
        "gtfs_stops": 199, "gtfs_routes": 479, "gtfs_trips": 62, "gtfs_stop_times": 558,
        "gtfs_calendar": 4068, "gtfs_calendar_dates": 32, "gtfs_stop_departures": 108}
    issues = "\n".join(record.issues)
    assert "trips.txt: 1 row whose route_id is missing from routes.txt (line 20" in issues
    assert "stop_times.txt: 1432 rows whose stop_id is missing from stops.txt" in issues
    assert "stop_times.txt: 32 rows whose trip_id is missing from trips.txt" in issues
    assert "trips.txt: 338 rows for trips without any stop time" in issues
    assert "representative weekday 2022-02-23" in (record.notes or "")
    capacity = dict(empty_con.execute(
        "SELECT route_type, any_value(capacity) FROM gtfs_routes GROUP BY 1").fetchall())
    assert capacity == {0: "low", 1: "high", 4: "high", 109: "high", 700: "low", 701: "low",
                        702: "low", 704: "low"}


@pytest.mark.parametrize(("route_type", "expected"), [
    (0, "low"), (1, "high"), (2, "high"), (3, "low"), (4, "high"), (11, "low"), (109, "high"),
    (401, "high"), (700, "low"), (900, "low"), (1000, "high")])
def test_capacity_class(route_type: int, expected: str) -> None:
    assert capacity_class(route_type) == expected


def test_times_past_midnight_and_departures(empty_con: duckdb.DuckDBPyConnection,
                                            tmp_path: Path) -> None:
    record = _ingest(empty_con, _feed(tmp_path / "f"), feed_id="f")
    assert record.issues == []
    times = empty_con.execute("SELECT trip_id, stop_id, arrival_s, departure_s FROM "
                              "gtfs_stop_times ORDER BY 1, 2").fetchall()
    assert times[2] == ("T2", "A", 24 * 3600 + 50 * 60, 25 * 3600 + 10 * 60)
    hours = empty_con.execute("SELECT stop_id, hour, departures, service_date FROM "
                              "gtfs_stop_departures ORDER BY 1, 2").fetchall()
    assert hours[0] == ("A", 7, 1, dt.date(2024, 1, 1))
    assert ("A", 25, 1, dt.date(2024, 1, 1)) in hours


def test_bad_coordinates_are_listed_and_skipped(empty_con: duckdb.DuckDBPyConnection,
                                                tmp_path: Path) -> None:
    stops = STOPS + "C,Typo,8.8,24.94\nD,Nowhere,91,24.9\nE,Island,0,0\n"
    record = _ingest(empty_con, _feed(tmp_path / "f", stops_txt=stops), feed_id="f")
    issues = "\n".join(record.issues)
    assert "stops.txt: 2 rows with impossible coordinates" in issues
    assert "(line 5, 6; stop_id 'D', 'E')" in issues
    assert "stops.txt: 1 row more than 150 km from the feed's other stops" in issues
    assert "stop_id 'C'" in issues
    assert record.row_counts["gtfs_stops"] == 2


def test_several_feeds_coexist_and_reloading_replaces(empty_con: duckdb.DuckDBPyConnection,
                                                      tmp_path: Path) -> None:
    feed = _feed(tmp_path / "f")
    for feed_id in ("hsl", "vr", "hsl"):
        _ingest(empty_con, feed, feed_id=feed_id)
    rows = empty_con.execute("SELECT feed_id, count(*) FROM gtfs_stops GROUP BY 1 ORDER BY 1"
                             ).fetchall()
    assert rows == [("hsl", 2), ("vr", 2)]
    sources = empty_con.execute("SELECT source_id FROM sources ORDER BY 1").fetchall()
    assert sources == [("gtfs:hsl",), ("gtfs:vr",)]


@pytest.mark.parametrize(("override", "message"), [
    ({"stops_txt": None}, r"stops\.txt is missing"),
    ({"stops_txt": "stop_id,stop_name\nA,x\n"}, r"stops\.txt line 1: missing columns "
     r"stop_lat, stop_lon"),
    ({"calendar_txt": None}, r"neither calendar\.txt nor calendar_dates\.txt"),
])
def test_unusable_feeds_are_refused(empty_con: duckdb.DuckDBPyConnection, tmp_path: Path,
                                    override: dict[str, str | None], message: str) -> None:
    with pytest.raises(SourceFileError, match=message):
        _ingest(empty_con, _feed(tmp_path / "f", **override), feed_id="f")


def test_zip_feed_and_cli_idempotence(tmp_path: Path, store_copy: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    folder = _feed(tmp_path / "f")
    archive = tmp_path / "feed.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for item in folder.iterdir():
            out.write(item, f"gtfs/{item.name}")
    args = ["ingest", "gtfs", str(archive), "--store", str(store_copy), "--feed-id", "demo"]
    assert main(args) == 0
    once = store_copy.read_bytes()
    assert main(args) == 0
    assert "nothing changed" in capsys.readouterr().err
    assert store_copy.read_bytes() == once
    not_a_feed = tmp_path / "feed.txt"
    not_a_feed.write_text("hello")
    assert main(["ingest", "gtfs", str(not_a_feed), "--store", str(store_copy)]) == 2
    assert "feed.txt: is neither a zip archive nor a folder" in capsys.readouterr().err
    assert store_copy.read_bytes() == once


def test_frequency_indicators_wait_for_a_feed_then_compute(
    store_copy: Path, broken_gtfs_zip: Path
) -> None:
    def runs() -> dict[str, tuple[str, str | None]]:
        con = connect_read(store_copy)
        try:
            return {r[0]: (r[1], r[2]) for r in con.execute(
                "SELECT indicator, status, message FROM indicator_runs").fetchall()}
        finally:
            con.close()

    names = ("sdg_11_2_1_frequent_transit_access_share", "transit_peak_departures_count")
    before = runs()
    for name in names:
        assert before[name][0] == "waiting" and "gtfs_" in (before[name][1] or "")
    assert main(["ingest", "gtfs", str(broken_gtfs_zip), "--store", str(store_copy),
                 "--feed-id", "hsl"]) == 0
    after = runs()
    assert all(after[name][0] == "ok" for name in names)
    con = connect_read(store_copy)
    values = dict(con.execute("SELECT indicator, value FROM indicator_results WHERE "
                              "resolution IS NULL AND indicator IN $n", {"n": list(names)}
                              ).fetchall())
    frequent = con.execute("SELECT count(DISTINCT poi_id) FROM walk_access_services WHERE "
                           "category LIKE 'frequent_transit%'").fetchall()[0][0]
    con.close()
    assert frequent > 0
    assert 0 <= values["sdg_11_2_1_frequent_transit_access_share"] <= 100
    assert values["transit_peak_departures_count"] > 0


@pytest.mark.slow
def test_the_gtfs_indicators_on_spark_equal_duckdb(store_copy: Path, broken_gtfs_zip: Path,
                                                   tmp_path: Path) -> None:
    """The three definitions the demo cannot run (they wait for a feed), on Spark against
    DuckDB on the same store with a feed: every period, resolution and cell equal."""
    pytest.importorskip("pyspark", reason="the Spark extra (`uv sync --extra spark`)")
    from observatory.snapshots import copy_store
    from observatory.spark.compare import differences, results_of

    assert main(["ingest", "gtfs", str(broken_gtfs_zip), "--store", str(store_copy),
                 "--feed-id", "hsl"]) == 0
    names = ["sdg_11_2_1_frequent_transit_access_share",
             "sdg_11_2_1_frequent_transit_access_uncertain_share",
             "transit_peak_departures_count"]
    spark_store = copy_store(store_copy, tmp_path / "spark" / "copy.duckdb")
    assert main(["indicators", "compute", *names, "--engine", "spark", "--master", "local[2]",
                 "--store", str(spark_store)]) == 0
    duck, spark = results_of(store_copy, names), results_of(spark_store, names)
    assert spark.height == duck.height > 0 and spark["indicator"].n_unique() == 3
    assert differences(duck, spark).is_empty()
