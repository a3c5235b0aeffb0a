"""Officials: headline scorecard, where each indicator is heading, what changed, districts."""

import streamlit as st

from observatory import views
from observatory.ui import tiles, trends, widgets
from observatory.ui.gateway import fetch

st.title("Overview")
st.caption("Headline indicators for the whole area: latest value, change since the last "
           "period, target and the forecast's chance of meeting it.")
if not fetch(views.has_trends):
    st.warning("This store has no forecasts yet: rebuild it with `uv run observatory demo "
               "--rebuild`.", icon=":material/update:")
    widgets.scorecard(fetch(views.headline_scorecard))
    st.stop()

provenance = fetch(views.headline_provenance)
widgets.data_badges(provenance)
tiles.tiles(fetch(views.officials_scorecard))
trends.brief_button(trends.brief(), key="officials_overview_brief")

st.subheader("Where it is heading")
name = widgets.indicator_picker(fetch(views.trend_catalogue, headline_only=True),
                                key="officials_overview_indicator")
if name is None:
    st.stop()
trend = trends.trend_and_districts(name)
trends.trend_footer(trend, provenance)

st.subheader("What changed since the last period")
widgets.data_table(fetch(views.what_changed), max_rows=10, hide=("name",))
widgets.provenance_footer(provenance)
