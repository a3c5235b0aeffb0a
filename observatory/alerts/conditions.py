"""Turn rules into condition rows: one row per rule, place and time slot, breaching or not.

Every kind writes the same relation, `_alert_cond(rule_id, place, slot, slot_start,
slot_end, value, threshold, breach)`, set-based (one query per kind for all its rules),
so a thousand rules cost about as much as one pass over the values they read.
`place` is a BIGINT: an H3 cell (0 for the whole area), a sensor series or a source index;
`slot` is an integer that grows by one from a slot to the next (periods of an indicator,
hours or days of readings), so consecutive breaching slots are one run. Only breaching
slots are kept, plus the latest slot of each place (which tells whether an episode is
still going on); for indicators that is the indicator's latest period, so a place without
a value for it keeps its episode open: nothing shows that it cleared.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import polars as pl

from observatory.alerts.spec import PLACE_RESOLUTION, RuleSpec
from observatory.alerts.tables import has_table
from observatory.registry import Registry
from observatory.targets import chosen_target

COND_SQL = """
CREATE OR REPLACE TEMP TABLE _alert_cond (
    rule_id INTEGER, place BIGINT, slot BIGINT, slot_start TIMESTAMPTZ,
    slot_end TIMESTAMPTZ, value DOUBLE, threshold DOUBLE, breach BOOLEAN, latest BOOLEAN)
"""


@dataclass
class Compiled:
    """A rule ready to evaluate: what it compares, in which unit, and whether it can run."""

    rule_id: int
    rule: RuleSpec
    place_kind: str  # cell | district | whole | station | source | area
    unit: str = ""
    threshold: float | None = None
    sign: float = 1.0  # +1: values above the threshold breach (larger is worse)
    theme: str = "data"
    status: str = "ok"
    message: str | None = None


def _register(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    con.register(name, frame.to_arrow())


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """Start and end (UTC) of a period label: 2024, 2024-Q1, 2024-03 or 2024-03-05."""
    if m := re.fullmatch(r"(\d{4})", period):
        year = int(m[1])
        return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", period):
        start = datetime(int(m[1]), 3 * int(m[2]) - 2, 1, tzinfo=UTC)
        return start, _add_months(start, 3)
    if m := re.fullmatch(r"(\d{4})-(\d{2})", period):
        start = datetime(int(m[1]), int(m[2]), 1, tzinfo=UTC)
        return start, _add_months(start, 1)
    day = dt.date.fromisoformat(period)
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + dt.timedelta(days=1)


def _add_months(start: datetime, months: int) -> datetime:
    index = start.month - 1 + months
    return start.replace(year=start.year + index // 12, month=index % 12 + 1)


def period_slots(con: duckdb.DuckDBPyConnection, indicators: list[str]) -> pl.DataFrame:
    """Every period of the named indicators, numbered in order, with its start and end."""
    rows = con.execute("SELECT DISTINCT indicator, period FROM indicator_results "
                       "WHERE indicator IN (SELECT unnest($names)) ORDER BY 1, 2",
                       {"names": indicators}).fetchall()
    records, counter = [], {}
    for indicator, period in rows:
        counter[indicator] = counter.get(indicator, 0) + 1
        start, end = period_bounds(period)
        records.append({"indicator": indicator, "period": period, "slot": counter[indicator],
                        "slot_start": start, "slot_end": end})
    frame = pl.DataFrame(records, schema={
        "indicator": pl.String, "period": pl.String, "slot": pl.Int64,
        "slot_start": pl.Datetime("us", "UTC"), "slot_end": pl.Datetime("us", "UTC")})
    return frame.with_columns(pl.col("slot").max().over("indicator").alias("last_slot"))


_INDICATOR_VALUES = """
    FROM _alert_ind_rules AS r
    JOIN indicator_results AS i
      ON i.indicator = r.indicator AND coalesce(i.resolution, -1) = r.res_key
    JOIN _alert_periods AS p ON p.indicator = i.indicator AND p.period = i.period
"""

THRESHOLD_SQL = f"""
INSERT INTO _alert_cond
SELECT * FROM (
    SELECT r.rule_id, coalesce(i.h3_cell, 0), p.slot, p.slot_start, p.slot_end, i.value,
           r.threshold, coalesce((i.value - r.threshold) * r.sign > 0, false) AS breach,
           p.slot = p.last_slot AS latest
    {_INDICATOR_VALUES}
    WHERE r.k = 0
) WHERE breach OR latest
"""

# Streaks are computed once per indicator, place kind and direction (not per rule): the
# number of consecutive worsening steps ending at each slot; rules then pick their `k`.
WORSENING_SQL = """
INSERT INTO _alert_cond
WITH base AS (SELECT DISTINCT indicator, res_key, sign FROM _alert_ind_rules WHERE k > 0),
v AS (
    SELECT b.indicator, b.res_key, b.sign, coalesce(i.h3_cell, 0) AS place, p.slot,
           p.slot_start, p.slot_end, p.last_slot, i.value,
           lag(p.slot) OVER w AS prev_slot, lag(i.value) OVER w AS prev_value
    FROM base AS b
    JOIN indicator_results AS i
      ON i.indicator = b.indicator AND coalesce(i.resolution, -1) = b.res_key
    JOIN _alert_periods AS p ON p.indicator = i.indicator AND p.period = i.period
    WHERE i.value IS NOT NULL
    WINDOW w AS (PARTITION BY b.indicator, b.res_key, b.sign, i.h3_cell ORDER BY p.slot)
),
s AS (
    SELECT *, slot - max(CASE WHEN prev_slot = slot - 1 AND (value - prev_value) * sign > 0
                              THEN NULL ELSE slot END)
                     OVER (PARTITION BY indicator, res_key, sign, place ORDER BY slot
                           ROWS UNBOUNDED PRECEDING) AS streak
    FROM v
)
SELECT r.rule_id, s.place, s.slot, s.slot_start, s.slot_end, s.value, r.k, s.streak >= r.k,
       s.slot = s.last_slot
