"""Analysts: every forecast's backtest (model chosen, MASE against naive, coverage)."""

import streamlit as st

from observatory import views
from observatory.ui import trends, widgets
from observatory.ui.gateway import fetch

st.title("Forecasts")
st.caption("Models are chosen per series by rolling-origin backtest against the naive "
           "forecast; MASE < 1 beats it. Coverage is the share of held-out points inside "
           "the 80 % and 95 % intervals.")
if not fetch(views.has_trends):
    st.warning("This store has no forecasts yet: rebuild it with `uv run observatory demo "
               "--rebuild`.", icon=":material/update:")
    st.stop()

widgets.data_table(fetch(views.forecast_backtests), max_rows=15)

st.subheader("One indicator")
name = widgets.indicator_picker(fetch(views.trend_catalogue), key="analysts_forecasts_indicator")
if name is None:
    st.stop()
trend = trends.trend_and_districts(name)
