"""Alerts on the demo store: the real (simulated) hourly NO2 series raises exactly the
episodes its data implies, and the operations page acknowledges an alert."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from observatory.alerts import list_alerts
from observatory.opsdb import ops_database
from observatory.settings import STORE_ENV
from observatory.store import connect_read, read_frame
from tests.signin import signed_in


def _expected_no2_episodes(con: duckdb.DuckDBPyConnection) -> list[tuple[str, object, int]]:
    """Independently: valid raw readings, hourly means above 200, consecutive hours joined."""
    raw = read_frame(
        con,
        "SELECT station_id, time, value FROM sensor_readings "
        "WHERE variable = 'no2' AND quality = 'ok'",
    )
    hours = (
        raw.with_columns(pl.col("time").dt.truncate("1h").alias("hour"))
        .group_by("station_id", "hour")
        .agg(pl.col("value").mean())
        .filter(pl.col("value") > 200)
        .sort("station_id", "hour")
    )
    episodes: list[tuple[str, object, int]] = []
    previous = None
    for station, hour in hours.select("station_id", "hour").iter_rows():
        if previous and previous[0] == station and hour - previous[1] == timedelta(hours=1):
            station_, start, length = episodes[-1]
            episodes[-1] = (station_, start, length + 1)
        else:
            episodes.append((station, hour, 1))
        previous = (station, hour)
    return episodes


def test_demo_no2_series_raises_exactly_its_episodes(helsinki_store: Path) -> None:
    con = connect_read(helsinki_store)
    try:
        expected = _expected_no2_episodes(con)
    finally:
        con.close()
    alerts = (
        list_alerts(ops_database(helsinki_store))
        .filter(pl.col("rule") == "no2_hourly_eu_limit")
        .with_columns(pl.col("place_id").str.split("/").list.first().alias("station"))
        .sort("station", "started_at")
    )
    assert len(expected) >= 3, "the demo has several NO2 episodes at SIM-01"
    got = list(alerts.select("station", "started_at", "slots").iter_rows())
    assert got == expected
    # an episode still going on at the newest hour has no end yet (the demo's current one)
    last = _newest_hours(helsinki_store)
    ongoing = [start + timedelta(hours=n - 1) == last[station] for station, start, n in expected]
    assert any(ongoing), "the demo ends in an NO2 episode that is still going on"
    assert (alerts["ended_at"] - alerts["started_at"]).to_list() == [
        None if now else timedelta(hours=n)
        for (_, _, n), now in zip(expected, ongoing, strict=True)
    ]


def _newest_hours(store: Path) -> dict[str, object]:
    """Each NO2 station's newest reading hour."""
    con = connect_read(store)
    try:
        return dict(con.execute(
            "SELECT station_id, date_trunc('hour', max(time)) FROM sensor_readings "
            "WHERE variable = 'no2' GROUP BY 1").fetchall())
    finally:
        con.close()


def test_demo_alerts_cover_staleness_and_service_targets(helsinki_store: Path) -> None:
    alerts = list_alerts(ops_database(helsinki_store))
    con = connect_read(helsinki_store)
    try:
        cadenced = con.execute(
            "SELECT count(*) FROM sources WHERE expected_cadence_days IS NOT NULL"
        ).fetchall()[0][0]
    finally:
        con.close()
    stale = alerts.filter(pl.col("rule") == "source_stale")
    assert stale.height == cadenced and set(stale["state"]) == {"firing"}
    target = alerts.filter(pl.col("rule") == "service_requests_on_time_target")
    assert target.height == 1 and target["threshold"][0] == 90


@pytest.mark.slow
def test_operations_page_acknowledges_an_alert(
    demo_copy: Path, app_script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STORE_ENV, str(demo_copy))
    at = signed_in(app_script, "operations", email="aino@city.example").run()
    at.switch_page("pages/operations/alerts.py").run()
    assert not at.exception and at.title[0].value == "Alerts"
    alert_id = at.selectbox(key="operations_alerts_pick").value
    at.radio(key="operations_alerts_action_kind").set_value("acknowledge")
    at.text_area(key="operations_alerts_comment").set_value("crew on the way")
    next(b for b in at.button if b.label == "Apply").click().run()
    assert not at.exception and not at.error
    assert any(f"Alert {alert_id}: acknowledge recorded" in s.value for s in at.success)
    row = list_alerts(ops_database(demo_copy)).filter(pl.col("id") == alert_id).row(0, named=True)
    assert (row["state"], row["acknowledged_by"], row["comment"]) == (
        "acknowledged",
        "aino@city.example",
        "crew on the way",
    )
    assert "acknowledged" in at.dataframe[0].value["state"].to_list()
    at.radio(key="operations_alerts_action_kind").set_value("resolve")
    at.text_area(key="operations_alerts_comment").set_value("  ")
    next(b for b in at.button if b.label == "Apply").click().run()
    assert not at.exception
    assert any("a comment saying why is required" in e.value for e in at.error)
