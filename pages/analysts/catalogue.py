"""Analysts: the datasets in the store, the sources they came from, and their coverage."""

import streamlit as st

from observatory import views
from observatory.ui import widgets
from observatory.ui.gateway import fetch

st.title("Data catalogue")
st.caption("Every table of the store with its row count, and every source with provenance.")

st.subheader("Datasets")
widgets.data_table(fetch(views.dataset_catalogue))

st.subheader("Sources")
widgets.source_health(fetch(views.sources_catalogue))

st.subheader("Map a dataset")
pick_table, pick_resolution = st.columns([1, 2])
with pick_table:
    table = widgets.table_picker(fetch(views.mappable_tables), key="analysts_catalogue_table",
                                 default="osm_pois")
with pick_resolution:
    resolution = widgets.resolution_picker(fetch(views.coverage_resolutions),
                                           key="analysts_catalogue_resolution")
if table is not None and resolution is not None:
    widgets.cell_map_block(fetch(views.dataset_cells, table, resolution=resolution))
