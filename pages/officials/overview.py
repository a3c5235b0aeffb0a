"""Officials: headline indicators against their targets, and where they stand on the map."""

import streamlit as st

from observatory.ui import loaders, widgets

st.title("Overview")
st.caption("Headline indicators for the whole study area, each at its latest period, with "
           "their targets where declared.")
widgets.scorecard(loaders.scorecard())

st.subheader("Where")
pick_indicator, pick_period, pick_resolution = st.columns([3, 1, 2])
with pick_indicator:
    name = widgets.indicator_picker(loaders.catalogue(headline_only=True),
                                    key="officials_overview_indicator")
if name is None:
    st.stop()
with pick_period:
    period = widgets.period_picker(loaders.periods(name), key="officials_overview_period")
if period is None:
    st.stop()
with pick_resolution:
    resolution = widgets.resolution_picker(loaders.resolutions(name, period=period),
                                           key="officials_overview_resolution")
if resolution is None:
    st.info("No map for this indicator and period.")
    st.stop()

st.markdown(loaders.summary(name, period=period).description)
widgets.cell_map_block(loaders.indicator_cells(name, period=period, resolution=resolution))
