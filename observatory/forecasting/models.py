"""Forecast models in one additive exponential-smoothing form, chosen by rolling-origin backtest.

Candidates (Hyndman & Athanasopoulos, *Forecasting: principles and practice*, ch. 8):

- `naive` (random walk) or, for sub-annual data, `seasonal_naive`: the baselines;
- `damped_trend`: Holt's additive damped trend, ETS(A,Ad,N);
- `seasonal_damped`: Holt-Winters additive seasonality with damped trend, ETS(A,Ad,A), only
  where the data is sub-annual (`season` > 1) and at least two seasons are there to fit.

statsmodels (`ExponentialSmoothing`) estimates each model's parameters and initial states
once, on the data before the first backtest origin; the recursions below then run the fixed
model through the rest of the series, so every rolling origin costs one pass of arithmetic
instead of a refit (rolling origin without recalibration, Tashman 2000). The chosen model
is refitted once on the whole series for the forecast. Prediction intervals use the
closed-form variance of the additive models (Hyndman et al. 2008, table 6.1) with Student-t
quantiles on the residual degrees of freedom, so short series get honest, wide intervals.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

LEVELS = (80, 95)
MIN_BACKTEST = 6  # points below which no backtest is possible
MIN_FORECAST = 3  # points below which no forecast interval can be estimated
_MIN_FIT_TREND = 6  # training points for the damped trend
_PARAMS = {"naive": 0, "seasonal_naive": 0, "damped_trend": 5, "seasonal_damped": 6}


@dataclass(frozen=True)
class Model:
    """One fitted model: smoothing parameters (statsmodels' form), initial states, error scale."""

    kind: str
    alpha: float
    beta: float = 0.0
    gamma: float = 0.0
    phi: float = 0.0
    season: int = 1
    level0: float = 0.0
    trend0: float = 0.0
    seasons0: tuple[float, ...] = (0.0,)
    start: int = 0  # observations before `start` only initialise the states
    sigma: float = 0.0
    dof: int = 1


@dataclass(frozen=True)
class Backtest:
    """Rolling-origin accuracy of one model: errors pooled over origins and steps."""

    model: str
    mae: float
    mase: float | None
    coverage80: float
    coverage95: float
    points: int
    origins: int


@dataclass(frozen=True)
class SeriesForecast:
    """A forecast of one series: the chosen model, its backtest, the points and intervals."""

    model: str
    note: str
    mean: np.ndarray
    sd: np.ndarray
    dof: int
    backtest: Backtest | None

    def bounds(self, level: int) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper limits of the central `level` % prediction interval."""
        half = quantile(level, dof=self.dof) * self.sd
        return self.mean - half, self.mean + half


def quantile(level: int, *, dof: int) -> float:
    """The two-sided Student-t quantile of a central `level` % interval."""
    return float(stats.t.ppf(0.5 + level / 200, max(dof, 1)))


def baseline_kind(season: int) -> str:
    """The naive baseline for data of this seasonal period."""
    return "seasonal_naive" if season > 1 else "naive"


def candidate_kinds(n_train: int, *, season: int) -> list[str]:
    """The models worth fitting on `n_train` points of data with seasonal period `season`."""
    kinds = [baseline_kind(season)]
    if n_train >= _MIN_FIT_TREND:
        kinds.append("damped_trend")
    if season > 1 and n_train >= 2 * season + 4:
        kinds.append("seasonal_damped")
    return kinds


# -- fitting ------------------------------------------------------------------------------

def fit(kind: str, y: np.ndarray, *, season: int = 1) -> Model:
    """Estimate one model on `y` (statsmodels for the smoothing models)."""
    if kind == "naive":
        model = Model(kind, alpha=1.0, level0=float(y[0]), start=1)
    elif kind == "seasonal_naive":
        model = Model(kind, alpha=0.0, gamma=1.0, season=season,
                      seasons0=tuple(float(v) for v in y[:season]), start=season)
    else:
        model = _fit_smoothing(kind, y, season=season)
    return _with_sigma(model, y)


def _fit_smoothing(kind: str, y: np.ndarray, *, season: int) -> Model:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    seasonal = kind == "seasonal_damped"
    with warnings.catch_warnings():  # convergence chatter on short series is expected
        warnings.simplefilter("ignore")
        result = ExponentialSmoothing(
            y, trend="add", damped_trend=True, seasonal="add" if seasonal else None,
            seasonal_periods=season if seasonal else None,
            initialization_method="estimated").fit()
    p = result.params
    return Model(
        kind, alpha=float(p["smoothing_level"]), beta=float(p["smoothing_trend"]),
        gamma=float(p["smoothing_seasonal"]) if seasonal else 0.0,
        phi=float(p["damping_trend"]), season=season if seasonal else 1,
        level0=float(p["initial_level"]), trend0=float(p["initial_trend"]),
        seasons0=tuple(float(v) for v in p["initial_seasons"]) if seasonal else (0.0,))


def _with_sigma(model: Model, y: np.ndarray) -> Model:
    residuals = run(model, y)[1]
    dof = max(len(residuals) - _PARAMS[model.kind], 1)
    sigma = math.sqrt(float(np.sum(residuals ** 2)) / dof) if len(residuals) else 0.0
    return replace(model, sigma=sigma, dof=dof)


# -- recursions ---------------------------------------------------------------------------

def run(model: Model, y: np.ndarray) -> tuple[list[tuple[float, float, list[float]]],
                                             np.ndarray]:
    """Run the model through `y`: the states after each observation from `start - 1` on,
    and the one-step residuals from `start` on.

    State t holds (level, trend, seasonal ring) where ring[k] is the seasonal term of
    the next observation k steps ahead (modulo the period)."""
    a, b, g, phi, m = model.alpha, model.beta, model.gamma, model.phi, model.season
    level, trend, ring = model.level0, model.trend0, list(model.seasons0)
    states = [(level, trend, ring)]
    residuals = np.empty(max(len(y) - model.start, 0))
    for i, value in enumerate(y[model.start:]):
        season = ring[0]
        base = level + phi * trend
        residuals[i] = value - base - season
        new_level = a * (value - season) + (1 - a) * base
        trend = b * (new_level - level) + (1 - b) * phi * trend
        new_season = g * (value - base) + (1 - g) * season
        level, ring = new_level, ring[1:] + [new_season] if m > 1 else ring
        states.append((level, trend, ring))
    return states, residuals


def project(model: Model, state: tuple[float, float, list[float]], horizon: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """Means and standard deviations of steps 1..`horizon` from one state."""
    level, trend, ring = state
    steps = np.arange(1, horizon + 1)
    damp = np.cumsum(model.phi ** steps) if model.phi else np.zeros(horizon)
    seasonal = np.array([ring[(h - 1) % model.season] for h in steps]) if model.season > 1 \
        else np.zeros(horizon)
    mean = level + damp * trend + seasonal
    return mean, model.sigma * np.sqrt(_variance_factors(model, horizon))


def _variance_factors(model: Model, horizon: int) -> np.ndarray:
    """1 + Σ_{j<h} c_j² with c_j = α + αβφ_j + γ(1-α)[j mod m = 0] (ETS error form)."""
    j = np.arange(1, horizon)
    damp = np.cumsum(model.phi ** j) if model.phi else np.zeros(horizon - 1)
    seasonal = (j % model.season == 0) if model.season > 1 else np.zeros(horizon - 1)
    c = (model.alpha + model.alpha * model.beta * damp
         + model.gamma * (1 - model.alpha) * seasonal)
    return 1 + np.concatenate([[0.0], np.cumsum(c ** 2)])


# -- backtest and choice ------------------------------------------------------------------

def backtest_origins(n: int, *, season: int) -> int:
    """How many rolling origins a series of `n` points is tested at (0: too short)."""
    if n < MIN_BACKTEST:
        return 0
    if season > 1:
        return max(min(season, n // 4), 2)
    return max(2, min(n // 4, 10))


def mase_scale(y: np.ndarray, *, season: int) -> float | None:
    """Mean absolute (seasonal) naive one-step error in sample: the MASE denominator."""
    lag = season if season > 1 and len(y) > season else 1
    diffs = np.abs(y[lag:] - y[:-lag])
    scale = float(diffs.mean()) if len(diffs) else 0.0
    return scale if scale > 0 else None


def evaluate(model: Model, y: np.ndarray, *, origins: int, horizon: int,
             scale: float | None) -> Backtest:
    """Errors and interval hits of `model` (fitted on y[:-origins]) from each later origin."""
    states = run(model, y)[0]
    n, first = len(y), len(y) - origins
    errors, hits80, hits95 = [], 0, 0
    q80, q95 = quantile(80, dof=model.dof), quantile(95, dof=model.dof)
    for origin in range(first, n):
        steps = min(horizon, n - origin)
        mean, sd = project(model, states[origin - model.start], steps)
        err = y[origin:origin + steps] - mean
        errors.extend(np.abs(err))
        hits80 += int(np.sum(np.abs(err) <= q80 * sd))
        hits95 += int(np.sum(np.abs(err) <= q95 * sd))
    mae = float(np.mean(errors))
    return Backtest(model.kind, mae, mae / scale if scale else None,
                    hits80 / len(errors), hits95 / len(errors), len(errors), origins)


def choose(y: np.ndarray, *, season: int) -> tuple[str, Backtest | None, str]:
    """The model to use for `y`, its backtest and a sentence saying why."""
    origins = backtest_origins(len(y), season=season)
    base = baseline_kind(season)
    if not origins:
        return base, None, (f"only {len(y)} periods: too short to backtest (needs "
                            f"{MIN_BACKTEST}); naive forecast")
    train = y[:-origins]
    scale = mase_scale(train, season=season)
    horizon = min(origins, max(season, 3))
    scores = [evaluate(fit(kind, train, season=season), y, origins=origins, horizon=horizon,
                       scale=scale)
              for kind in candidate_kinds(len(train), season=season)]
    naive, best = scores[0], min(scores, key=lambda s: s.mae)
    if best.mae < naive.mae:
        return best.model, best, (f"{best.model} beat the naive forecast in a rolling-origin "
                                  f"backtest ({origins} origins)")
    tried = ", ".join(s.model for s in scores[1:]) or "no other model (series too short)"
    return base, naive, (f"nothing beat the naive forecast in a rolling-origin backtest "
                         f"({origins} origins; tried {tried}): naive forecast")


def forecast_series(y: np.ndarray, *, horizon: int, season: int = 1) -> SeriesForecast | None:
    """Choose a model by backtest, refit it on all of `y` and forecast `horizon` steps.

    None when `y` has fewer than MIN_FORECAST points (no interval can be estimated).
    """
    y = np.asarray(y, dtype=float)
    if len(y) < MIN_FORECAST:
        return None
    if season > 1 and len(y) < 2 * season:
        season = 1  # not one full repeat of the season to learn it from
    kind, score, note = choose(y, season=season)
    model = fit(kind, y, season=season)
    mean, sd = project(model, run(model, y)[0][-1], horizon)
    return SeriesForecast(kind, note, mean, sd, model.dof, score)


def holdout_forecast(y: np.ndarray, *, holdout: int, season: int = 1
                     ) -> tuple[SeriesForecast, Backtest]:
    """Choose and fit on all but the last `holdout` points, forecast those from that one
    origin, and score the forecast on them."""
    y = np.asarray(y, dtype=float)
    train = y[:-holdout]
    if season > 1 and len(train) < 2 * season:
        season = 1
    kind, _, note = choose(train, season=season)
    model = fit(kind, train, season=season)
    mean, sd = project(model, run(model, train)[0][-1], holdout)
    err = np.abs(y[-holdout:] - mean)
    q80, q95 = quantile(80, dof=model.dof), quantile(95, dof=model.dof)
    mae, scale = float(err.mean()), mase_scale(train, season=season)
    score = Backtest(kind, mae, mae / scale if scale else None, float(np.mean(err <= q80 * sd)),
                     float(np.mean(err <= q95 * sd)), holdout, 1)
    return SeriesForecast(kind, note, mean, sd, model.dof, score), score
