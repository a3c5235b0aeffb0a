"""What `observatory forecast` does once its arguments are parsed (observatory.cli_forecast
registers the command and imports this only when it runs)."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from observatory.errors import InputError
from observatory.forecasting.gaps import DEFAULT_LIMITS, DEFAULT_MAX_SHARE, FillLimits
from observatory.forecasting.models import SeriesForecast, forecast_series, holdout_forecast
from observatory.forecasting.series_file import FileSeries, future_times, read_series


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


def run_forecast(args: argparse.Namespace) -> int:
    """Forecast one series from a CSV; --json prints the JSON object last."""
    share = DEFAULT_MAX_SHARE if args.max_fill_share is None else args.max_fill_share
    limits = fill_limits(max_fill_share=share, max_gap=args.max_gap)
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
