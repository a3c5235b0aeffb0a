"""Forecast models on real series shipped in registry packages, and the forecast CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from statsmodels.tsa.holtwinters import ExponentialSmoothing

from observatory.cli import main
from observatory.forecasting.bench import run_bench
from observatory.forecasting.models import (
    choose,
    evaluate,
    fit,
    forecast_series,
    mase_scale,
    project,
    run,
)


@pytest.fixture(scope="module")
def co2() -> np.ndarray:
    """Mauna Loa CO2, weekly 1958-2001 (statsmodels), as 526 monthly means."""
    weekly = sm.datasets.co2.load_pandas().data["co2"]
    return weekly.resample("MS").mean().ffill().to_numpy()


@pytest.fixture(scope="module")
def nile() -> np.ndarray:
    """Annual Nile flow at Aswan, 1871-1970 (statsmodels)."""
    return sm.datasets.nile.load_pandas().data["volume"].to_numpy(dtype=float)


def test_recursions_reproduce_statsmodels(co2: np.ndarray, nile: np.ndarray) -> None:
    for y, kind, season in ((co2[-120:], "seasonal_damped", 12), (nile, "damped_trend", 1)):
        model = fit(kind, y, season=season)
        seasonal = "add" if season > 1 else None
        result = ExponentialSmoothing(
            y, trend="add", damped_trend=True, seasonal=seasonal,
            seasonal_periods=season if seasonal else None,
            initialization_method="estimated").fit()
        states, residuals = run(model, y)
        np.testing.assert_allclose(y - residuals, result.fittedvalues, atol=1e-8)
        np.testing.assert_allclose(project(model, states[-1], 6)[0], result.forecast(6),
                                   atol=1e-8)


def test_seasonal_model_chosen_for_co2_and_beats_naive(co2: np.ndarray) -> None:
    kind, score, note = choose(co2, season=12)
    assert kind == "seasonal_damped" and "beat the naive" in note
    assert score is not None and score.mase is not None and score.mase < 1


def test_interval_coverage_within_10_points_on_long_real_series(co2: np.ndarray) -> None:
    origins = 120  # ten years of monthly origins, 1 to 12 months ahead
    train = co2[:-origins]
    kind, _, _ = choose(train, season=12)
    score = evaluate(fit(kind, train, season=12), co2, origins=origins, horizon=12,
                     scale=mase_scale(train, season=12))
    assert score.points > 1000
    assert abs(score.coverage80 - 0.80) <= 0.10, score
    assert abs(score.coverage95 - 0.95) <= 0.10, score


def test_naive_kept_and_said_when_nothing_beats_it(nile: np.ndarray) -> None:
    walk = np.cumsum(np.random.default_rng(0).normal(size=40))  # a random walk
    kind, score, note = choose(walk, season=1)
    assert kind == "naive" and score is not None
    assert "nothing beat the naive forecast" in note and "damped_trend" in note
    short = forecast_series(nile[:4], horizon=3)
    assert short is not None and short.model == "naive" and "too short" in short.note
    assert forecast_series(nile[:2], horizon=3) is None


def test_intervals_widen_with_the_horizon(nile: np.ndarray) -> None:
    result = forecast_series(nile, horizon=10)
    assert result is not None
    lo95, hi95 = result.bounds(95)
    lo80, hi80 = result.bounds(80)
    assert np.all(np.diff(hi95 - lo95) >= -1e-9)
    assert np.all(lo95 <= lo80) and np.all(hi80 <= hi95)


def _csv(tmp_path: Path, y: np.ndarray, *, monthly: bool) -> Path:
    times = ([f"{1958 + i // 12}-{i % 12 + 1:02d}-01" for i in range(len(y))] if monthly
             else [str(1871 + i) for i in range(len(y))])
    path = tmp_path / "series.csv"
    pl.DataFrame({"t": times, "v": y}).write_csv(path)
    return path


def test_cli_prints_one_json_object_last(tmp_path: Path, co2: np.ndarray,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = _csv(tmp_path, co2, monthly=True)
    code = main(["forecast", "--csv", str(path), "--time", "t", "--value", "v",
                 "--horizon", "6", "--holdout", "24", "--json"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"model", "mase", "coverage80", "coverage95", "horizon", "forecast"} <= set(payload)
    assert payload["model"] == "seasonal_damped" and payload["mase"] < 1
    points = payload["forecast"]
    assert len(points) == 24 + 6
    assert points[0]["time"] == "1999-11-01" and points[24]["time"] == "2001-11-01"
    assert all(p["lo95"] <= p["lo80"] <= p["mean"] <= p["hi80"] <= p["hi95"] for p in points)


def test_cli_yearly_without_holdout(tmp_path: Path, nile: np.ndarray,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = _csv(tmp_path, nile, monthly=False)
    assert main(["forecast", "--csv", str(path), "--time", "t", "--value", "v",
                 "--horizon", "3", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [p["time"] for p in payload["forecast"]] == ["1971", "1972", "1973"]


def test_cli_bad_input_exits_2_naming_the_line(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("t,v\n2020,1\n2021,x\n2022,3\n2023,4\n", encoding="utf-8")
    assert main(["forecast", "--csv", str(path), "--time", "t", "--value", "v",
                 "--horizon", "2"]) == 2
    assert "line 3" in capsys.readouterr().err
    assert main(["forecast", "--csv", str(path), "--time", "when", "--value", "v",
                 "--horizon", "2"]) == 2


def test_bench_reports_ours_and_the_peer() -> None:
    result = run_bench(indicators=2, districts=3, years=10, peer_sample=2)
    assert result["series"] == 8 and result["ours_s"] >= 0 and result["peer_s"] > 0
