"""`observatory forecast --csv ...` and `observatory bench forecast`.

`forecast` prints a short summary, then (with --json) one JSON object as its last line:
model, mase, coverage80, coverage95, horizon, filled_points, fill_method, filled_times and
forecast (the held-out points first when --holdout is given, then the `horizon` future
points). Short gaps in the series are filled first (observatory.forecasting.gaps: at most
--max-fill-share of the points, no run longer than --max-gap); a longer gap exits 2 naming it.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from observatory.errors import InputError
from observatory.forecasting.gaps import DEFAULT_LIMITS, DEFAULT_MAX_SHARE, FillLimits
from observatory.forecasting.models import SeriesForecast, forecast_series, holdout_forecast
from observatory.forecasting.series_file import FileSeries, future_times, read_series


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `forecast` and `bench forecast` (cli.COMMAND_MODULES)."""
    parser = sub.add_parser("forecast", help="forecast a series from a CSV file",
                            description="Forecast a series from a CSV file; with --holdout, "
                            "backtest on its last K points.")
    parser.add_argument("--store", help="unused; accepted like every command's")
    parser.add_argument("--csv", required=True, help="CSV file with a header row")
    parser.add_argument("--time", required=True, help="column holding the time (or year)")
    parser.add_argument("--value", required=True, help="column holding the value")
    parser.add_argument("--horizon", type=int, required=True, help="future points to forecast")
    parser.add_argument("--holdout", type=int, default=0, help="backtest on the last K points")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--date-format", help="strftime codes of the time column (e.g. "
                        "%%d/%%m/%%Y) where it cannot tell day-first from month-first")
    parser.add_argument("--max-fill-share", type=float, default=DEFAULT_MAX_SHARE,
                        help="largest share of points filled in gaps (default "
                        f"{DEFAULT_MAX_SHARE:g}, i.e. {DEFAULT_MAX_SHARE * 100:.0f} %%)")
    parser.add_argument("--max-gap", type=int, default=None,
                        help="longest run of missing points filled (default: max(3, one "
                        "season), e.g. 7 days of daily data, 12 months of monthly data)")
    parser.set_defaults(handler=forecast_command)
    bench = _bench_subparsers(sub)
    if bench is not None:
        parser = bench.add_parser("forecast", help="forecast step: ours vs statsmodels refits")
        parser.add_argument("--store", help="unused; accepted like every command's")
        parser.add_argument("--indicators", type=int, default=100, help="series per area")
        parser.add_argument("--districts", type=int, default=20, help="districts")
        parser.add_argument("--years", type=int, default=12, help="yearly points per series")
        parser.add_argument("--peer-sample", type=int, default=200,
                            help="series the peer is timed on (its time is scaled up)")
        parser.set_defaults(handler=bench_command)


def _bench_subparsers(sub: argparse._SubParsersAction) -> argparse._SubParsersAction | None:
    bench = sub.choices.get("bench")
    if bench is None:
        return None
    for action in bench._actions:  # argparse keeps the subparsers action here
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def _check(args: argparse.Namespace, series: FileSeries) -> None:
    if args.horizon < 1:
        raise InputError("--horizon must be at least 1.")
    if args.holdout < 0 or args.holdout > len(series.values) - 3:
        raise InputError(f"--holdout {args.holdout}: keep at least 3 of the "
                         f"{len(series.values)} points to fit on (0 ≤ K ≤ "
                         f"{len(series.values) - 3}).")


def _points(times: list[str], result: SeriesForecast) -> list[dict[str, object]]:
    lo80, hi80 = result.bounds(80)
    lo95, hi95 = result.bounds(95)
    return [{"time": t, "mean": float(result.mean[i]), "lo80": float(lo80[i]),
             "hi80": float(hi80[i]), "lo95": float(lo95[i]), "hi95": float(hi95[i])}
            for i, t in enumerate(times)]


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def fill_limits(*, max_fill_share: float, max_gap: int | None) -> FillLimits:
    """The gap-filling limits of the options, or InputError saying what to give."""
    if not 0 <= max_fill_share < 1:
        raise InputError(f"--max-fill-share {max_fill_share:g}: give a share from 0 to below "
                         "1 (0.1 fills at most 10 % of the points).")
    if max_gap is not None and max_gap < 0:
        raise InputError(f"--max-gap {max_gap}: give a number of points, 0 or more (0 fills "
                         "nothing).")
    return FillLimits(max_share=max_fill_share, max_gap=max_gap)


