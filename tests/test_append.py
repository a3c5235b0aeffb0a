"""Live feeds append: new readings land as lake files, only what depends on them is
recomputed, and bad appends change nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest

from observatory.append import append_file
from observatory.build import compute_into
from observatory.cli import main
from observatory.errors import InputError, SourceFileError
from observatory.live import live_readings, tick
from observatory.snapshots import copy_store, current_snapshot
from observatory.store import connect_read, write_session
from observatory.watch import watch

PM25 = "timeseries:simulated_sensors:pm25"
HEADER = "time,station,lat,lon,pm25,no2,temperature\n"
SIM01 = "SIM-01,60.164927,24.947136"


def _stations(store: Path) -> dict[str, str]:
    con = connect_read(store)
    try:
        rows = con.execute("SELECT station_id, lat, lon FROM sensor_series WHERE source_id = $s",
                           {"s": PM25}).fetchall()
    finally:
        con.close()
    return {s: f"{s},{lat},{lon}" for s, lat, lon in rows}


def _csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text(header + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return path


def _query(store: Path, sql: str, params: dict[str, object] | None = None) -> list[tuple]:
    con = connect_read(store)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


def _digest(store: Path) -> str:
    snapshot = current_snapshot(store)
    assert snapshot is not None
    return hashlib.sha256(snapshot.read_bytes()).hexdigest()


def test_append_adds_new_rows_skips_known_ones_and_is_idempotent(store_copy: Path,
                                                                  tmp_path: Path) -> None:
    places = _stations(store_copy)
    before = _query(store_copy, "SELECT count(*) FROM sensor_readings WHERE source_id = $s",
                    {"s": PM25})[0][0]
    rows = [f"2024-12-31T23:00:00Z,{places['SIM-01']},1,1,1",  # already loaded
            f"2025-01-01T00:00:00Z,{places['SIM-01']},7.5,20,1",
            f"2025-01-01T00:00:00Z,{places['SIM-02']},8.5,20,1"]
    path = _csv(tmp_path / "gateway.csv", rows)
    report = append_file(store_copy, "timeseries", path, source_id=PM25)
    assert (report.rows_added, report.overlapping) == (2, 1)
    assert "already loaded" in report.issues[0] and "line 2" in report.issues[0]
    after = _query(store_copy, "SELECT count(*), max(time) FROM sensor_readings "
                               "WHERE source_id = $s", {"s": PM25})[0]
    assert after[0] == before + 2 and after[1].year == 2025
    assert report.indicators and all(name in report.indicators for name in
                                     ("pm25_annual_mean_ug_m3", "pm25_days_above_15_count"))
    digest = _digest(store_copy)
    again = append_file(store_copy, "timeseries", path, source_id=PM25)
    assert again.unchanged and again.rows_added == 0
    assert _digest(store_copy) == digest


def test_append_recomputes_only_the_years_touched_and_matches_a_full_compute(
        store_copy: Path, tmp_path: Path) -> None:
    places = _stations(store_copy)
    rows = [f"2024-06-0{d}T1{h}:30:00Z,{places[s]},{40 + d + h},30,15"
            for d in range(1, 4) for h in range(4) for s in ("SIM-02", "SIM-03")]
    stamps = dict(_query(store_copy, "SELECT period, max(computed_at) FROM indicator_results "
                                     "WHERE indicator = 'pm25_annual_mean_ug_m3' GROUP BY 1"))
    report = append_file(store_copy, "timeseries", _csv(tmp_path / "june.csv", rows),
                         source_id=PM25)
    assert report.years == ["2024"] and report.rows_added == 24
    new_stamps = dict(_query(store_copy, "SELECT period, max(computed_at) FROM "
                                         "indicator_results WHERE indicator = "
                                         "'pm25_annual_mean_ug_m3' GROUP BY 1"))
    assert new_stamps["2023"] == stamps["2023"] and new_stamps["2024"] > stamps["2024"]
    untouched = _query(store_copy, "SELECT count(DISTINCT computed_at) FROM indicator_results "
                                   "WHERE indicator = 'grocery_15min_walk_share'")[0][0]
    assert untouched == 1
    mismatched = _query(store_copy, """
        SELECT count(*) FROM (
            SELECT series_id, date_trunc('hour', time) AS hour, avg(value) AS mean, count(*) AS n
            FROM sensor_values WHERE flag IS NULL GROUP BY ALL) AS r
        FULL JOIN sensor_readings_hourly AS h USING (series_id, hour)
        WHERE h.n IS DISTINCT FROM r.n OR abs(h.mean - r.mean) > 1e-9""")[0][0]
    assert mismatched == 0  # the hourly aggregates kept up to date equal a recomputation
    daily_off = _query(store_copy, """
        SELECT count(*) FROM (
            SELECT series_id, CAST(timezone('UTC', hour) AS DATE) AS day, count(*) AS hours,
                   sum(mean) AS mean_sum, max("max") AS mx
            FROM sensor_readings_hourly GROUP BY ALL) AS h
        FULL JOIN sensor_readings_daily AS d USING (series_id, day)
        WHERE d.hours IS DISTINCT FROM h.hours OR abs(d.mean_sum - h.mean_sum) > 1e-6
           OR d."max" IS DISTINCT FROM h.mx""")[0][0]
    assert daily_off == 0  # and so do the daily ones
    full = copy_store(store_copy, tmp_path / "full" / "store.duckdb")
    with write_session(full) as con:  # independent recomputation: everything, all years
        compute_into(con)
    sql = ("SELECT indicator, period, resolution, h3_cell, value FROM indicator_results "
           "WHERE indicator IN (SELECT unnest($n)) ORDER BY ALL")
    ours, whole = (_query(s, sql, {"n": report.indicators}) for s in (store_copy, full))
    assert len(ours) == len(whole) > 0
    for a, b in zip(ours, whole, strict=True):
        assert a[:4] == b[:4] and (a[4] is None) == (b[4] is None)
        assert a[4] is None or abs(a[4] - b[4]) < 1e-9


@pytest.mark.parametrize(("case", "expected"), [
    ("unknown source", "no source `timeseries:nope` to append to; the timeseries sources are"),
    ("other unit", "--unit 'ppb' (the source has 'µg/m³')"),
    ("missing column", "no column `pm25` (given by --value)"),
    ("unknown station", "station SIM-99 not in source"),
    ("not a file", "not found"),
])
def test_a_bad_append_is_refused_and_changes_nothing(store_copy: Path, tmp_path: Path,
                                                     case: str, expected: str) -> None:
    good = f"2025-02-01T00:00:00Z,{SIM01},5,5,5"
    source, options, path = PM25, {}, _csv(tmp_path / "in.csv", [good])
    if case == "unknown source":
        source = "timeseries:nope"
    elif case == "other unit":
        options = {"unit": "ppb"}
    elif case == "missing column":
        path = _csv(tmp_path / "in.csv", [good], header="time,station,lat,lon,pm2_5,no2,t\n")
    elif case == "unknown station":
        path = _csv(tmp_path / "in.csv", [good.replace("SIM-01", "SIM-99")])
    else:
        path = tmp_path / "missing.csv"
    digest, files = _digest(store_copy), sorted(lake_files(store_copy))
    with pytest.raises((InputError, SourceFileError)) as error:
        append_file(store_copy, "timeseries", path, source_id=source, options=options)
    assert expected in str(error.value)
    assert _digest(store_copy) == digest
    assert sorted(lake_files(store_copy)) == files


def lake_files(store: Path) -> list[Path]:
    """Every file under the store's lake."""
    return [p for p in (store.with_name(store.name + ".d") / "lake").rglob("*") if p.is_file()]


