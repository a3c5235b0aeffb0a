"""Cached loaders and widgets for trends, forecasts, targets and districts.

Same rules as observatory.ui.loaders: every cached function takes the Context and the
role, so filtered data cannot leak between roles; widgets draw, they never query.
"""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from observatory.ui.loaders import Context, _cursor, _registry, context, current_role
from observatory.ui.widgets import cell_map_block, table_behind
from observatory.views import brief as briefs
from observatory.views import trends as views
from observatory.views.indicators import visible_spec, visible_specs
from observatory.views.model import CellMap, Provenance
from observatory.views.provenance import provenance_for_tables

_TTL = "10m"
_ENTRIES = 256
STATUS_ICONS = {"on track": "🟢", "at risk": "🟠", "off track": "🔴", "no target": "⚪",
                "no forecast": "⚪"}


# -- loaders ------------------------------------------------------------------------------

@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _ready(ctx: Context) -> bool:
    with _cursor(ctx) as con:
        return views.has_trends(con)


def ready() -> bool:
    """Whether the store holds forecasts (built with the forecast step)."""
    return _ready(context())


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _scorecard(ctx: Context, role: object) -> pl.DataFrame:
    with _cursor(ctx) as con:
        return views.officials_scorecard(con, _registry(ctx), role=role)


def scorecard() -> pl.DataFrame:
    """Headline indicators with change, target, status and sparkline."""
    return _scorecard(context(), current_role())


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _headline_provenance(ctx: Context, role: object) -> Provenance:
    specs = visible_specs(_registry(ctx), role=role)
    chosen = [s for s in specs if s.spec.headline] or specs
    inputs = sorted({i for s in chosen for i in s.spec.inputs})
    with _cursor(ctx) as con:
        return provenance_for_tables(con, inputs, unit_label="per indicator (see the table)")


def headline_provenance() -> Provenance:
    """The sources behind the headline indicators together."""
    return _headline_provenance(context(), current_role())


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _trend(ctx: Context, role: object, name: str, area_id: str) -> views.Trend:
    with _cursor(ctx) as con:
        loaded = visible_spec(_registry(ctx), name, role=role)
        return views.indicator_trend(con, loaded, role=role, area_id=area_id)


def trend(name: str, *, area_id: str = "all") -> views.Trend:
    """History, forecast and status of one indicator in one area."""
    return _trend(context(), current_role(), name, area_id)


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _district_periods(ctx: Context, role: object, name: str) -> list[str]:
    with _cursor(ctx) as con:
        visible_spec(_registry(ctx), name, role=role)
        return views.district_periods(con, name=name)


def district_periods(name: str) -> list[str]:
    """Periods with district values, newest first."""
    return _district_periods(context(), current_role(), name)


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _districts(ctx: Context, role: object, name: str, period: str
               ) -> tuple[pl.DataFrame, CellMap]:
    with _cursor(ctx) as con:
        loaded = visible_spec(_registry(ctx), name, role=role)
        return views.district_comparison(con, loaded, role=role, period=period)


def district_comparison(name: str, *, period: str) -> tuple[pl.DataFrame, CellMap]:
    """Districts ranked best first and the district map."""
    return _districts(context(), current_role(), name, period)


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _changes(ctx: Context, role: object) -> pl.DataFrame:
    with _cursor(ctx) as con:
        return views.what_changed(con, _registry(ctx), role=role)


def what_changed() -> pl.DataFrame:
    """Every indicator's latest period against the one before."""
    return _changes(context(), current_role())


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _backtests(ctx: Context, role: object) -> pl.DataFrame:
    with _cursor(ctx) as con:
        return views.forecast_backtests(con, _registry(ctx), role=role)


def backtests() -> pl.DataFrame:
    """Each indicator's forecast model, MASE, coverage and status."""
    return _backtests(context(), current_role())


def catalogue(*, headline_only: bool = False) -> pl.DataFrame:
    """Indicators with results, those with a forecast first (so pickers open on a trend)."""
    from observatory.ui import loaders

    frame = loaders.catalogue(headline_only=headline_only)
    forecast = backtests().filter(pl.col("model").is_not_null())["indicator"].to_list()
    return frame.with_columns(pl.col("name").is_in(forecast).alias("_forecast")).sort(
        "_forecast", descending=True, maintain_order=True).drop("_forecast")


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _brief(ctx: Context, role: object, today: str) -> tuple[str, bytes]:
    with _cursor(ctx) as con:
        brief = briefs.officials_brief(con, _registry(ctx), role=role, today=today)
    return briefs.brief_html(brief), briefs.brief_pdf(brief)


def brief() -> tuple[str, bytes]:
    """The one-page brief as HTML and as PDF (the same rows)."""
    return _brief(context(), current_role(), f"{dt.date.today():%d %b %Y}")


# -- widgets ------------------------------------------------------------------------------

