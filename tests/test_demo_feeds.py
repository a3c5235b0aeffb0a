"""A living demo: the simulated feeds run up to the demo date, the same date gives the same
bytes, and the last weeks hold current episodes that raise open alerts: PM2.5 and NO2
above the shipped thresholds, a service-request backlog above its limit and past its
targets. The session's store is pinned (tests/conftest.py DEMO_DATE); `living_store` is
built for today, as `observatory demo` builds it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from observatory.alerts import list_alerts
from observatory.alerts.loader import alerts_dir, load_rules
from observatory.build import build_store, demo_date_of
from observatory.cli import main
from observatory.datasets import known_datasets
from observatory.demo_feeds import BACKLOG_DAYS, demo_as_of, sensor_frame, service_requests
from observatory.errors import InputError
from observatory.live import demo_episodes, demo_stations, live_readings
from observatory.opsdb import ops_database
from observatory.registry import load_registry
from observatory.roles import Role
from observatory.settings import DEMO_DATE_ENV, demo_date, indicators_dir
from observatory.store import connect_read, read_frame
from observatory.views.trends import what_changed
from tests.conftest import DEMO_DATE

TARGET_DAYS = {"Snow clearance": 1, "Litter": 3}  # else 7: service_requests_on_time_share.yml


def _today() -> dt.date:
    return datetime.now(UTC).date()


@pytest.fixture(scope="module")
def living_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[dt.date]]:
    """A demo store built as `observatory demo` builds it: no date given, none in the
    environment, so the feeds run up to today (UTC). Returned with the dates it may have
    been built for (the build may straddle midnight)."""
    path = tmp_path_factory.mktemp("living") / "store.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(DEMO_DATE_ENV, raising=False)
        before = _today()
        build_store(path)
    return path, {before, _today()}


def _rule(name: str) -> float:
    rule = load_rules(alerts_dir()).rules[name]
    assert rule.above is not None
    return rule.above


def _open_alerts(store: Path, rule: str) -> pl.DataFrame:
    alerts = list_alerts(ops_database(store), state="firing")
    return alerts.filter(pl.col("rule") == rule)


def test_the_demo_date_is_pinned_by_the_flag_the_environment_or_today(
        monkeypatch: pytest.MonkeyPatch) -> None:
    today = dt.date(2026, 12, 1)
    monkeypatch.delenv(DEMO_DATE_ENV, raising=False)
    assert demo_date(today=today) == today
    monkeypatch.setenv(DEMO_DATE_ENV, "2025-01-01")
    assert demo_date(today=today) == dt.date(2025, 1, 1)
    assert demo_date("2026-03-04", today=today) == dt.date(2026, 3, 4)  # the flag wins
    with pytest.raises(InputError, match=r"--as-of '2026-3-4x': not a date; give it as "):
        demo_date("2026-3-4x", today=today)
    with pytest.raises(InputError, match=r"2026-12-02: after today \(2026-12-01, UTC\)"):
        demo_date("2026-12-02", today=today)
    monkeypatch.setenv(DEMO_DATE_ENV, "next week")
    with pytest.raises(InputError, match=rf"\${DEMO_DATE_ENV} 'next week': not a date"):
        demo_date(today=today)


def test_the_demo_command_refuses_a_bad_date_and_reuses_a_store_of_that_date(
        store_copy: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(DEMO_DATE_ENV, raising=False)
    before = store_copy.resolve().read_bytes()
    args = ["demo", "--no-serve", "--store", str(store_copy)]
    assert main([*args, "--as-of", "2025-02-30"]) == 2
    assert "--as-of '2025-02-30': not a date" in capsys.readouterr().err
    assert main([*args, "--as-of", DEMO_DATE.isoformat()]) == 0
    assert "Reusing the store" in capsys.readouterr().err
    with connect_read(store_copy) as con:  # recorded by the build, not a fallback
        assert demo_as_of(con) == DEMO_DATE
    assert store_copy.resolve().read_bytes() == before  # nothing rebuilt
    assert main(args) == 0  # today's date, not pinned: reused, saying how to catch up
    assert f"feeds end on {DEMO_DATE}" in capsys.readouterr().err


def test_the_same_date_gives_the_same_feeds_byte_for_byte(helsinki_store: Path) -> None:
    con = connect_read(helsinki_store)
    try:
        first = sensor_frame(con, as_of=DEMO_DATE).write_csv()
        again = sensor_frame(con, as_of=DEMO_DATE).write_csv()
        requests = json.dumps(service_requests(con, as_of=DEMO_DATE))
        requests_again = json.dumps(service_requests(con, as_of=DEMO_DATE))
        later = sensor_frame(con, as_of=DEMO_DATE + timedelta(days=30))
    finally:
        con.close()
    assert first == again and requests == requests_again
    # and the same bytes as ever, whatever today is (a golden digest of the pinned date)
    assert hashlib.sha256(first.encode()).hexdigest()[:16] == "e00649353ab9caae"
    assert hashlib.sha256(requests.encode()).hexdigest()[:16] == "d00b8fa36fbf7b30"
    assert later["time"].max() == "2025-01-30T23:00:00Z"
    assert pl.read_csv(first.encode())["time"].max() == "2024-12-31T23:00:00Z"


def test_history_stays_the_same_for_every_build_date_of_a_year(helsinki_store: Path) -> None:
    """Readings already shown do not move when the demo is rebuilt a few weeks later."""
    con = connect_read(helsinki_store)
    try:
        june = sensor_frame(con, as_of=dt.date(2025, 6, 1))
        july = sensor_frame(con, as_of=dt.date(2025, 7, 1))
    finally:
        con.close()
    before = "2025-05-20T00:00:00Z"  # before either build's episodes
    assert june.filter(pl.col("time") < before).equals(july.filter(pl.col("time") < before))


def test_the_episodes_change_nothing_before_the_last_weeks(
        helsinki_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    con = connect_read(helsinki_store)
    try:
        lively = sensor_frame(con, as_of=DEMO_DATE)
        requests = service_requests(con, as_of=DEMO_DATE)
        monkeypatch.setattr("observatory.demo_feeds.current_episodes", lambda *a, **k: [])
        monkeypatch.setattr("observatory.demo_feeds.BACKLOG_SLOWDOWN", 1.0)
        monkeypatch.setattr("observatory.demo_feeds.SURGE_PER_DAY", 0.0)
        calm = sensor_frame(con, as_of=DEMO_DATE)
        calm_requests = service_requests(con, as_of=DEMO_DATE)
    finally:
        con.close()
    week = (DEMO_DATE - timedelta(days=7)).isoformat()
    assert lively.filter(pl.col("time") < week).equals(calm.filter(pl.col("time") < week))
    assert not lively.equals(calm)
    weeks = (DEMO_DATE - timedelta(days=BACKLOG_DAYS)).isoformat()
    early = [r for r in requests if r["requested_datetime"] < weeks]
    assert early == [r for r in calm_requests if r["requested_datetime"] < weeks]
    assert len(requests) > len(calm_requests)  # the surge


@pytest.mark.slow
def test_a_build_runs_up_to_its_date(living_store: tuple[Path, set[dt.date]]) -> None:
    store, dates = living_store
    as_of = demo_date_of(store)
    assert as_of in dates
    midnight = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
    con = connect_read(store)
    try:
        newest = con.execute("SELECT source_id, max(time) FROM sensor_readings GROUP BY 1"
                             ).fetchall()
        (requested,), = con.execute("SELECT max(requested_at) FROM service_requests"
                                    ).fetchall()
        sources = con.execute("SELECT source_id, path FROM sources WHERE simulated").fetchall()
    finally:
        con.close()
    assert len(newest) == 3 and all(
        midnight - timedelta(hours=1) <= time < midnight for _, time in newest), newest
    assert midnight - timedelta(days=1) <= requested < midnight
    assert len(sources) == 4 and all(f"up to {as_of}" in path for _, path in sources)


@pytest.mark.slow
def test_an_air_quality_episode_in_the_last_week_raises_open_alerts(
        living_store: tuple[Path, set[dt.date]]) -> None:
    store, _ = living_store
    con = connect_read(store)
    try:
        hourly = read_frame(con, "SELECT s.variable, s.station_id AS station, h.hour, h.mean "
                            "FROM sensor_readings_hourly AS h JOIN sensor_series AS s "
                            "USING (series_id) WHERE s.variable IN ('no2', 'pm25')")
    finally:
        con.close()
    last_hour = hourly["hour"].max()
    week = (last_hour - timedelta(days=7)).astimezone(UTC)
    no2 = hourly.filter((pl.col("variable") == "no2") & (pl.col("hour") == last_hour)
                        & (pl.col("mean") > _rule("no2_hourly_eu_limit")))
    daily = (hourly.filter(pl.col("variable") == "pm25")
             .group_by("station", pl.col("hour").dt.truncate("1d").alias("day"))
             .agg(pl.col("mean").mean()))
    pm25 = daily.filter((pl.col("day") == daily["day"].max())
                        & (pl.col("mean") > _rule("pm25_daily_who_guideline")))
    assert no2.height >= 2 and pm25.height >= 2, (no2, pm25)  # a few stations, still going on
    for rule, breaching in (("no2_hourly_eu_limit", no2), ("pm25_daily_who_guideline", pm25)):
        alerts = _open_alerts(store, rule)
        stations = sorted(p.split("/")[0] for p in alerts["place_id"])
        assert stations == sorted(breaching["station"]), rule
        assert (alerts["started_at"] >= week).all(), rule  # current, not history


@pytest.mark.slow
def test_a_service_request_backlog_breaches_its_limit_and_targets(
        living_store: tuple[Path, set[dt.date]]) -> None:
    store, _ = living_store
    con = connect_read(store)
    try:
        requests = read_frame(con, "SELECT service_name, requested_at, closed_at "
                              "FROM service_requests WHERE flag IS NULL")
        (open_now,), = con.execute(
            "SELECT value FROM indicator_results WHERE resolution IS NULL AND indicator = "
            "'service_requests_open_count' ORDER BY period DESC LIMIT 1").fetchall()
        registry = load_registry(indicators_dir(), known_inputs=known_datasets(con))
        changed = what_changed(con, registry, role=Role.OFFICIALS)
    finally:
        con.close()
    now = requests["requested_at"].max()
    target = pl.duration(days=pl.col("service_name").replace_strict(TARGET_DAYS, default=7))
    due = requests.filter(pl.col("requested_at") >= now - timedelta(days=BACKLOG_DAYS),
                          pl.col("requested_at") + target < now)
    late = due.filter(pl.col("closed_at").is_null()
                      | (pl.col("closed_at") > pl.col("requested_at") + target))
    assert late.height > 0.8 * due.height, (late.height, due.height)  # past their targets
    limit = _rule("service_requests_backlog_limit")
    assert requests.filter(pl.col("closed_at").is_null()).height > limit
    assert open_now > limit  # the indicator the rule reads agrees
    alert = _open_alerts(store, "service_requests_backlog_limit")
    assert alert.height == 1 and alert["value"][0] == open_now
    verdicts = dict(changed.select("name", "assessment").iter_rows())
    assert verdicts["service_requests_open_count"] == "worse"
    assert verdicts["service_requests_on_time_share"] == "worse"


def test_the_live_feed_carries_on_the_episodes_of_the_history(helsinki_store: Path) -> None:
    stations = demo_stations(helsinki_store)
    episodes = demo_episodes(helsinki_store, stations)
    midnight = datetime(DEMO_DATE.year, DEMO_DATE.month, DEMO_DATE.day, tzinfo=UTC)
    con = connect_read(helsinki_store)
    try:
        ended_high = {s for s, in con.execute(
            "SELECT s.station_id FROM sensor_readings_hourly AS h JOIN sensor_series AS s "
            "USING (series_id) WHERE s.variable = 'no2' AND h.hour = $h AND h.mean > 200",
            {"h": midnight - timedelta(hours=1)}).fetchall()}
    finally:
        con.close()

    def high(at: datetime, variable: str, limit: float, **kwargs: object) -> set[str]:
        frame = live_readings(stations, at, **kwargs)  # type: ignore[arg-type]
        return set(frame.filter(pl.col(variable) > limit)["station"])

    after = midnight + timedelta(minutes=5)  # minute 5: not SIM-01's every-ten-minutes episode
    assert ended_high and high(after, "no2", 200, episodes=episodes) == ended_high
    assert high(after, "no2", 200) == set()  # without them the air is clean
    smog = {e.station for e in episodes if e.variable == "pm25"}
    noon = midnight + timedelta(hours=12, minutes=5)
    assert len(smog) == 3 and smog <= high(noon, "pm25", 15, episodes=episodes)
    evening = midnight + timedelta(hours=19, minutes=5)  # every episode is over
    assert live_readings(stations, evening, episodes=episodes).equals(
        live_readings(stations, evening))
