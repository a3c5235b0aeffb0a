"""`observatory bench forecast`: the forecast step on 100 indicators × 20 districts against
the common approach, statsmodels refitted at every backtest origin with simulated intervals.

Both sides see the same synthetic yearly series (seeded trend plus AR(1) noise). Ours runs
the build step's own job function (choice by rolling-origin backtest, refit, closed-form
intervals, target status) over every series, in a process pool. The peer is timed on a
sample and scaled up to the same number of series.
"""

from __future__ import annotations

import datetime as dt
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from observatory.forecasting.models import backtest_origins
from observatory.forecasting.step import SeriesJob, run_jobs

BUDGET_S = 60.0
_HORIZON = 6


def synthetic_jobs(*, indicators: int, districts: int, years: int, seed: int = 7
                   ) -> list[SeriesJob]:
    """Seeded yearly series: per indicator a trend, per area an AR(1) deviation."""
    rng = np.random.default_rng(seed)
    periods = tuple(str(2024 - years + 1 + i) for i in range(years))
    jobs = []
    for i in range(indicators):
        level, slope = rng.uniform(20, 80), rng.normal(0, 1.5)
        for area in range(districts + 1):
            noise = np.zeros(years)
            for t in range(1, years):
                noise[t] = 0.6 * noise[t - 1] + rng.normal(0, 2)
            values = level + slope * np.arange(years) + rng.normal(0, 5) + noise
            jobs.append(SeriesJob(f"ind_{i:03d}", "whole" if area == 0 else "district",
                                  "all" if area == 0 else f"d{area:02d}", periods,
                                  tuple(float(v) for v in values), "lower_is_better",
                                  (level, dt.date(2030, 12, 31), "bench")))
    return jobs


def peer_one(values: np.ndarray) -> np.ndarray:
    """The common approach: refit statsmodels at every origin, simulate the intervals."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    origins = backtest_origins(len(values), season=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for origin in range(len(values) - origins, len(values)):
            ExponentialSmoothing(values[:origin], trend="add", damped_trend=True,
                                 initialization_method="estimated").fit().forecast(
                                     len(values) - origin)
        result = ExponentialSmoothing(values, trend="add", damped_trend=True,
                                      initialization_method="estimated").fit()
        paths = result.simulate(_HORIZON, repetitions=1000, error="add")
    return np.percentile(paths, [2.5, 10, 90, 97.5], axis=1)


def run_bench(*, indicators: int = 100, districts: int = 20, years: int = 12,
              peer_sample: int = 200) -> dict[str, object]:
    """Time ours on every series and the peer on a sample; one JSON-ready dict."""
    jobs = synthetic_jobs(indicators=indicators, districts=districts, years=years)
    start = time.perf_counter()
    outputs = run_jobs(jobs)
    ours = time.perf_counter() - start
    sample = jobs[:: max(len(jobs) // max(peer_sample, 1), 1)][:peer_sample]
    start = time.perf_counter()
    with threadpool_limits(limits=1):  # the same BLAS setting as ours, to be fair
        for job in sample:
            peer_one(np.array(job.values))
    per_series = (time.perf_counter() - start) / max(len(sample), 1)
    peer = per_series * len(jobs)
    models: dict[str, int] = {}
    for output in outputs:
        for row in output["backtests"]:
            models[row[3]] = models.get(row[3], 0) + 1
    return {"benchmark": "forecast", "series": len(jobs), "years": years,
            "ours_s": round(ours, 2), "peer": "statsmodels refit per origin + simulated "
            "intervals", "peer_s": round(peer, 2), "peer_sampled_series": len(sample),
            "ratio": round(peer / ours, 1) if ours else None, "budget_s": BUDGET_S,
            "within_budget": ours <= BUDGET_S, "models_chosen": models}
