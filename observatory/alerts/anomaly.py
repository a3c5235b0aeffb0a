"""Anomaly rules: the latest value of an indicator outside its forecast's 95 % interval.

Forecasts come from `indicator_forecasts(indicator, area_kind, area_id, period, step, mean,
lo80, hi80, lo95, hi95, model, computed_at)`; actual values from `indicator_series` when
it exists, else from `indicator_results` (whole area; districts are resolution-7 cells).
Without a forecast the rule waits and says so.
"""

from __future__ import annotations

import duckdb
import polars as pl

from observatory.alerts.conditions import Compiled, period_bounds
from observatory.alerts.tables import has_table
from observatory.registry import Registry
from observatory.store import read_frame

NO_FORECAST = "no forecast yet (the forecasts step has not written `indicator_forecasts`)"

_ACTUALS_FROM_RESULTS = """
SELECT indicator, CASE WHEN resolution IS NULL THEN 'whole' ELSE 'district' END AS area_kind,
       CASE WHEN resolution IS NULL THEN 'whole' ELSE h3_hex(h3_cell) END AS area_id,
       CASE WHEN resolution IS NULL THEN 'whole area' ELSE 'district ' || h3_hex(h3_cell) END
           AS area_name, period, value
FROM indicator_results WHERE resolution IS NULL OR resolution = 7
"""
_ACTUALS_FROM_SERIES = """
SELECT indicator, area_kind, CAST(area_id AS VARCHAR) AS area_id,
       CAST(area_name AS VARCHAR) AS area_name, period, value
FROM indicator_series
"""
_LATEST_AGAINST_FORECAST = """
WITH actual AS ({actuals}),
latest AS (
    SELECT * FROM actual WHERE indicator IN (SELECT unnest($names)) AND value IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY indicator, area_kind, area_id
                               ORDER BY period DESC) = 1
),
forecast AS (
    SELECT indicator, area_kind, CAST(area_id AS VARCHAR) AS area_id, period, lo95, hi95
    FROM indicator_forecasts
    WHERE indicator IN (SELECT unnest($names))
    QUALIFY row_number() OVER (PARTITION BY indicator, area_kind, area_id, period
                               ORDER BY step, computed_at DESC) = 1
)
SELECT l.indicator, l.area_kind, l.area_id, l.area_name, l.period, l.value,
       f.lo95, f.hi95
FROM latest AS l
LEFT JOIN forecast AS f
  ON f.indicator = l.indicator AND f.area_kind = l.area_kind AND f.period = l.period
 AND (l.area_kind = 'whole' OR f.area_id = l.area_id)
"""


def _latest(con: duckdb.DuckDBPyConnection, names: list[str]) -> pl.DataFrame:
    actuals = (_ACTUALS_FROM_SERIES if has_table(con, "indicator_series")
               else _ACTUALS_FROM_RESULTS)
    return read_frame(con, _LATEST_AGAINST_FORECAST.format(actuals=actuals), {"names": names})


def anomaly_conditions(con: duckdb.DuckDBPyConnection, items: list[Compiled],
                       registry: Registry) -> list[tuple[str, str, str]]:
    """One slot per area: its latest value against the forecast for that period. Returns
    the areas (kind, id, name), indexed by `place`."""
    for item in items:
        item.place_kind = "area"
        loaded = registry.specs.get(str(item.rule.indicator))
        item.unit = loaded.spec.unit_label if loaded else ""
        item.theme = item.rule.theme or (loaded.spec.theme if loaded else "data")
    if not has_table(con, "indicator_forecasts"):
        for item in items:
            item.status, item.message = "waiting", NO_FORECAST
        return []
    latest = _latest(con, sorted({str(i.rule.indicator) for i in items}))
    areas: list[tuple[str, str, str]] = []
    rows = []
    for item in items:
        mine = latest.filter((pl.col("indicator") == item.rule.indicator)
                             & (pl.col("area_kind") == (item.rule.place or "whole")))
        covered = mine.filter(pl.col("lo95").is_not_null() & pl.col("hi95").is_not_null())
        if covered.is_empty():
            period = mine["period"].max() if mine.height else None
            item.status, item.message = "waiting", (
                f"no forecast for the latest period ({period}) yet" if period
                else f"no values of `{item.rule.indicator}` yet")
            continue
        for row in covered.iter_rows(named=True):
            rows.append(_row(item, row, areas))
    if rows:
        frame = pl.DataFrame(rows).with_columns(
            pl.col("rule_id").cast(pl.Int32), pl.col("place", "slot").cast(pl.Int64))
        con.register("_alert_rows", frame.to_arrow())
        con.execute("INSERT INTO _alert_cond SELECT rule_id, place, slot, slot_start, slot_end, "
                    "value, threshold, breach, latest FROM _alert_rows")
        con.unregister("_alert_rows")
    return areas


def _row(item: Compiled, row: dict[str, object],
         areas: list[tuple[str, str, str]]) -> dict[str, object]:
    area = (str(row["area_kind"]), str(row["area_id"]), str(row["area_name"]))
    if area not in areas:
        areas.append(area)
    start, end = period_bounds(str(row["period"]))
    value, lo, hi = float(row["value"]), float(row["lo95"]), float(row["hi95"])
    return {"rule_id": item.rule_id, "place": areas.index(area), "slot": 1,
            "slot_start": start, "slot_end": end, "value": value,
            "threshold": hi if value > hi else lo, "breach": value > hi or value < lo,
            "latest": True}
