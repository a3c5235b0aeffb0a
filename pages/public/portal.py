"""Public portal: open indicators by theme, with map, table, download and method."""

import streamlit as st

from observatory.ui import loaders, widgets

st.title("Neighbourhood indicators")
st.markdown("Open figures about the area, cell by cell on a hexagon grid. Cells that rest "
            "on too few people are withheld to protect privacy.")

catalogue = loaders.catalogue()
theme = widgets.theme_picker(catalogue, key="public_portal_theme")
name = widgets.indicator_picker(loaders.catalogue(theme=theme),
                                key="public_portal_indicator")
if name is None:
    st.stop()
pick_period, pick_resolution = st.columns([1, 2])
with pick_period:
    period = widgets.period_picker(loaders.periods(name), key="public_portal_period")
if period is None:
    st.stop()
with pick_resolution:
    resolution = widgets.resolution_picker(loaders.resolutions(name, period=period),
                                           key="public_portal_resolution")
if resolution is None:
    st.stop()

summary = loaders.summary(name, period=period)
widgets.kpi_card(summary)
st.markdown(summary.description)
cells = loaders.indicator_cells(name, period=period, resolution=resolution)
widgets.cell_map_block(cells, table_label="The published cells")
widgets.download_csv(cells, key="public_portal_download",
                     file_name=f"{name}_{period}_res{resolution}.csv")
widgets.methodology_panel(loaders.methodology(name), cells.provenance)
