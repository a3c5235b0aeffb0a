"""Officials: compare areas on one indicator, on the map and ranked at a coarser grain."""

import streamlit as st

from observatory.ui import loaders, widgets

st.title("Compare areas")
st.caption("Pick an indicator, see it on the map, and rank larger areas against each other.")

pick_indicator, pick_period = st.columns([3, 1])
with pick_indicator:
    name = widgets.indicator_picker(loaders.catalogue(), key="officials_compare_indicator")
if name is None:
    st.stop()
with pick_period:
    period = widgets.period_picker(loaders.periods(name), key="officials_compare_period")
if period is None:
    st.stop()

summary = loaders.summary(name, period=period)
widgets.kpi_card(summary)
resolutions = loaders.resolutions(name, period=period)

map_column, rank_column = st.columns([3, 2])
with map_column:
    resolution = widgets.resolution_picker(resolutions, key="officials_compare_resolution",
                                           label="Map cell size")
    if resolution is not None:
        widgets.cell_map_block(loaders.indicator_cells(name, period=period,
                                                       resolution=resolution))
with rank_column:
    rank_resolution = widgets.resolution_picker(
        resolutions, key="officials_compare_rank_resolution", coarser_by=1,
        label="Rank areas of size")
    if rank_resolution is not None:
        widgets.ranked_bar(
            loaders.ranked_cells(name, period=period, resolution=rank_resolution),
            unit_label=summary.unit_label, direction=summary.direction)
