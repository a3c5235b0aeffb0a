"""Sensor readings as people really send them: odd time formats, unknown zones, impossible
and overflowing values, empty files, Latin-1 bytes and ragged rows. Each file is written
by the test; each mistake is either read correctly, or flagged and listed with its line,
or refused with the file, the line and how to fix it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from data_sources.units import CEILING, value_bounds
from observatory.append import append_file
from observatory.build import ingest_into
from observatory.cli import main
from observatory.errors import InputError, SourceFileError
from observatory.store import connect_read, init_schema
from observatory.timeparse import SAMPLE_ROWS

HEADER = "station,time,lat,lon,value\n"
OPTIONS = {"time": "time", "value": "value", "variable": "pm25", "unit": "ug/m3",
           "station": "station", "lat": "lat", "lon": "lon"}


def _csv(tmp_path: Path, rows: list[str], name: str = "readings.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return path


def _rows(times: list[str], values: list[str] | None = None) -> list[str]:
    values = values or ["5"] * len(times)
    return [f"S1,{t},60.17,24.94,{v}" for t, v in zip(times, values, strict=True)]


def _load(con: duckdb.DuckDBPyConnection, path: Path, **extra: object):
    return ingest_into(con, "timeseries", path, options={**OPTIONS, **extra})


def _times(con: duckdb.DuckDBPyConnection) -> list[datetime]:
    return [r[0] for r in con.execute("SELECT time FROM sensor_readings ORDER BY time")
            .fetchall()]


def _quality(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return dict(con.execute("SELECT quality, count(*) FROM sensor_readings GROUP BY 1")
                .fetchall())


def _cli(tmp_path: Path, path: Path, *extra: str) -> list[str]:
    return ["ingest", "timeseries", str(path), "--store", str(tmp_path / "store.duckdb"),
            "--time", "time", "--value", "value", "--station", "station", "--lat", "lat",
            "--lon", "lon", "--variable", "pm25", "--unit", "ug/m3", *extra]


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- times ---------------------------------------------------------------------------


def test_slashes_months_and_day_first_dates_are_read(empty_con: duckdb.DuckDBPyConnection,
                                                     tmp_path: Path) -> None:
    _load(empty_con, _csv(tmp_path, _rows(["31/01/2024 08:00", "01/02/2024 09:30",
                                           "13/02/2024 10:00"])))
    assert _times(empty_con) == [_utc(2024, 1, 31, 8), _utc(2024, 2, 1, 9, 30),
                                 _utc(2024, 2, 13, 10)]


def test_ambiguous_dates_need_a_date_format(empty_con: duckdb.DuckDBPyConnection,
                                            tmp_path: Path) -> None:
    path = _csv(tmp_path, _rows(["01/02/2024 08:00", "03/04/2024 08:00"]))
    with pytest.raises(InputError, match=r"readings\.csv, column `time`: dates such as "
                       r"'01/02/2024 08:00' could be day-first or month-first; give "
                       r"--date-format"):
        _load(empty_con, path)
    _load(empty_con, path, date_format="%m/%d/%Y %H:%M")
    assert _times(empty_con) == [_utc(2024, 1, 2, 8), _utc(2024, 3, 4, 8)]


def test_date_format_is_a_cli_flag(tmp_path: Path) -> None:
    path = _csv(tmp_path, _rows(["01/02/2024 08:00", "01/02/2024 09:00"]))
    assert main(_cli(tmp_path, path, "--date-format", "%d/%m/%Y %H:%M")) == 0
    con = connect_read(tmp_path / "store.duckdb")
    try:
        assert _times(con) == [_utc(2024, 2, 1, 8), _utc(2024, 2, 1, 9)]
    finally:
        con.close()


def test_rows_the_sample_plan_misses_are_read_with_every_rule(
    empty_con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """The plan comes from the first SAMPLE_ROWS rows (all `…Z` here); later rows written
    otherwise are still read, naive ones as local time in --tz."""
    start = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
    zulu = [datetime.fromtimestamp(start + 60 * i, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            for i in range(SAMPLE_ROWS)]
    late = ["2024-03-01T12:00:00+02:00", "2024/03/02 12:00", "2024-03-03 12:00:00.5",
            "2024-03", "nonsense"]
    record = _load(empty_con, _csv(tmp_path, _rows(zulu + late)), tz="Europe/Helsinki")
    times = _times(empty_con)
    assert times[0] == _utc(2024, 1, 1)  # `Z` is UTC whatever --tz says
    assert times[-4:] == [_utc(2024, 2, 29, 22), _utc(2024, 3, 1, 10), _utc(2024, 3, 2, 10),
                          _utc(2024, 3, 3, 10, 0, 0, 500_000)]  # 2024-03: midnight, local
    unreadable = [i for i in record.issues if "time that cannot be parsed" in i]
    assert len(unreadable) == 1
    assert f"1 row with a time that cannot be parsed (line {SAMPLE_ROWS + 6}; raw_time " \
           "'nonsense'); skipped; times are read as ISO 8601" in unreadable[0]


def test_unreadable_times_name_the_first_bad_line_and_value(
    empty_con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    rows = _rows(["2024-01-01 00:00", "2024-01-01 01:00", "tomorrow", "2024-13-45 00:00",
                  "2024-01-01 02:00"])
    record = _load(empty_con, _csv(tmp_path, rows))
    assert any("2 rows with a time that cannot be parsed (line 4, 5; raw_time 'tomorrow', "
               "'2024-13-45 00:00')" in i for i in record.issues)
    assert record.row_counts["sensor_readings"] == 3


def test_a_file_with_no_readable_row_is_refused(empty_con: duckdb.DuckDBPyConnection,
                                                tmp_path: Path) -> None:
    with pytest.raises(SourceFileError, match=r"readings\.csv: no row has both a readable "
                       r"time and a number: .*line 2, 3; raw_time 'soon', 'later'"):
        _load(empty_con, _csv(tmp_path, _rows(["soon", "later"])))


def test_an_unknown_time_zone_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    path = _csv(tmp_path, _rows(["2024-01-01T00:00:00Z"]))
    assert main(_cli(tmp_path, path, "--tz", "Mars/Olympus")) == 2
    err = capsys.readouterr().err
    assert "--tz 'Mars/Olympus' is not a time zone; give an IANA name" in err
    assert "internal error" not in err


# --- values --------------------------------------------------------------------------


def test_negative_concentrations_of_an_unknown_variable_are_flagged_by_unit(
    empty_con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    rows = _rows(["2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 02:00",
                  "2024-01-01 03:00"], ["4", "-2", "7", "-0.5"])
    record = _load(empty_con, _csv(tmp_path, rows), variable="bg_no2", unit="ug/m3")
    assert any("2 rows with an impossible bg_no2 value (outside 0..1e+15 µg/m³: a "
               "concentration cannot be negative) (line 3, 5; value '-2.0', '-0.5'); kept, "
               "flagged `impossible`" in i for i in record.issues)
    assert _quality(empty_con) == {"ok": 2, "impossible": 2}


@pytest.mark.parametrize(("unit", "values", "lines"), [
    ("%", ["50", "100", "100.5", "-1"], "line 4, 5"),
    ("ppb", ["3", "2e9", "0", "-3"], "line 3, 5"),
    ("#/cm3", ["12000", "-1", "0", "5"], "line 3"),
    ("count", ["3", "-1", "0", "-7"], "line 3, 5"),
    ("min", ["3", "-1", "0", "2"], "line 3"),
    ("K", ["-1", "280", "0", "300"], "line 2"),
])
def test_physical_bounds_follow_from_the_unit(empty_con: duckdb.DuckDBPyConnection,
                                              tmp_path: Path, unit: str, values: list[str],
                                              lines: str) -> None:
    times = [f"2024-01-01 0{h}:00" for h in range(4)]
    record = _load(empty_con, _csv(tmp_path, _rows(times, values)), variable="reading",
                   unit=unit)
    flagged = [i for i in record.issues if "impossible reading value" in i]
    assert len(flagged) == 1 and f"({lines};" in flagged[0]


def test_infinite_overflowing_and_nan_readings_are_flagged_and_listed(
    empty_con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    times = [f"2024-01-01 0{h}:00" for h in range(6)]
    values = ["5", "inf", "NaN", "1e308", "-inf", "6"]
    for con, variable, unit in ((empty_con, "pm25", "ug/m3"), (_fresh(), "mystery", "furlong")):
        record = _load(con, _csv(tmp_path, _rows(times, values), name=f"{variable}.csv"),
                       variable=variable, unit=unit)
        issues = "\n".join(record.issues)
        assert "3 rows with an impossible" in issues
        assert "(line 3, 5, 6; value 'inf', '1e+308', '-inf'); kept, flagged `impossible`" \
            in issues
        assert "1 row with the value NaN (not a number) (line 4; value 'NaN'); kept, flagged " \
            "`missing`, left out of indicators" in issues
    assert _quality(empty_con) == {"ok": 2, "impossible": 3, "missing": 1}
    hourly = empty_con.execute("SELECT count(*), max(max) FROM sensor_readings_hourly"
                               ).fetchall()[0]
    assert hourly == (2, 6)  # only the two real readings reach the aggregates


def _fresh() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    init_schema(con)
    return con


def _span(variable: str, unit: str) -> tuple[float, float]:
    bounds = value_bounds(variable, unit)
    return bounds.low, bounds.high


def test_bounds_table() -> None:
    assert _span("humidity", "%") == (0, 100)
    assert _span("pm25", "µg/m³") == (0, 1000)  # the variable's range is tighter
    assert _span("bg_no2", "µg/m3") == (0, CEILING)
    assert _span("x", "ppm") == (0, 1e6)
    assert _span("x", "°C") == (-273.15, CEILING)
    assert _span("x", "furlong") == (-CEILING, CEILING)


# --- files ---------------------------------------------------------------------------


def test_a_header_only_file_is_refused(tmp_path: Path, empty_con: duckdb.DuckDBPyConnection,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = _csv(tmp_path, [])
    assert main(_cli(tmp_path, path)) == 2
    assert "readings.csv: no readings: the file has a header (line 1) but no data rows" \
        in capsys.readouterr().err
    parquet = tmp_path / "empty.parquet"
    pl.read_csv(path, infer_schema=False).write_parquet(parquet)
    with pytest.raises(SourceFileError, match="no readings"):
        _load(empty_con, parquet)


def test_latin1_bytes_exit_2_with_the_line(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "readings.csv"
    path.write_bytes((HEADER + "S1,2024-01-01T00:00:00Z,60.17,24.94,5\n").encode()
                     + "Töölö,2024-01-01T01:00:00Z,60.17,24.94,5\n".encode("latin-1"))
    assert main(_cli(tmp_path, path)) == 2
    err = capsys.readouterr().err
    assert "readings.csv line 3: byte 0xf6 is not UTF-8 (the line reads 'Töölö,2024-01-01T" \
        "01:00:00Z,60.17,24.94,5' as Latin-1). Save the file as UTF-8" in err
    assert "internal error" not in err


def test_a_row_with_extra_fields_exits_2_with_the_line(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    path = _csv(tmp_path, _rows(["2024-01-01 00:00", "2024-01-01 01:00"])
                + ["S1,2024-01-01 02:00,60.17,24.94,5,6"])
    assert main(_cli(tmp_path, path)) == 2
    err = capsys.readouterr().err
    assert "readings.csv line 4: 6 fields where the header has 5 ('S1,2024-01-01 02:00," \
        "60.17,24.94,5,6'). Remove the extra fields, or quote values that contain a comma." \
        in err
    assert "internal error" not in err


# --- appends -------------------------------------------------------------------------

APPEND_HEADER = "time,station,lat,lon,pm25,no2,temperature\n"
SIM01 = "SIM-01,60.164927,24.947136"
PM25 = "timeseries:simulated_sensors:pm25"


def test_appends_read_flag_and_refuse_like_a_full_load(store_copy: Path,
                                                       tmp_path: Path) -> None:
    rows = [f"2025-03-01T00:00:00Z,{SIM01},-3,5,5", f"2025-03-01T01:00:00Z,{SIM01},NaN,5,5",
            f"2025/03/01 02:00,{SIM01},1e308,5,5", f"later,{SIM01},4,5,5",
            f"2025-03-01T03:00:00+00:00,{SIM01},4,5,5"]
    path = tmp_path / "gateway.csv"
    path.write_text(APPEND_HEADER + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    report = append_file(store_copy, "timeseries", path, source_id=PM25)
    issues = "\n".join(report.issues)
    assert report.rows_added == 4
    assert "2 rows with an impossible pm25 value (outside 0..1000 µg/m³) (line 2, 4; value " \
        "'-3.0', '1e+308')" in issues
    assert "1 row with the value NaN (not a number) (line 3;" in issues
    assert "1 row with a time that cannot be parsed (line 5; raw_time 'later')" in issues
    con = connect_read(store_copy)
    try:
        quality = dict(con.execute("SELECT quality, count(*) FROM sensor_readings WHERE "
                                   "source_id = $s AND time >= '2025-03-01' GROUP BY 1",
                                   {"s": PM25}).fetchall())
    finally:
        con.close()
    assert quality == {"impossible": 2, "missing": 1, "ok": 1}

    latin = tmp_path / "latin.csv"
    latin.write_bytes(APPEND_HEADER.encode() + f"2025-03-02T00:00:00Z,{SIM01},5,5,5 °C\n"
                      .encode("latin-1"))
    empty = tmp_path / "empty.csv"
    empty.write_text(APPEND_HEADER, encoding="utf-8")
    for bad, message in ((latin, "latin.csv line 2: byte 0xb0 is not UTF-8"),
                         (empty, "empty.csv: no readings")):
        with pytest.raises(SourceFileError, match=message):
            append_file(store_copy, "timeseries", bad, source_id=PM25)