def test_cli_append_exits_2_with_one_line(store_copy: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = _csv(tmp_path / "in.csv", [f"2025-02-01T00:00:00Z,{SIM01},5,5,5"])
    code = main(["ingest", "timeseries", str(path), "--store", str(store_copy), "--append",
                 "--source", "timeseries:nope"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.count("\n") == 1 and PM25 in err


def test_files_a_killed_append_left_are_collected_by_the_next_write(store_copy: Path) -> None:
    root = store_copy.with_name(store_copy.name + ".d") / "lake"
    orphan = root / "sensor_values" / "source=x" / "month=2025-01" / "orphan.parquet"
    orphan.parent.mkdir(parents=True)
    pl.DataFrame({"a": [1]}).write_parquet(orphan)
    (root / ".half.parquet.123.tmp").write_bytes(b"half")
    snapshots = store_copy.with_name(store_copy.name + ".d") / "snapshots"
    (snapshots / ".building-123-dead.duckdb").write_bytes(b"killed mid-build")
    with write_session(store_copy):
        pass
    assert not orphan.exists() and not (root / ".half.parquet.123.tmp").exists()
    assert not (snapshots / ".building-123-dead.duckdb").exists()
    assert _query(store_copy, "SELECT count(*) FROM sensor_readings")[0][0] > 0


def test_watch_takes_good_files_and_sets_bad_ones_aside(store_copy: Path,
                                                        tmp_path: Path) -> None:
    drop = tmp_path / "gateway"
    drop.mkdir()
    _csv(drop / "a.csv", [f"2025-03-01T00:00:00Z,{SIM01},5,5,5"])
    _csv(drop / "b.csv", ["not a time,SIM-01,60.1,24.9,5,5,5"], header="x,y\n")
    (drop / "c.csv.part").write_text("still being written")
    summary = watch(store_copy, drop, source_id=PM25, once=True)
    assert [r.rows_added for r in summary.appended] == [1]
    assert [name for name, _ in summary.rejected] == ["b.csv"]
    assert (drop / ".done" / "a.csv").exists() and (drop / "c.csv.part").exists()
    reason = (drop / ".rejected" / "b.csv.reason.txt").read_text()
    assert "no column `time`" in reason


def test_live_feed_appends_seeded_simulated_readings(store_copy: Path, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from observatory.live import demo_stations

    stations = demo_stations(store_copy)
    at = datetime(2026, 12, 1, 10, 1, 5, tzinfo=UTC)
    first, second = live_readings(stations, at), live_readings(stations, at)
    assert first.equals(second) and first.height == stations.height
    assert first.filter(pl.col("station") == "SIM-01")["no2"][0] >= 230  # minute 1: episode
    reports = tick(store_copy, stations, at=at, folder=tmp_path)
    assert [r.rows_added for r in reports] == [stations.height] * 3
    rows = _query(store_copy, "SELECT count(*), bool_and(s.simulated) FROM sensor_readings AS r "
                              "JOIN sources AS s USING (source_id) WHERE r.time = $t",
                  {"t": at})
    assert rows[0] == (3 * stations.height, True)


REQUESTS = "service_requests:simulated_service_requests"


def _open311(row: dict[str, object], **changes: object) -> dict[str, object]:
    item = {"service_request_id": row["request_id"], "service_name": row["service_name"],
            "status": row["status"], "lat": row["lat"], "long": row["lon"],
            "requested_datetime": row["requested_at"].isoformat(),  # type: ignore[union-attr]
            "updated_datetime": None}
    return {**item, **changes}


def test_service_requests_append_adds_new_updates_changed_and_skips_known(
        store_copy: Path, tmp_path: Path) -> None:
    import json

    con = connect_read(store_copy)
    try:
        open_rows = con.sql("SELECT * FROM service_requests WHERE source_id = $s AND "
                            "closed_at IS NULL AND flag IS NULL ORDER BY request_id LIMIT 2",
                            params={"s": REQUESTS}).pl().to_dicts()
        before = con.execute("SELECT count(*) FROM service_requests").fetchall()[0][0]
    finally:
        con.close()
    same, closing = open_rows
    new = _open311(same, service_request_id="NEW-1", requested_datetime="2024-12-30T10:00:00Z")
    path = tmp_path / "requests.json"
    path.write_text(json.dumps([
        _open311(same),
        _open311(closing, status="closed", updated_datetime="2024-12-31T09:00:00Z"), new]))
    report = append_file(store_copy, "service-requests", path, source_id=REQUESTS)
    assert (report.rows_added, report.overlapping) == (2, 1)
    assert any("changed since" in i and "line 2" in i for i in report.issues), report.issues
    assert "service_requests_open_count" in report.indicators
    rows = dict(_query(store_copy, "SELECT request_id, status FROM service_requests "
                                   "WHERE request_id IN ($a, $b)",
                       {"a": closing["request_id"], "b": "NEW-1"}))
    assert rows == {closing["request_id"]: "closed", "NEW-1": new["status"]}
    assert _query(store_copy, "SELECT count(*) FROM service_requests")[0][0] == before + 1