def fan_chart(trend: views.Trend, *, height: int = 360) -> None:
    """History, forecast mean with 80 % and 95 % fans, and the target marker."""
    fig = go.Figure()
    fc = trend.forecast
    # A quantity never observed below zero is not drawn below zero either.
    floor = 0.0 if trend.history.height and trend.history["value"].min() >= 0 else None
    if fc.height:
        joined = [trend.history["period"][-1], *fc["period"].to_list()]
        last = trend.history["value"][-1]
        for level, alpha in ((95, 0.15), (80, 0.3)):
            upper = [last, *fc[f"hi{level}"].to_list()]
            lower = [last, *(v if floor is None else max(v, floor)
                             for v in fc[f"lo{level}"].to_list())]
            fig.add_trace(go.Scatter(x=joined + joined[::-1], y=upper + lower[::-1],
                                     fill="toself", fillcolor=f"rgba(49,104,142,{alpha})",
                                     line={"width": 0}, name=f"{level} % interval"))
        fig.add_trace(go.Scatter(x=joined, y=[last, *fc["mean"].to_list()], name="forecast",
                                 line={"dash": "dash", "color": "#31688e"}))
    fig.add_trace(go.Scatter(x=trend.history["period"].to_list(),
                             y=trend.history["value"].to_list(), name="observed",
                             mode="lines+markers", line={"color": "#222"}))
    target = trend.status.get("target_value")
    if target is not None and trend.status.get("target_by") is not None:
        fig.add_trace(go.Scatter(x=[str(trend.status["target_by"].year)], y=[target],
                                 mode="markers+text", text=["target"],
                                 textposition="top center", name="target",
                                 marker={"symbol": "star", "size": 14, "color": "#d62728"}))
    periods = sorted({str(x) for trace in fig.data for x in (trace.x or ())})
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      title=f"{trend.label}: {trend.area_name}",
                      yaxis_title=trend.unit_label,
                      xaxis={"type": "category", "categoryorder": "array",
                             "categoryarray": periods},
                      legend={"orientation": "h"})
    st.plotly_chart(fig, width="stretch")
    status_note(trend)
    table_behind(_trend_table(trend), label="Table behind the trend chart")


def _trend_table(trend: views.Trend) -> pl.DataFrame:
    history = trend.history.with_columns(pl.lit("observed").alias("kind"))
    forecast = trend.forecast.select("period", pl.col("mean").alias("value"), "lo80", "hi80",
                                     "lo95", "hi95", pl.lit("forecast").alias("kind"))
    return pl.concat([history, forecast], how="diagonal_relaxed")


def status_note(trend: views.Trend) -> None:
    """The status with its probability and thresholds, and why, in words."""
    status = trend.status
    state = str(status.get("status") or "no forecast")
    probability = status.get("probability")
    text = f"{STATUS_ICONS.get(state, '')} **{state}**"
    if probability is not None:
        text += f": probability of meeting the target {probability:.0%}"
    st.markdown(text)
    if status.get("reason"):
        st.caption(str(status["reason"]))
    if trend.backtest.get("note"):
        st.caption(f"Model: {trend.backtest.get('model') or 'none'} — {trend.backtest['note']}")
    if filled := trend.backtest.get("filled_points"):
        st.caption(f":orange-badge[{filled} missing period{'s' if filled != 1 else ''} filled "
                   f"by {trend.backtest.get('fill_method') or 'interpolation'} before "
                   "forecasting]")


def district_ranking(frame: pl.DataFrame, *, unit_label: str, direction: str) -> None:
    """Districts as ranked horizontal bars, best first, with the table behind."""
    word = {"lower_is_better": "lower is better", "higher_is_better": "higher is better"}
    st.markdown(f"**Districts ranked** ({word.get(direction, 'highest first')})")
    if frame.is_empty():
        st.info("No district values for this indicator and period.")
        return
    st.bar_chart(frame, x="district", y="value", horizontal=True, sort=False,
                 x_label="district", y_label=unit_label, height=max(220, 34 * frame.height + 60))
    table_behind(frame, label="Table behind the district ranking")


def brief_button(brief: tuple[str, bytes], *, key: str) -> None:
    """Download the one-page brief, as PDF or as printable HTML."""
    html_text, pdf = brief
    a, b = st.columns(2)
    a.download_button("Download the council brief (PDF)", data=pdf,
                      file_name="observatory-brief.pdf", mime="application/pdf",
                      key=f"{key}_pdf", on_click="ignore", icon=":material/picture_as_pdf:")
    b.download_button("The same brief as a web page (HTML)", data=html_text,
                      file_name="observatory-brief.html", mime="text/html", key=key,
                      on_click="ignore", icon=":material/print:")


def district_picker(ranked: pl.DataFrame, *, key: str) -> str | None:
    """Choose one of the ranked districts (by name)."""
    options = dict(zip(ranked["district_id"].to_list(), ranked["district"].to_list(),
                       strict=True))
    return st.selectbox("District", options=list(options), format_func=options.__getitem__,
                        key=key)


def trend_footer(trend: views.Trend, fallback: Provenance) -> None:
    """The provenance line under a trend: its latest period and its sources."""
    from observatory.ui.widgets import provenance_footer

    provenance_footer(trend.provenance or fallback,
                      period=trend.history["period"][-1] if trend.history.height else None)


def trend_and_districts(name: str) -> views.Trend:
    """The fan chart of `name` beside its latest district map (with the table behind)."""
    chosen = trend(name)
    chart, districts = st.columns([3, 2])
    with chart:
        fan_chart(chosen)
    with districts:
        periods = district_periods(name)
        if periods:
            _, cells = district_comparison(name, period=periods[0])
            st.markdown(f"**By district, {periods[0]}**")
            cell_map_block(cells, height=300, table_label="Table behind the district map")
        else:
            st.info("No district values for this indicator.")
    return chosen
