"""Trend views: history, forecast, target status and district comparison per indicator.

They read what the build's forecast step wrote (indicator_series, indicator_forecasts,
indicator_backtests, indicator_status, district_cells); nothing is fitted here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import polars as pl

from observatory.registry import Registry
from observatory.roles import Role
from observatory.store import read_frame, table_names
from observatory.views.indicators import (
    chosen_target,
    headline_specs,
    indicator_catalogue,
    visible_spec,
    visible_specs,
)
from observatory.views.model import CellMap, Provenance
from observatory.views.provenance import provenance_for_tables, read_sources

TREND_TABLES = ("indicator_series", "indicator_forecasts", "indicator_backtests",
                "indicator_status")
DISTRICT_TABLES = ("districts", "district_cells")


@dataclass(frozen=True)
class Trend:
    """One indicator in one area: history, forecast, backtest and target status."""

    name: str
    label: str
    area_name: str
    unit_label: str
    direction: str
    history: pl.DataFrame  # period, value
    forecast: pl.DataFrame  # period, step, mean, lo80, hi80, lo95, hi95, model
    status: dict[str, object] = field(default_factory=dict)
    backtest: dict[str, object] = field(default_factory=dict)
    provenance: Provenance | None = None


def has_trends(con: duckdb.DuckDBPyConnection, registry: Registry | None = None, *,
               role: Role | None = None) -> bool:
    """Whether the forecast step has run on this store."""
    del registry, role  # the same answer for everybody
    return set(TREND_TABLES) <= set(table_names(con))


def headline_provenance(con: duckdb.DuckDBPyConnection, registry: Registry, *,
                        role: Role) -> Provenance:
    """The sources behind the headline indicators `role` may see, together."""
    inputs = sorted({i for s in headline_specs(registry, role=role) for i in s.spec.inputs})
    return provenance_for_tables(con, inputs, unit_label="per indicator (see the table)")


def trend_catalogue(con: duckdb.DuckDBPyConnection, registry: Registry, *, role: Role,
                    headline_only: bool = False) -> pl.DataFrame:
    """Indicators with results, those with a forecast first (pickers open on a trend)."""
    frame = indicator_catalogue(con, registry, role=role, headline_only=headline_only,
                                with_results=True)
    forecast = forecast_backtests(con, registry, role=role).filter(
        pl.col("model").is_not_null())["indicator"].to_list()
    return frame.with_columns(pl.col("name").is_in(forecast).alias("_forecast")).sort(
        "_forecast", descending=True, maintain_order=True).drop("_forecast")


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object]) -> pl.DataFrame:
    return read_frame(con, sql, params)


def officials_scorecard(con: duckdb.DuckDBPyConnection, registry: Registry, *,
                        role: Role) -> pl.DataFrame:
    """Headline indicators: latest value, change, target, status, probability, sparkline,
    theme, and whether the data behind each is modelled or simulated."""
    chosen = headline_specs(registry, role=role)
    names = [s.spec.name for s in chosen]
    series = _rows(con, "SELECT indicator AS name, period, value FROM indicator_series "
                   "WHERE area_kind = 'whole' AND indicator IN $n ORDER BY name, period",
                   {"n": names})
    status = _rows(con, "SELECT indicator AS name, status, probability, reason "
                   "FROM indicator_status WHERE area_kind = 'whole' AND indicator IN $n",
                   {"n": names})
    models = _rows(con, "SELECT indicator AS name, model FROM indicator_backtests "
                   "WHERE area_kind = 'whole' AND indicator IN $n", {"n": names})
    rows, known = [], read_sources(con)
    for loaded in chosen:
        spec = loaded.spec
        history = series.filter(pl.col("name") == spec.name)
        values, periods = history["value"].to_list(), history["period"].to_list()
        target = chosen_target(list(spec.targets))
        sources = provenance_for_tables(con, spec.inputs, unit_label=spec.unit_label,
                                        sources=known)
        latest = periods[-1] if periods else None
        rows.append({
            "period_label": period_label(latest, sources.data_as_of,
                                         series=len(periods) > 1),
            "name": spec.name, "label": spec.label_in("en"), "unit_label": spec.unit_label,
            "unit": spec.unit, "theme": spec.theme, "modelled": sources.modelled,
            "simulated": sources.simulated,
            "direction": spec.direction, "period": periods[-1] if periods else None,
            "value": values[-1] if values else None,
            "previous_period": periods[-2] if len(periods) > 1 else None,
            "change": values[-1] - values[-2] if len(values) > 1 and None not in values[-2:]
            else None,
            "target_value": target.value if target else None,
            "target_by": target.by.isoformat() if target else None,
            "target_source": target.source if target else None, "sparkline": values})
    frame = pl.DataFrame(rows, schema={
        "name": pl.String, "label": pl.String, "unit_label": pl.String, "unit": pl.String,
        "theme": pl.String,
        "modelled": pl.Boolean, "simulated": pl.Boolean, "direction": pl.String,
        "period": pl.String, "value": pl.Float64, "previous_period": pl.String,
        "change": pl.Float64, "target_value": pl.Float64, "target_by": pl.String,
        "target_source": pl.String, "sparkline": pl.List(pl.Float64),
        "period_label": pl.String})
    return (frame.join(status, on="name", how="left").join(models, on="name", how="left")
            .with_columns(pl.col("status").fill_null("no forecast")))


def indicator_trend(con: duckdb.DuckDBPyConnection, registry: Registry, name: str, *,
                    role: Role, area_id: str = "all") -> Trend:
    """History and forecast of one indicator for the whole area or one district."""
    spec = visible_spec(registry, name, role=role).spec
    params = {"n": spec.name, "a": area_id}
    history = _rows(con, "SELECT period, value, area_name FROM indicator_series "
                    "WHERE indicator = $n AND area_id = $a ORDER BY period", params)
    forecast = _rows(con, "SELECT period, step, mean, lo80, hi80, lo95, hi95, model "
                     "FROM indicator_forecasts WHERE indicator = $n AND area_id = $a "
                     "AND step >= 1 ORDER BY step", params)  # step 0 checks the latest value
    status = _rows(con, "SELECT target_value, target_by, probability, status, thresholds, "
                   "reason FROM indicator_status WHERE indicator = $n AND area_id = $a", params)
    backtest = _rows(con, "SELECT model, mase, coverage80, coverage95, holdout, note, "
                     f"{_filled(con)} FROM indicator_backtests WHERE indicator = $n AND "
                     "area_id = $a", params)
    area = history["area_name"][0] if history.height else "Whole area"
    return Trend(
        name=spec.name, label=spec.label_in("en"), area_name=area,
        unit_label=spec.unit_label, direction=spec.direction,
        history=history.select("period", "value"), forecast=forecast,
        status=status.row(0, named=True) if status.height else {},
        backtest=backtest.row(0, named=True) if backtest.height else {},
        provenance=provenance_for_tables(con, spec.inputs, unit_label=spec.unit_label))


def district_periods(con: duckdb.DuckDBPyConnection, registry: Registry, name: str, *,
                     role: Role) -> list[str]:
    """Periods with district values for one indicator, newest first."""
    visible_spec(registry, name, role=role)
    return _rows(con, "SELECT DISTINCT period FROM indicator_series WHERE indicator = $n "
                 "AND area_kind = 'district' ORDER BY period DESC", {"n": name})[
        "period"].to_list()


def district_period_labels(con: duckdb.DuckDBPyConnection, registry: Registry, name: str, *,
                           role: Role) -> dict[str, str]:
    """Each period with district values, newest first, as people read it: a year still
    under way when the data ends says so ("2026 (to 30 Nov)")."""
    spec = visible_spec(registry, name, role=role).spec
    periods = district_periods(con, registry, name, role=role)
    as_of = provenance_for_tables(con, spec.inputs, unit_label=spec.unit_label).data_as_of
    return {p: str(period_label(p, as_of, series=len(periods) > 1)) for p in periods}


def district_comparison(con: duckdb.DuckDBPyConnection, registry: Registry, name: str, *,
                        role: Role, period: str) -> tuple[pl.DataFrame, CellMap]:
    """Districts ranked best first, and a map of cells coloured by their district's value."""
    spec = visible_spec(registry, name, role=role).spec
    params = {"n": spec.name, "p": period}
    ranked = _rows(con, """
        SELECT s.area_id AS district_id, s.area_name AS district, s.value, s.numerator,
               s.denominator, t.status, t.probability
        FROM indicator_series s LEFT JOIN indicator_status t
          ON t.indicator = s.indicator AND t.area_id = s.area_id
        WHERE s.indicator = $n AND s.period = $p AND s.area_kind = 'district'
        ORDER BY s.area_id""", params)
    ranked = ranked.sort("value", descending=spec.direction != "lower_is_better",
                         nulls_last=True).with_row_index("rank", offset=1)
    cells = _rows(con, """
        SELECT h3_hex(c.h3_cell) AS h3_hex, s.value, d.name AS district
        FROM (SELECT h3_cell, arg_max(district_id, weight) AS district_id FROM district_cells
              WHERE resolution = 10 GROUP BY h3_cell) c
        JOIN districts d USING (district_id)
        LEFT JOIN indicator_series s ON s.area_id = c.district_id AND s.indicator = $n
             AND s.period = $p AND s.area_kind = 'district'
        ORDER BY c.h3_cell""", params)
    provenance = provenance_for_tables(con, [*spec.inputs, "districts"],
                                       unit_label=spec.unit_label)
    return ranked, CellMap(title=f"{spec.label_in('en')} by district", cells=cells,
                           unit_label=spec.unit_label, resolution=10, period=period,
                           provenance=provenance)