def forecast_payload(path: Path, *, time: str, value: str, horizon: int, holdout: int = 0,
                     date_format: str | None = None,
                     limits: FillLimits = DEFAULT_LIMITS) -> dict[str, object]:
    """What `observatory forecast` prints as JSON."""
    series = read_series(path, time=time, value=value, date_format=date_format,
                         limits=limits)
    args = argparse.Namespace(horizon=horizon, holdout=holdout)
    _check(args, series)
    points: list[dict[str, object]] = []
    score = None
    if holdout:
        held, score = holdout_forecast(series.values, holdout=holdout, season=series.season)
        points += _points(series.times[-holdout:], held)
    result = forecast_series(series.values, horizon=horizon, season=series.season)
    if result is None:
        raise InputError(f"{path}: too few points to forecast.")
    points += _points(future_times(series, horizon), result)
    score = score or result.backtest
    return {
        "model": result.model, "mase": _finite(score.mase) if score else None,
        "coverage80": score.coverage80 if score else None,
        "coverage95": score.coverage95 if score else None,
        "horizon": horizon, "holdout": holdout, "frequency": series.frequency,
        "season": series.season, "note": result.note,
        "filled_points": len(series.filled_times), "fill_method": series.fill_method,
        "filled_times": list(series.filled_times), "forecast": points,
    }


def _fill_summary(payload: dict[str, object]) -> str | None:
    """'28 missing daily points filled by …: 2012-01-29, …' (None when none was)."""
    times = payload["filled_times"]
    if not times:
        return None
    assert isinstance(times, list)
    shown = ", ".join(times[:5]) + (", …" if len(times) > 5 else "")
    noun = "point" if len(times) == 1 else "points"
    text = (f"{len(times)} missing {payload['frequency']} {noun} filled by "
            f"{payload['fill_method']}: {shown}")
    holdout = int(payload["holdout"])  # type: ignore[arg-type]
    if holdout and (held := [p["time"] for p in payload["forecast"][:holdout]  # type: ignore[index]
                             if p["time"] in set(times)]):
        text += f" ({len(held)} of them held out: scored against filled values)"
    return text


def forecast_command(args: argparse.Namespace) -> int:
    """Forecast one series from a CSV; --json prints the JSON object last."""
    limits = fill_limits(max_fill_share=args.max_fill_share, max_gap=args.max_gap)
    payload = forecast_payload(Path(args.csv), time=args.time, value=args.value,
                               horizon=args.horizon, holdout=args.holdout,
                               date_format=args.date_format, limits=limits)
    print(f"{args.csv}: {payload['frequency']} series; model {payload['model']} "
          f"({payload['note']})")
    if summary := _fill_summary(payload):
        print(summary)
    if payload["mase"] is not None:
        print(f"backtest: MASE {payload['mase']:.3f}, 80 % coverage "
              f"{payload['coverage80']:.0%}, 95 % coverage {payload['coverage95']:.0%}")
    if args.json:
        print(json.dumps(payload, ensure_ascii=False))
    else:
        for point in payload["forecast"]:  # type: ignore[union-attr]
            print(f"{point['time']}  {point['mean']:.4g}  80 % [{point['lo80']:.4g}, "
                  f"{point['hi80']:.4g}]  95 % [{point['lo95']:.4g}, {point['hi95']:.4g}]")
    return 0


def bench_command(args: argparse.Namespace) -> int:
    """Time the forecast step on synthetic yearly series against statsmodels refits."""
    from observatory.forecasting.bench import run_bench

    result = run_bench(indicators=args.indicators, districts=args.districts,
                       years=args.years, peer_sample=args.peer_sample)
    print(json.dumps(result, default=lambda v: float(v) if isinstance(v, np.floating) else v))
    return 0
