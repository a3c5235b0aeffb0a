"""Condition rows of the data-feed rules: stale sources and silent sensors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import polars as pl

from observatory.alerts.conditions import Compiled
from observatory.alerts.tables import has_table


def stale_conditions(con: duckdb.DuckDBPyConnection, items: list[Compiled], *,
                     now: datetime) -> list[str]:
    """One slot per source with a declared cadence: breaching when its newest data is older
    than the cadence (plus grace). Returns the source ids, indexed by `place`."""
    sources = con.execute("SELECT source_id, data_as_of, expected_cadence_days FROM sources "
                          "ORDER BY source_id").fetchall()
    ids = [row[0] for row in sources]
    rows = []
    for item in items:
        item.place_kind, item.unit, item.theme = "source", "days", item.rule.theme or "data"
        wanted, before = set(item.rule.sources or ids), len(rows)
        for place, (source_id, as_of, cadence) in enumerate(sources):
            if source_id not in wanted or cadence is None or as_of is None:
                continue
            limit = cadence + item.rule.grace_days
            as_of = as_of.astimezone(UTC)
            due = as_of + timedelta(days=limit)
            age = (now - as_of).total_seconds() / 86_400
            rows.append({"rule_id": item.rule_id, "place": place, "slot": 1,
                         "slot_start": due, "slot_end": max(now, due), "value": round(age, 2),
                         "threshold": float(limit), "breach": now > due, "latest": True})
        if len(rows) == before:
            item.status, item.message = "waiting", "no source declares an expected cadence"
    if rows:
        frame = pl.DataFrame(rows).with_columns(
            pl.col("rule_id").cast(pl.Int32), pl.col("place").cast(pl.Int64),
            pl.col("slot").cast(pl.Int64),
            pl.col("slot_start", "slot_end").dt.convert_time_zone("UTC"))
        con.register("_alert_rows", frame.to_arrow())
        con.execute("INSERT INTO _alert_cond SELECT rule_id, place, slot, slot_start, slot_end, "
                    "value, threshold, breach, latest FROM _alert_rows")
        con.unregister("_alert_rows")
    return ids


# The condition rows of silences, from `h` (rule_id, hours, series_id, hour, slot,
# next_hour): shared with the incremental evaluation (observatory/alerts/incremental.py).
SILENT_ROWS = """
SELECT * FROM (
    SELECT rule_id, series_id, slot, hour + INTERVAL 1 HOUR,
           greatest(coalesce(next_hour, $now), hour + INTERVAL 1 HOUR),
           epoch(coalesce(next_hour, $now) - hour - INTERVAL 1 HOUR) / 3600.0,
           hours, epoch(coalesce(next_hour, $now) - hour - INTERVAL 1 HOUR) / 3600.0 >= hours
               AS breach,
           next_hour IS NULL AS latest
    FROM h
) WHERE breach OR latest
"""
SILENT_SQL = """
INSERT INTO _alert_cond
WITH h AS (
    SELECT r.rule_id, r.hours, v.series_id, v.hour,
           row_number() OVER (PARTITION BY r.rule_id, v.series_id ORDER BY v.hour) AS slot,
           lead(v.hour) OVER (PARTITION BY r.rule_id, v.series_id ORDER BY v.hour) AS next_hour
    FROM _alert_silent_rules AS r
    JOIN sensor_series AS s ON r.variable IS NULL OR s.variable = r.variable
    JOIN sensor_readings_hourly AS v  -- one row per series and hour by construction
      ON v.series_id = s.series_id
)
""" + SILENT_ROWS


def silent_conditions(con: duckdb.DuckDBPyConnection, items: list[Compiled], *,
                      now: datetime) -> None:
    """One slot per reading hour of each series: the silence that follows it (until the
    next reading, or until now after the last one) breaches when it lasts `hours` or more."""
    for item in items:
        item.place_kind, item.unit, item.theme = "station", "hours", item.rule.theme or "data"
        item.threshold = item.rule.hours
    if not has_table(con, "sensor_readings_hourly"):
        for item in items:
            item.status, item.message = "waiting", "no sensor readings loaded"
        return
    frame = pl.DataFrame([{"rule_id": i.rule_id, "variable": i.rule.variable,
                           "hours": float(i.rule.hours or 0)} for i in items],
                         schema={"rule_id": pl.Int32, "variable": pl.String,
                                 "hours": pl.Float64})
    con.register("_alert_silent_rules", frame.to_arrow())
    try:
        con.execute(SILENT_SQL, {"now": now})
    finally:
        con.unregister("_alert_silent_rules")
