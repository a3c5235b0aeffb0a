"""The after-compute build step: series per area, forecasts, backtests and target status.

Runs inside the build's write session (observatory.build.AFTER_COMPUTE), never on page
load. Tables (the contract other modules read):

- `indicator_series`: each indicator's history for the whole area and for each district;
- `indicator_forecasts`: future periods (step 1 = the first), mean and 80/95 % limits, and
  for whole-area series a step 0: the latest observed period forecast from the ones before;
- `indicator_backtests`: the chosen model, its MASE against the naive forecast and the
  interval coverage in a rolling-origin backtest (NULL when the series is too short), and
  how many missing periods were filled before fitting, by which method (the note says so
  in words);
- `indicator_status`: the probability of meeting the declared target and its status.

Choice of series: each indicator is forecast on its own periods (yearly in the demo). A
seasonal model is tried where those periods are sub-annual (`YYYY-MM`, `YYYY-Qn`). The
yearly air-quality figures (exceedance counts, population-weighted means with a 75 %
completeness rule) are not sums of monthly ones, so they are not modelled from monthly
readings: that would forecast a different quantity than the one officials are shown.

Missing periods (a period without a value between the first and the last) are filled by
the same rule as the forecast command's (observatory.forecasting.gaps.fill_gaps: at most
10 % of the periods, no run longer than max(3, one season)); a longer gap leaves the series
without a forecast, and the reason names the gap.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import time
from collections.abc import Collection
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from observatory.connectors import Progress, silent_progress
from observatory.districts import build_crosswalk, district_series_sql, districts_from_osm
from observatory.forecasting.gaps import Filled, GapError, fill_gaps
from observatory.forecasting.models import MIN_FORECAST, forecast_series, quantile
from observatory.registry import Registry
from observatory.registry.spec import IndicatorSpec
from observatory.store import now_utc, read_frame
from observatory.targets import (
    THRESHOLDS_TEXT,
    PeriodKind,
    date_to_index,
    period_from_index,
    period_index,
    period_kind,
    probability_of_meeting,
    status_from_probability,
)

DEFAULT_HORIZON_YEARS = 5
MAX_HORIZON_YEARS = 15
PARALLEL_FROM = 400  # series; below this a process pool costs more than it saves
# Columns added since the first schema: an append on an older store adds them first.
ADDED_COLUMNS = ("ALTER TABLE indicator_backtests ADD COLUMN IF NOT EXISTS filled_points "
                 "INTEGER", "ALTER TABLE indicator_backtests ADD COLUMN IF NOT EXISTS "
                 "fill_method VARCHAR")
TABLES_SQL = (
    """CREATE OR REPLACE TABLE indicator_series (
        indicator VARCHAR, area_kind VARCHAR, area_id VARCHAR, area_name VARCHAR,
        period VARCHAR, value DOUBLE, numerator DOUBLE, denominator DOUBLE)""",
    """CREATE OR REPLACE TABLE indicator_forecasts (
        indicator VARCHAR, area_kind VARCHAR, area_id VARCHAR, period VARCHAR, step INTEGER,
        mean DOUBLE, lo80 DOUBLE, hi80 DOUBLE, lo95 DOUBLE, hi95 DOUBLE, model VARCHAR,
        computed_at TIMESTAMPTZ)""",
    """CREATE OR REPLACE TABLE indicator_backtests (
        indicator VARCHAR, area_kind VARCHAR, area_id VARCHAR, model VARCHAR, mase DOUBLE,
        coverage80 DOUBLE, coverage95 DOUBLE, holdout INTEGER, note VARCHAR,
        filled_points INTEGER, fill_method VARCHAR)""",
    """CREATE OR REPLACE TABLE indicator_status (
        indicator VARCHAR, area_kind VARCHAR, area_id VARCHAR, target_value DOUBLE,
        target_by DATE, probability DOUBLE, status VARCHAR, thresholds VARCHAR,
        reason VARCHAR)""",
)


@dataclass(frozen=True)
class SeriesJob:
    """One series to forecast, with what its target asks."""

    indicator: str
    area_kind: str
    area_id: str
    periods: tuple[str, ...]
    values: tuple[float, ...]
    direction: str
    target: tuple[float, dt.date, str] | None  # value, by, source


def forecast_step(con: duckdb.DuckDBPyConnection, registry: Registry, *,
                  progress: Progress = silent_progress,
                  names: Collection[str] | None = None) -> None:
    """AFTER_COMPUTE entry point: districts, series, forecasts, backtests and status (of
    the named indicators only when given: an append recomputes what it changed)."""
    start = time.perf_counter()
    specs = [loaded.spec for loaded in registry.specs.values()]
    if names is None:
        if districts_from_osm(con, progress=progress):
            build_crosswalk(con)
        for statement in TABLES_SQL:
            con.execute(statement)
    else:
        specs = [spec for spec in specs if spec.name in set(names)]
        for statement in ADDED_COLUMNS:
            con.execute(statement)
        for table in ("indicator_series", "indicator_forecasts", "indicator_backtests",
                      "indicator_status"):
            con.execute(f"DELETE FROM {table} WHERE indicator IN (SELECT unnest($n))",
                        {"n": [spec.name for spec in specs]})
    series = area_series(con, specs)
    con.register("_series", series.to_arrow())
    con.execute("INSERT INTO indicator_series BY NAME SELECT * FROM _series")
    con.unregister("_series")
    jobs = series_jobs(series, specs)
    outputs = run_jobs(jobs)
    write_outputs(con, outputs)
    progress(f"forecasts: {len(jobs)} series in {time.perf_counter() - start:.1f} s")


def area_series(con: duckdb.DuckDBPyConnection, specs: list[IndicatorSpec]) -> pl.DataFrame:
    """The history of every indicator, whole area and per district, one row per period."""
    whole = read_frame(con, """
        SELECT indicator, 'whole' AS area_kind, 'all' AS area_id, 'Whole area' AS area_name,
               period, value, numerator, denominator
        FROM indicator_results WHERE resolution IS NULL
          AND indicator IN (SELECT unnest($names))""", {"names": [s.name for s in specs]})
    meta = pl.DataFrame({
        "indicator": [s.name for s in specs],
        "resolution": [s.grain.h3_resolution for s in specs],
        "aggregation": [s.aggregation for s in specs], "scale": [s.scale for s in specs]},
        schema={"indicator": pl.String, "resolution": pl.Int8, "aggregation": pl.String,
                "scale": pl.Float64})
    con.register("_specs", meta.to_arrow())
    try:
        districts = read_frame(con, district_series_sql())
    finally:
        con.unregister("_specs")
    frame = pl.concat([whole, districts], how="vertical_relaxed")
    return frame.sort("indicator", "area_kind", "area_id", "period")


def series_jobs(series: pl.DataFrame, specs: list[IndicatorSpec], *,
                today: dt.date | None = None) -> list[SeriesJob]:
    """One job per indicator and area, with the target it is measured against."""
    from observatory.targets import chosen_target

    by_name = {s.name: s for s in specs}
    jobs = []
    grouped = series.filter(pl.col("value").is_not_null()).group_by(
        "indicator", "area_kind", "area_id", maintain_order=True)
    for (name, kind, area), rows in grouped:
        spec = by_name.get(str(name))
        if spec is None:
            continue
        target = chosen_target(list(spec.targets), today=today)
        jobs.append(SeriesJob(
            str(name), str(kind), str(area), tuple(rows["period"].to_list()),
            tuple(rows["value"].to_list()), spec.direction,
            (target.value, target.by, target.source) if target else None))
    return jobs


def _one_blas_thread() -> None:
    threadpool_limits(limits=1)


def run_jobs(jobs: list[SeriesJob], *, workers: int | None = None) -> list[dict[str, list]]:
    """Forecast every job, in a process pool when there are many.

    BLAS is held to one thread: the optimiser's tiny vector operations otherwise make
    OpenBLAS threads spin against each other (16 times slower on two cores)."""
    workers = workers or min(os.cpu_count() or 1, 8)
    if len(jobs) < PARALLEL_FROM or workers < 2:
        with threadpool_limits(limits=1):
            return [forecast_job(job) for job in jobs]
    chunk = max(len(jobs) // (workers * 4), 1)
    with ProcessPoolExecutor(max_workers=workers, initializer=_one_blas_thread,
                             mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(forecast_job, jobs, chunksize=chunk))


def _no_forecast_reason(job: SeriesJob, kind: PeriodKind | None) -> str | None:
    if kind is None or any(period_kind(p) is not kind for p in job.periods):
        return f"periods {', '.join(job.periods[:3])} are not all years, YYYY-MM or YYYY-Qn"
    if len(job.periods) == 1:
        return (f"a single period ({job.periods[0]}): its inputs have no history yet, so "
                "there is no trend to forecast")
    if len(job.periods) < MIN_FORECAST:
        return (f"only {len(job.periods)} periods ({', '.join(job.periods)}): at least "
                f"{MIN_FORECAST} are needed to estimate a forecast interval")
    return None


def filled_history(job: SeriesJob, kind: PeriodKind) -> tuple[Filled | None, str | None]:
    """The job's values on every period from its first to its last, missing ones filled
    by `fill_gaps`; or None and why not (the gap that is too long, or too many)."""
    first, last = period_index(job.periods[0]), period_index(job.periods[-1])
    values = np.full(last - first + 1, np.nan)
    values[[period_index(p) - first for p in job.periods]] = job.values
    labels = [period_from_index(i, kind=kind) for i in range(first, last + 1)]
    try:
        return fill_gaps(values, labels=labels, season=kind.per_year, unit="periods"), None
    except GapError as exc:
        return None, f"{exc}: too much to fill, so no forecast"


def _horizon(job: SeriesJob, kind: PeriodKind) -> int:
    last = period_index(job.periods[-1])
    steps = DEFAULT_HORIZON_YEARS * kind.per_year
    if job.target is not None:
        steps = max(steps, date_to_index(job.target[1], kind=kind) - last)
    return min(steps, MAX_HORIZON_YEARS * kind.per_year)


def _latest_check(job: SeriesJob, kind: PeriodKind, values: np.ndarray) -> list[tuple]:
    """Step 0: the forecast of the latest observed period from the periods before it, so
    that the anomaly alert can ask whether the latest value fell outside its interval.
    Whole-area series only (one more fit each), and only with enough history."""
    if job.area_kind != "whole" or len(values) <= MIN_FORECAST:
        return []
    check = forecast_series(values[:-1], horizon=1, season=kind.per_year)
    if check is None:
        return []
    (lo80,), (hi80,) = check.bounds(80)
    (lo95,), (hi95,) = check.bounds(95)
    return [(job.indicator, job.area_kind, job.area_id, job.periods[-1], 0,
             float(check.mean[0]), float(lo80), float(hi80), float(lo95), float(hi95),
             check.model)]


def forecast_job(job: SeriesJob) -> dict[str, list]:
    """Forecast rows, the backtest row and the status row of one series."""
    out: dict[str, list] = {"forecasts": [], "backtests": [], "status": []}
    kind = period_kind(job.periods[0])
    reason = _no_forecast_reason(job, kind)
    result, filled = None, None
    if reason is None and kind is not None:
        filled, reason = filled_history(job, kind)
    if filled is not None and kind is not None:
        horizon = _horizon(job, kind)
        result = forecast_series(filled.values, horizon=horizon, season=kind.per_year)
    key = (job.indicator, job.area_kind, job.area_id)
    if result is None or kind is None or filled is None:
        out["backtests"].append((*key, None, None, None, None, 0, reason, 0, None))
        out["status"].append(_status_row(job, key, None, reason=reason))
        return out
    lo80, hi80 = result.bounds(80)
    lo95, hi95 = result.bounds(95)
    last = period_index(job.periods[-1])
    for step in range(len(result.mean)):
        out["forecasts"].append((*key, period_from_index(last + step + 1, kind=kind), step + 1,
                                 *(float(a[step]) for a in (result.mean, lo80, hi80, lo95,
                                                            hi95)), result.model))
    out["forecasts"] += _latest_check(job, kind, filled.values)
    bt = result.backtest
    note = "; ".join(t for t in (result.note, filled.sentence(unit="periods")) if t)
    out["backtests"].append((*key, result.model, bt.mase if bt else None,
                             bt.coverage80 if bt else None, bt.coverage95 if bt else None,
                             bt.points if bt else 0, note, filled.count, filled.method))
    out["status"].append(_status_row(job, key, (result, kind), reason=None))
    return out


def _status_row(job: SeriesJob, key: tuple[str, str, str], forecast: tuple | None, *,
                reason: str | None) -> tuple:
    if job.target is None:
        return (*key, None, None, None, "no target", None, "no target declared")
    value, by, source = job.target
    if job.direction == "neutral":
        return (*key, value, by, None, "no target", None,
                f"direction is neutral: the target ({source}) cannot be met or missed")
    if forecast is None:
        return (*key, value, by, None, "no forecast", THRESHOLDS_TEXT, reason)
    result, kind = forecast
    step = date_to_index(by, kind=kind) - period_index(job.periods[-1])
    if step < 1:
        observed = job.values[-1]
        meets = observed <= value if job.direction == "lower_is_better" else observed >= value
        return (*key, value, by, float(meets), "on track" if meets else "off track",
                THRESHOLDS_TEXT, f"target date passed: latest value {observed:.4g} "
                f"({job.periods[-1]}) against {value:g}")
    step = min(step, len(result.mean))
    probability = probability_of_meeting(
        mean=float(result.mean[step - 1]), scale=float(result.sd[step - 1]), dof=result.dof,
        target=value, direction=job.direction)
    at = period_from_index(period_index(job.periods[-1]) + step, kind=kind)
    half = quantile(80, dof=result.dof) * result.sd[step - 1]
    return (*key, value, by, probability, status_from_probability(probability),
            THRESHOLDS_TEXT, f"P(meeting {value:g} by {by.year}) = {probability:.0%} from "
            f"the {result.model} forecast for {at} (80 % interval ±{half:.3g}); "
            f"source: {source}")


def write_outputs(con: duckdb.DuckDBPyConnection, outputs: list[dict[str, list]]) -> None:
    """Insert the rows of every job into the three output tables."""
    computed_at = now_utc()
    columns = {
        "forecasts": ["indicator", "area_kind", "area_id", "period", "step", "mean", "lo80",
                      "hi80", "lo95", "hi95", "model"],
        "backtests": ["indicator", "area_kind", "area_id", "model", "mase", "coverage80",
                      "coverage95", "holdout", "note", "filled_points", "fill_method"],
        "status": ["indicator", "area_kind", "area_id", "target_value", "target_by",
                   "probability", "status", "thresholds", "reason"],
    }
    tables = {"forecasts": "indicator_forecasts", "backtests": "indicator_backtests",
              "status": "indicator_status"}
    for part, names in columns.items():
        rows = [row for output in outputs for row in output[part]]
        if not rows:
            continue
        frame = pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
        if part == "forecasts":
            frame = frame.with_columns(pl.lit(computed_at).alias("computed_at"))
        con.register("_rows", frame.to_arrow())
        con.execute(f"INSERT INTO {tables[part]} BY NAME SELECT * FROM _rows")
        con.unregister("_rows")