def what_changed(con: duckdb.DuckDBPyConnection, registry: Registry, *,
                 role: Role) -> pl.DataFrame:
    """Each visible indicator with history: its latest period against the one before."""
    specs = {s.spec.name: s.spec for s in visible_specs(registry, role=role)}
    frame = _rows(con, """
        WITH ranked AS (
            SELECT indicator, period, value,
                   row_number() OVER (PARTITION BY indicator ORDER BY period DESC) AS k
            FROM indicator_series WHERE area_kind = 'whole')
        SELECT a.indicator AS name, b.period AS previous_period, a.period,
               b.value AS previous_value, a.value, a.value - b.value AS change,
               CASE WHEN b.value <> 0 THEN 100 * (a.value - b.value) / abs(b.value) END
                   AS change_pct
        FROM ranked a JOIN ranked b ON a.indicator = b.indicator AND a.k = 1 AND b.k = 2
        ORDER BY abs(change_pct) DESC NULLS LAST""", {})
    frame = frame.filter(pl.col("name").is_in(list(specs)))
    labels = [specs[n].label_in("en") for n in frame["name"].to_list()]
    units = [specs[n].unit_label for n in frame["name"].to_list()]
    rules = [specs[n].unit for n in frame["name"].to_list()]
    verdicts = [_verdict(specs[n].direction, c) for n, c in
                zip(frame["name"].to_list(), frame["change"].to_list(), strict=True)]
    known = read_sources(con)
    as_of = {n: provenance_for_tables(con, specs[n].inputs, unit_label="",
                                      sources=known).data_as_of
             for n in frame["name"].to_list()}
    shown = [period_label(p, as_of[n], series=True)
             for n, p in zip(frame["name"].to_list(), frame["period"].to_list(), strict=True)]
    return frame.with_columns(pl.Series("label", labels, dtype=pl.String),
                              pl.Series("unit_label", units, dtype=pl.String),
                              pl.Series("unit", rules, dtype=pl.String),
                              pl.Series("assessment", verdicts, dtype=pl.String),
                              pl.Series("period", shown, dtype=pl.String)).select(
        "label", "previous_period", "period", "previous_value", "value", "change",
        "change_pct", "unit_label", "unit", "assessment", "name")