FROM s JOIN _alert_ind_rules AS r
  ON r.indicator = s.indicator AND r.res_key = s.res_key AND r.sign = s.sign AND r.k > 0
WHERE s.streak >= r.k OR s.slot = s.last_slot
"""


def _indicator_rule_row(item: Compiled, registry: Registry) -> dict[str, object] | None:
    rule = item.rule
    loaded = registry.specs.get(str(rule.indicator))
    if loaded is None:
        item.status, item.message = "waiting", f"indicator `{rule.indicator}` is not valid"
        return None
    spec = loaded.spec
    item.unit, item.theme = spec.unit_label, rule.theme or spec.theme
    item.place_kind = rule.place or "whole"
    row = {"rule_id": item.rule_id, "indicator": spec.name,
           "res_key": PLACE_RESOLUTION[item.place_kind], "k": 0}
    if rule.kind == "threshold":
        item.sign = 1.0 if rule.above is not None else -1.0
        item.threshold = rule.above if rule.above is not None else rule.below
    elif rule.kind == "target_breach":
        target = chosen_target(list(spec.targets))
        if target is None or spec.direction == "neutral":
            item.status, item.message = "waiting", f"`{spec.name}` declares no usable target"
            return None
        item.threshold = target.value
        item.sign = 1.0 if spec.direction == "lower_is_better" else -1.0
    else:  # worsening
        item.sign = 1.0 if spec.direction == "lower_is_better" else -1.0
        item.threshold, row["k"] = float(rule.periods or 1), rule.periods
    return {**row, "threshold": item.threshold, "sign": item.sign}


def indicator_conditions(con: duckdb.DuckDBPyConnection, items: list[Compiled],
                         registry: Registry) -> None:
    """Condition rows of threshold, target and worsening rules on indicator values."""
    rows = [r for item in items if (r := _indicator_rule_row(item, registry)) is not None]
    if not rows:
        return
    rules = pl.DataFrame(rows, schema={
        "rule_id": pl.Int32, "indicator": pl.String, "res_key": pl.Int32, "k": pl.Int32,
        "threshold": pl.Float64, "sign": pl.Float64})
    _register(con, "_alert_ind_rules", rules)
    _register(con, "_alert_periods", period_slots(con, rules["indicator"].unique().to_list()))
    try:
        con.execute(THRESHOLD_SQL)
        con.execute(WORSENING_SQL)
    finally:
        con.unregister("_alert_ind_rules")
        con.unregister("_alert_periods")


READINGS_SQL = """
INSERT INTO _alert_cond
WITH slots AS (
    SELECT series_id, hour AS slot_start, INTERVAL 1 HOUR AS width,
           epoch(hour)::BIGINT // 3600 AS slot, mean AS value, 'hour' AS win
    FROM sensor_readings_hourly
    WHERE 'hour' IN (SELECT win FROM _alert_read_rules)
    UNION ALL
    SELECT series_id, date_trunc('day', hour) AS slot_start, INTERVAL 1 DAY,
           epoch(date_trunc('day', hour))::BIGINT // 86400, sum(mean * n) / sum(n), 'day'
    FROM sensor_readings_hourly
    WHERE 'day' IN (SELECT win FROM _alert_read_rules)
    GROUP BY ALL
)
SELECT * FROM (
    SELECT r.rule_id, s.series_id, s.slot, s.slot_start, s.slot_start + s.width, s.value,
           r.threshold, (s.value - r.threshold) * r.sign > 0 AS breach,
           s.slot = max(s.slot) OVER (PARTITION BY r.rule_id, s.series_id) AS latest
    FROM _alert_read_rules AS r
    JOIN sensor_series AS ss ON ss.variable = r.variable
    JOIN slots AS s ON s.series_id = ss.series_id AND s.win = r.win
) WHERE breach OR latest
"""


def reading_conditions(con: duckdb.DuckDBPyConnection, items: list[Compiled]) -> None:
    """Condition rows of threshold rules on station readings (hourly or daily means)."""
    if not has_table(con, "sensor_readings_hourly"):
        for item in items:
            item.status, item.message = "waiting", "no sensor readings loaded"
        return
    units = dict(con.execute("SELECT variable, any_value(unit) FROM sensor_series "
                             "GROUP BY 1").fetchall())
    rows = []
    for item in items:
        rule = item.rule
        item.place_kind, item.theme = "station", rule.theme or "climate"
        item.sign = 1.0 if rule.above is not None else -1.0
        item.threshold = rule.above if rule.above is not None else rule.below
        item.unit = units.get(rule.variable, "")
        if rule.variable not in units:
            item.status, item.message = "waiting", f"no readings of `{rule.variable}` loaded"
            continue
        rows.append({"rule_id": item.rule_id, "variable": rule.variable,
                     "win": rule.window or "hour", "threshold": item.threshold,
                     "sign": item.sign})
    if rows:
        _register(con, "_alert_read_rules", pl.DataFrame(rows))
        try:
            con.execute(READINGS_SQL)
        finally:
            con.unregister("_alert_read_rules")
