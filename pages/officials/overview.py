"""Officials: headline scorecard, where each indicator is heading, what changed, districts."""

import streamlit as st

from observatory.ui import loaders, tiles, trends, widgets

st.title("Overview")
st.caption("Headline indicators for the whole area: latest value, change since the last "
           "period, target and the forecast's chance of meeting it.")
if not trends.ready():
    st.warning("This store has no forecasts yet: rebuild it with `uv run observatory demo "
               "--rebuild`.", icon=":material/update:")
    widgets.scorecard(loaders.scorecard())
    st.stop()

provenance = trends.headline_provenance()
widgets.data_badges(provenance)
tiles.tiles(trends.scorecard())
trends.brief_button(trends.brief(), key="officials_overview_brief")

st.subheader("Where it is heading")
name = widgets.indicator_picker(trends.catalogue(headline_only=True),
                                key="officials_overview_indicator")
if name is None:
    st.stop()
trend = trends.trend_and_districts(name)
trends.trend_footer(trend, provenance)

st.subheader("What changed since the last period")
widgets.data_table(trends.what_changed().drop("name"), max_rows=10)
widgets.provenance_footer(provenance)
