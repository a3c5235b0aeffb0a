"""Analysts: the datasets in the store, the sources they came from, and their coverage."""

import streamlit as st

from observatory.ui import loaders, widgets

st.title("Data catalogue")
st.caption("Every table of the store with its row count, and every source with provenance.")

st.subheader("Datasets")
widgets.data_table(loaders.datasets())

st.subheader("Sources")
widgets.source_health(loaders.sources())

st.subheader("Map a dataset")
pick_table, pick_resolution = st.columns([1, 2])
with pick_table:
    table = widgets.table_picker(loaders.mappable_tables(), key="analysts_catalogue_table",
                                 default="osm_pois")
with pick_resolution:
    resolution = widgets.resolution_picker(loaders.coverage_resolutions(),
                                           key="analysts_catalogue_resolution")
if table is not None and resolution is not None:
    widgets.cell_map_block(loaders.dataset_cells(table, resolution=resolution))
