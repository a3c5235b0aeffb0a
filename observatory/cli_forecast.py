"""`observatory forecast --csv ...` and `observatory bench forecast`.

`forecast` prints a short summary, then (with --json) one JSON object as its last line:
model, mase, coverage80, coverage95, horizon, filled_points, fill_method, filled_times and
forecast (the held-out points first when --holdout is given, then the `horizon` future
points). Short gaps in the series are filled first (observatory.forecasting.gaps: at most
--max-fill-share of the points, no run longer than --max-gap); a longer gap exits 2 naming it.
"""

from __future__ import annotations

import argparse


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
    parser.add_argument("--max-fill-share", type=float, default=None,
                        help="largest share of points filled in gaps (default 0.1, i.e. "
                        "10 %%)")
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


def forecast_command(args: argparse.Namespace) -> int:
    """Forecast one series from a CSV; --json prints the JSON object last."""
    from observatory.forecasting.command import run_forecast

    return run_forecast(args)


def bench_command(args: argparse.Namespace) -> int:
    """Time the forecast step on synthetic yearly series against statsmodels refits."""
    import json

    import numpy as np

    from observatory.forecasting.bench import run_bench

    result = run_bench(indicators=args.indicators, districts=args.districts,
                       years=args.years, peer_sample=args.peer_sample)
    print(json.dumps(result, default=lambda v: float(v) if isinstance(v, np.floating) else v))
    return 0
