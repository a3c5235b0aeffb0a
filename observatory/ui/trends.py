"""Widgets for trends, forecasts, targets and districts: they draw what the views return
(through observatory.ui.gateway), they never query."""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from observatory.ui.gateway import fetch
from observatory.ui.widgets import cell_map_block, table_behind
from observatory.views import brief as briefs
from observatory.views import trends as views
from observatory.views.model import Provenance

STATUS_ICONS = {"on track": "🟢", "at risk": "🟠", "off track": "🔴", "no target": "⚪",
                "no forecast": "⚪"}


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


def brief() -> tuple[str, bytes]:
    """The one-page brief of today as HTML and as PDF (the same rows)."""
    return fetch(briefs.brief_files, today=f"{dt.date.today():%d %b %Y}")


def trend_and_districts(name: str) -> views.Trend:
    """The fan chart of `name` beside its latest district map (with the table behind)."""
    chosen = fetch(views.indicator_trend, name)
    chart, districts = st.columns([3, 2])
    with chart:
        fan_chart(chosen)
    with districts:
        periods = fetch(views.district_periods, name)
        if periods:
            _, cells = fetch(views.district_comparison, name, period=periods[0])
            st.markdown(f"**By district, {periods[0]}**")
            cell_map_block(cells, height=300, table_label="Table behind the district map")
        else:
            st.info("No district values for this indicator.")
    return chosen
