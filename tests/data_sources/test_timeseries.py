"""Sensor time series: real Seattle series, and hand-made files for every kind of problem."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from observatory.build import ingest_into
from observatory.cli import main
from observatory.errors import InputError, SourceFileError
from observatory.store import connect_in_place

HEADER = "station,time,lat,lon,pm25\n"


def _csv(tmp_path: Path, rows: list[str], name: str = "readings.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(f"{r}\n" for r in rows))
    return path


def _load(con: duckdb.DuckDBPyConnection, path: Path, **extra: object):
    options = {"time": "time", "value": "pm25", "variable": "pm25", "unit": "ug/m3",
               "station": "station", "lat": "lat", "lon": "lon", **extra}
    return ingest_into(con, "timeseries", path, options=options)


def _ten_minutes(station: str, hours: int, *, start_hour: int = 0) -> list[str]:
    return [f"{station},2024-01-01T{(start_hour + m // 6):02d}:{(m % 6) * 10:02d}:00Z,"
            f"60.17,24.94,{5 + m % 6}" for m in range(hours * 6)]


def test_real_hourly_series_in_fahrenheit(empty_con: duckdb.DuckDBPyConnection,
                                          seattle_temps_csv: Path) -> None:
    record = ingest_into(empty_con, "timeseries", seattle_temps_csv, options={
        "time": "date", "value": "temp", "variable": "temperature", "unit": "°F",
        "station_id": "seattle", "station_lat": 47.61, "station_lon": -122.33,
        "tz": "America/Los_Angeles"})
    assert record.row_counts["sensor_readings"] == 8758
    assert record.notes == "temperature in °C (converted from °F)"
    first = empty_con.execute("SELECT time, value FROM sensor_readings ORDER BY time LIMIT 1"
                              ).fetchall()[0]
    assert first[0].isoformat().startswith("2010-01-01T08:00:00")  # midnight in Seattle
    assert first[1] == pytest.approx((39.4 - 32) * 5 / 9)
    # 02:00 on 14 March 2010 did not exist in Seattle (daylight saving time began)
    assert any("line 1732; raw_time '2010/03/14 02:00'" in i for i in record.issues)


def test_a_wide_file_takes_one_call_per_column(empty_con: duckdb.DuckDBPyConnection,
                                               seattle_weather_csv: Path) -> None:
    for column in ("temp_max", "temp_min"):
        ingest_into(empty_con, "timeseries", seattle_weather_csv, options={
            "time": "date", "value": column, "variable": column, "unit": "°C",
            "station_id": "seattle"})
    rows = empty_con.execute("SELECT variable, count(*), round(avg(value), 2) FROM "
                             "sensor_readings GROUP BY 1 ORDER BY 1").fetchall()
    assert rows == [("temp_max", 1461, 16.44), ("temp_min", 1461, 8.23)]


def test_duplicates_impossible_values_and_gaps_are_reported(
    empty_con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    rows = _ten_minutes("S1", 2) + ["S1,2024-01-01T00:10:00Z,60.17,24.94,99",  # duplicate
                                    "S1,2024-01-01T05:00:00Z,60.17,24.94,-4"]  # gap, negative
    record = _load(empty_con, _csv(tmp_path, rows))
    issues = "\n".join(record.issues)
    assert "1 row with an impossible pm25 value (outside 0..1000 µg/m³) (line 15" in issues
    assert "1 row repeating a station and time already read (line 14; station_id 'S1')" in issues
    assert "1 gap longer than 3× the usual interval; the longest is 3:10:00 at station S1" in issues
    flags = dict(empty_con.execute("SELECT quality, count(*) FROM sensor_readings GROUP BY 1"
                                   ).fetchall())
    assert flags == {"ok": 12, "duplicate": 1, "impossible": 1}  # kept, never dropped


def test_unparseable_rows_are_listed_and_skipped(empty_con: duckdb.DuckDBPyConnection,
                                                 tmp_path: Path) -> None:
    rows = _ten_minutes("S1", 1) + ["S1,yesterday,60.17,24.94,5", "S1,2024-01-01T02:00:00Z,"
                                    "60.17,24.94,n/a", "S1,2024-01-01T03:00:00Z,60.17,24.94,"]
    record = _load(empty_con, _csv(tmp_path, rows))
    issues = "\n".join(record.issues)
    assert "1 row with a time that cannot be parsed (line 8; raw_time 'yesterday')" in issues
    assert "1 row with a value that is not a number (line 9; raw_value 'n/a')" in issues
    assert "1 row with no value (line 10" in issues
    assert record.row_counts["sensor_readings"] == 6


def test_hourly_aggregation(empty_con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    _load(empty_con, _csv(tmp_path, _ten_minutes("S1", 2) + _ten_minutes("S2", 1)))
    rows = empty_con.execute("SELECT s.station_id, h.hour, h.mean, h.min, h.max, h.n FROM "
                             "sensor_readings_hourly h JOIN sensor_series s USING (series_id) "
                             "ORDER BY 1, 2").fetchall()
    assert [(r[0], r[2], r[3], r[4], r[5]) for r in rows] == [
        ("S1", 7.5, 5, 10, 6), ("S1", 7.5, 5, 10, 6), ("S2", 7.5, 5, 10, 6)]


def test_bad_station_places_are_flagged(store_copy: Path, tmp_path: Path) -> None:
    rows = (_ten_minutes("OK", 1) + [r.replace("60.17", "8.17") for r in _ten_minutes("TYPO", 1)]
            + [r.replace("24.94", "324.94") for r in _ten_minutes("BAD", 1)])
    con = connect_in_place(store_copy)
    record = _load(con, _csv(tmp_path, rows), variable="pm10")
    flags = dict(con.execute("SELECT station_id, location_flag FROM sensor_series "
                             "WHERE source_id = $s", {"s": record.source_id}).fetchall())
    unplaced = con.execute("SELECT count(*) FROM sensor_readings WHERE source_id = $s AND "
                           "h3_cell IS NULL", {"s": record.source_id}).fetchall()[0][0]
    con.close()
    assert flags == {"OK": "ok", "TYPO": "outside_area", "BAD": "impossible"}
    assert unplaced == 12
    assert any("1 station outside the study area" in i for i in record.issues)


@pytest.mark.parametrize(("options", "error", "message"), [
    ({"time": "tme"}, SourceFileError, r"line 1: no column `tme` \(given by --time\)\. "
     r"Did you mean `time`\?"),
    ({"unit": "K"}, InputError, r"--unit `K` cannot be converted to µg/m³ for variable `pm25`"),
])
def test_wrong_columns_and_units_are_refused(empty_con: duckdb.DuckDBPyConnection,
                                             tmp_path: Path, options: dict[str, str],
                                             error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        _load(empty_con, _csv(tmp_path, _ten_minutes("S1", 1)), **options)


def test_parquet_and_idempotent_cli(store_copy: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    frame = pl.read_csv(_csv(tmp_path, _ten_minutes("S1", 3)))
    parquet = tmp_path / "readings.parquet"
    frame.write_parquet(parquet)
    args = ["ingest", "timeseries", str(parquet), "--store", str(store_copy), "--time", "time",
            "--value", "pm25", "--variable", "pm25", "--unit", "µg/m³", "--station", "station",
            "--lat", "lat", "--lon", "lon"]
    assert main(args) == 0
    once = store_copy.read_bytes()
    assert main(args) == 0 and "nothing changed" in capsys.readouterr().err
    assert store_copy.read_bytes() == once
    assert main([*args[:-2], "--lon", "longitude"]) == 2
    assert "no column `longitude`" in capsys.readouterr().err
    assert store_copy.read_bytes() == once