def period_label(period: str | None, as_of: datetime | None, *, series: bool) -> str | None:
    """A yearly period still under way when the data ends says so: "2026 (to 30 Nov)", so
    that a part of a year is never read against a whole one. Periods of a single snapshot
    (no series) and finished years stay as they are."""
    if period is None or as_of is None or not series or not re.fullmatch(r"\d{4}", period):
        return period
    if as_of.year == int(period) and (as_of.month, as_of.day) != (12, 31):
        return f"{period} (to {as_of.day} {as_of:%b})"
    return period


def _verdict(direction: str, change: float | None) -> str:
    if change is None:
        return "no value"
    if abs(change) < 1e-9:
        return "no change"
    if direction == "neutral":
        return "up" if change > 0 else "down"
    better = change < 0 if direction == "lower_is_better" else change > 0
    return "better" if better else "worse"


def _filled(con: duckdb.DuckDBPyConnection) -> str:
    """The fill columns of indicator_backtests (a store built before gaps were filled
    has none: read as nothing filled)."""
    has = con.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                      "'indicator_backtests' AND column_name = 'filled_points'").fetchall()
    return ("coalesce(filled_points, 0) AS filled_points, fill_method" if has[0][0]
            else "0 AS filled_points, NULL::VARCHAR AS fill_method")


def forecast_backtests(con: duckdb.DuckDBPyConnection, registry: Registry, *,
                       role: Role) -> pl.DataFrame:
    """Every visible indicator's whole-area forecast: model, MASE, coverage, status, note."""
    names = [s.spec.name for s in visible_specs(registry, role=role)]
    return _rows(con, f"""
        SELECT b.indicator, b.model, b.mase, b.coverage80, b.coverage95,
               b.holdout AS backtest_points, t.status, t.probability, b.note, t.reason,
               {_filled(con)},
               (SELECT count(*) FROM indicator_series s WHERE s.indicator = b.indicator
                AND s.area_kind = 'whole') AS periods
        FROM indicator_backtests b JOIN indicator_status t USING (indicator, area_kind, area_id)
        WHERE b.area_kind = 'whole' AND b.indicator IN $n
        ORDER BY b.model IS NULL, b.indicator""", {"n": names})

