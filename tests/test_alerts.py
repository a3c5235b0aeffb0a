"""Alert rules on hand-made series whose alerts are known, and the alert lifecycle
(each test on SQLite and PostgreSQL: the `ops` fixture of tests/conftest_ops.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from observatory.alerts import (
    AlertActionError,
    RuleSet,
    RuleSpec,
    acknowledge,
    act,
    alert_trail,
    evaluate,
    list_alerts,
    resolve,
)
from observatory.opsdb import OpsDB
from observatory.opsdb.schema import alert_events, alerts
from observatory.registry import Registry
from observatory.registry.spec import IndicatorSpec, LoadedSpec
from observatory.store import connect_in_place, connect_read, init_schema

NOW = datetime(2025, 1, 10, tzinfo=UTC)
START = datetime(2025, 1, 1, tzinfo=UTC)
# whole-area values 2015..2024; above 10 in 2016-17, 2019-21, 2023-24
LEVELS = [5, 12, 13, 4, 15, 16, 17, 3, 11, 12]
# 1,2,3 rising (2017 worsens twice in a row), then 2021-2023 rise again
RISING = [1, 2, 3, 1, 2, 1, 2, 3, 4, 0]
NO2_PEAKS = {5: 250.0, 6: 230.0, 7: 210.0, 20: 205.0, 46: 220.0, 47: 240.0}


def _spec(name: str, *, direction: str = "lower_is_better") -> LoadedSpec:
    spec = IndicatorSpec(
        name=name,
        label=name,
        description="test",
        theme="services",
        unit="count",
        direction=direction,
        inputs=["study_cells"],
        sql=f"{name}.sql",
        aggregation="sum",
        owner="t",
        method={"standard": "test"},
        targets=[{"value": 10, "by": "2030-12-31", "source": "test"}],
    )
    return LoadedSpec(spec=spec, path=Path(f"{name}.yml"), query="", definition_hash="t")


@pytest.fixture
def registry() -> Registry:
    registry = Registry(folder=Path("t"))
    for name in ("levels_count", "rising_count"):
        registry.specs[name] = _spec(name)
    return registry


def _write_store(path: Path) -> None:
    con = connect_in_place(path)
    init_schema(con)
    for name, values in (("levels_count", LEVELS), ("rising_count", RISING)):
        for year, value in zip(range(2015, 2025), values, strict=True):
            con.execute(
                "INSERT INTO indicator_results VALUES ($n, $p, NULL, NULL, $v, NULL, "
                "NULL, now(), 'h')",
                {"n": name, "p": str(year), "v": value},
            )
    con.execute(
        "CREATE TABLE sensor_series AS SELECT 1::BIGINT AS series_id, 'S1' AS "
        "station_id, 60.17 AS lat, 24.94 AS lon, 'ok' AS location_flag, "
        "621798483770966015::BIGINT AS h3_cell, 'src' AS source_id, 'no2' AS variable, "
        "'µg/m³' AS unit"
    )
    hours = [h for h in range(48) if not 25 <= h <= 31]  # readings stop for 7 hours
    frame = pl.DataFrame(
        {
            "series_id": [1] * len(hours),
            "hour": [START + timedelta(hours=h) for h in hours],
            "mean": [NO2_PEAKS.get(h, 40.0) for h in hours],
            "min": [0.0] * len(hours),
            "max": [0.0] * len(hours),
            "n": [1] * len(hours),
        }
    )
    con.register("f", frame.to_arrow())
    con.execute("CREATE TABLE sensor_readings_hourly AS SELECT * FROM f")
    con.execute(
        "INSERT INTO sources VALUES ('late', 't', 'p', 'CC0', NULL, 'x', now(), $old, "
        "'{}', false, false, 7, '[]', NULL, '{}'), ('fresh', 't', 'p', 'CC0', NULL, "
        "'x', now(), $new, '{}', false, false, 7, '[]', NULL, '{}')",
        {"old": NOW - timedelta(days=10), "new": NOW - timedelta(days=2)},
    )
    con.close()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "hand.duckdb"
    _write_store(path)
    return path


def _rules(*rules: RuleSpec) -> RuleSet:
    ruleset = RuleSet(folder=Path("t"))
    for rule in rules:
        ruleset.rules[rule.name] = rule
    return ruleset


def _rule(name: str, kind: str, **fields: object) -> RuleSpec:
    return RuleSpec(
        name=name,
        kind=kind,
        severity="warning",
        owner="ops",
        message="{place}: {value} (limit {threshold})",
        **fields,
    )


def _run(
    store: Path, registry: Registry, ops: OpsDB, *rules: RuleSpec, now: datetime = NOW
) -> pl.DataFrame:
    con = connect_in_place(store)
    try:
        evaluate(con, _rules(*rules), registry, ops=ops, now=now)
    finally:
        con.close()
    names = [rule.name for rule in rules]
    return list_alerts(ops).filter(pl.col("rule").is_in(names)).sort("started_at")


def _count(ops: OpsDB, table: sa.Table) -> int:
    with ops.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _years(frame: pl.DataFrame) -> list[tuple[int, int | None]]:
    return [
        (s.year, e.year if e else None)
        for s, e in zip(frame["started_at"], frame["ended_at"], strict=True)
    ]


def test_threshold_on_whole_area_values(store: Path, registry: Registry, ops: OpsDB) -> None:
    alerts = _run(
        store,
        registry,
        ops,
        _rule("high", "threshold", indicator="levels_count", place="whole", above=10),
    )
    assert _years(alerts) == [(2016, 2018), (2019, 2022), (2023, None)]
    assert alerts["state"].to_list() == ["resolved", "resolved", "firing"]
    assert alerts["peak"].to_list() == [13, 17, 12] and alerts["value"].to_list()[-1] == 12


def test_pending_drops_short_runs_and_keep_firing_merges_gaps(
    store: Path, registry: Registry, ops: OpsDB
) -> None:
    pending = _run(
        store, registry, ops, _rule("p", "threshold", indicator="levels_count", above=10, pending=3)
    )
    assert _years(pending) == [(2019, 2022)]
    assert pending["fired_at"][0].year == 2021  # the third breaching year confirmed it
    kept = _run(
        store,
        registry,
        ops,
        _rule("k", "threshold", indicator="levels_count", above=10, keep_firing=2),
    )
    assert _years(kept) == [(2016, None)] and kept["state"][0] == "firing"


def test_target_breach_uses_the_declared_target(
    store: Path, registry: Registry, ops: OpsDB
) -> None:
    alerts = _run(store, registry, ops, _rule("t", "target_breach", indicator="levels_count"))
    assert _years(alerts) == [(2016, 2018), (2019, 2022), (2023, None)]
    assert set(alerts["threshold"].to_list()) == {10.0}


def test_worsening_for_k_periods_in_a_row(store: Path, registry: Registry, ops: OpsDB) -> None:
    alerts = _run(
        store, registry, ops, _rule("w", "worsening", indicator="rising_count", periods=2)
    )
    assert _years(alerts) == [(2017, 2018), (2022, 2024)]
    assert alerts["state"].to_list() == ["resolved", "resolved"]


def test_hourly_threshold_on_a_station(store: Path, registry: Registry, ops: OpsDB) -> None:
    alerts = _run(
        store,
        registry,
        ops,
        _rule("no2", "threshold", variable="no2", window="hour", place="station", above=200),
    )
    starts = [(a - START) / timedelta(hours=1) for a in alerts["started_at"]]
    assert starts == [5, 20, 46]
    assert alerts["slots"].to_list() == [3, 1, 2] and alerts["peak"].to_list() == [250, 205, 240]
    assert alerts["state"].to_list() == ["resolved", "resolved", "firing"]
    assert alerts["place"][0] == "station S1 (no2)" and alerts["h3_hex"][0] is not None


def test_daily_mean_threshold(store: Path, registry: Registry, ops: OpsDB) -> None:
    alerts = _run(
        store, registry, ops, _rule("d", "threshold", variable="no2", window="day", above=50)
    )
    day_one = (40 * 20 + 250 + 230 + 210 + 205) / 24
    assert alerts.height == 1 and alerts["peak"][0] == pytest.approx(day_one)


def test_sensor_silent_for_n_hours(store: Path, registry: Registry, ops: OpsDB) -> None:
    alerts = _run(store, registry, ops, _rule("s", "sensor_silent", hours=6))
    assert alerts.height == 2
    gap, trailing = alerts.row(0, named=True), alerts.row(1, named=True)
    assert gap["started_at"] == START + timedelta(hours=25) and gap["value"] == 7
    assert gap["state"] == "resolved" and trailing["state"] == "firing"
    assert trailing["started_at"] == START + timedelta(hours=48)


def test_stale_source_fires_then_resolves_when_data_arrives(
    store: Path, registry: Registry, ops: OpsDB
) -> None:
    rule = _rule("stale", "stale_source")
    alerts = _run(store, registry, ops, rule)
    assert alerts["place_id"].to_list() == ["late"] and alerts["state"][0] == "firing"
    con = connect_in_place(store)
    con.execute(
        "UPDATE sources SET data_as_of = $d WHERE source_id = 'late'",
        {"d": NOW - timedelta(days=1)},
    )
    con.close()
    again = _run(store, registry, ops, rule)
    assert again["state"].to_list() == ["resolved"] and again["resolved_by"][0] == "system"


def test_anomaly_waits_for_a_forecast_then_compares(
    store: Path, registry: Registry, ops: OpsDB
) -> None:
    rule = _rule("a", "anomaly", indicator="levels_count", place="whole")
    con = connect_in_place(store)
    result = evaluate(con, _rules(rule), registry, ops=ops, now=NOW)
    assert result.statuses[0]["status"] == "waiting"
    assert "no forecast yet" in str(result.statuses[0]["message"])
    con.execute(
        "CREATE TABLE indicator_forecasts (indicator VARCHAR, area_kind VARCHAR, "
        "area_id VARCHAR, period VARCHAR, step INTEGER, mean DOUBLE, lo80 DOUBLE, "
        "hi80 DOUBLE, lo95 DOUBLE, hi95 DOUBLE, model VARCHAR, computed_at TIMESTAMPTZ)"
    )
    con.execute(
        "INSERT INTO indicator_forecasts VALUES ('levels_count', 'whole', 'whole', "
        "'2024', 1, 6, 5, 7, 4, 8, 'test', now()), ('levels_count', 'whole', 'whole', "
        "'2025', 1, 6, 5, 7, 4, 8, 'test', now())"
    )
    result = evaluate(con, _rules(rule), registry, ops=ops, now=NOW)
    alerts = list_alerts(ops)
    con.close()
    assert result.statuses[0]["status"] == "ok"
    assert alerts.height == 1 and alerts["value"][0] == 12 and alerts["threshold"][0] == 8


def test_reevaluation_is_idempotent(store: Path, registry: Registry, ops: OpsDB) -> None:
    rules = (
        _rule("high", "threshold", indicator="levels_count", above=10),
        _rule("s", "sensor_silent", hours=6),
    )
    con = connect_in_place(store)
    first = evaluate(con, _rules(*rules), registry, ops=ops, now=NOW)
    events = _count(ops, alert_events)
    second = evaluate(con, _rules(*rules), registry, ops=ops, now=NOW)
    assert first.inserted == 5 and second.inserted == 0 and second.resolved == 0
    assert _count(ops, alert_events) == events
    assert list_alerts(ops).height == 5
    con.close()


def test_lifecycle_ack_then_auto_resolve(store: Path, registry: Registry, ops: OpsDB) -> None:
    rule = _rule("high", "threshold", indicator="levels_count", above=10)
    con = connect_in_place(store)
    evaluate(con, _rules(rule), registry, ops=ops, now=NOW)
    open_id = list_alerts(ops, state="firing")["id"][0]
    acknowledge(ops, open_id, by="Aino", comment="crew sent", now=NOW)
    row = list_alerts(ops, state="acknowledged").row(0, named=True)
    assert (row["acknowledged_by"], row["comment"]) == ("Aino", "crew sent")
    con.execute("UPDATE indicator_results SET value = 2 WHERE period = '2024'")
    evaluate(con, _rules(rule), registry, ops=ops, now=NOW)
    row = list_alerts(ops).filter(pl.col("id") == open_id).row(0, named=True)
    assert row["state"] == "resolved" and row["resolved_by"] == "system"
    trail = alert_trail(ops, open_id)["action"].to_list()
    assert trail == ["fired", "acknowledged", "auto_resolved"]
    con.close()


def test_manual_resolve_needs_a_comment_and_stays_resolved(
    store: Path, registry: Registry, ops: OpsDB
) -> None:
    rule = _rule("high", "threshold", indicator="levels_count", above=10)
    con = connect_in_place(store)
    evaluate(con, _rules(rule), registry, ops=ops, now=NOW)
    open_id = list_alerts(ops, state="firing")["id"][0]
    with pytest.raises(AlertActionError, match="comment"):
        resolve(ops, open_id, by="Aino", comment="")
    resolve(ops, open_id, by="Aino", comment="sensor moved", now=NOW)
    evaluate(con, _rules(rule), registry, ops=ops, now=NOW)  # the episode goes on: no duplicate
    assert list_alerts(ops).height == 3 and list_alerts(ops, state="firing").is_empty()
    with pytest.raises(AlertActionError, match="no alert with id 999"):
        acknowledge(ops, 999, by="Aino")
    con.close()


def test_refused_action_leaves_the_database_as_it_was(
    store: Path, registry: Registry, ops: OpsDB
) -> None:
    _run(store, registry, ops, _rule("high", "threshold", indicator="levels_count", above=10))
    before = list_alerts(ops), _count(ops, alert_events)
    with pytest.raises(AlertActionError):
        act(ops, "resolve", 1, by="Aino", comment="  ")
    with pytest.raises(AlertActionError, match="unknown action"):
        act(ops, "snooze", 1, by="Aino")
    assert list_alerts(ops).equals(before[0]) and _count(ops, alert_events) == before[1]
    act(ops, "assign", 3, to="street-team", by="Aino", via="cli")
    assert list_alerts(ops).filter(pl.col("id") == 3)["assignee"][0] == "street-team"
    assert alert_trail(ops, 3)["via"].to_list()[-1] == "cli"
    with ops.read() as conn:  # the store's analytical file holds no alert table at all
        assert conn.execute(sa.select(sa.func.count()).select_from(alerts)).scalar_one() == 3
    con = connect_read(store)
    assert not con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'alert%'"
    ).fetchall()[0][0]
    con.close()


def test_reevaluation_keeps_what_people_did(store: Path, registry: Registry, ops: OpsDB) -> None:
    rules = (_rule("high", "threshold", indicator="levels_count", above=10),)
    _run(store, registry, ops, *rules)
    open_id = list_alerts(ops, state="firing")["id"][0]
    acknowledge(ops, open_id, by="Aino", comment="crew sent", now=NOW)
    act(ops, "assign", open_id, to="street-team", by="Aino", now=NOW)
    act(ops, "comment", open_id, by="Eero", comment="still high", now=NOW)
    before, events = list_alerts(ops), _count(ops, alert_events)
    for _ in range(2):
        _run(store, registry, ops, *rules)
    assert list_alerts(ops).equals(before) and _count(ops, alert_events) == events
    row = before.filter(pl.col("id") == open_id).row(0, named=True)
    assert (row["state"], row["acknowledged_by"], row["assignee"], row["comment"]) == (
        "acknowledged",
        "Aino",
        "street-team",
        "still high",
    )
