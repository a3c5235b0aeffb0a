"""Operations: are the sources fresh and valid, did the indicators run, what is covered."""

import streamlit as st

from observatory.ui import loaders, widgets

st.title("Data health")
st.caption("Freshness and validation of every loaded source, the last indicator runs, and "
           "where the data covers the study area.")

st.subheader("Sources")
widgets.source_health(loaders.sources())

st.subheader("Indicator runs")
widgets.run_health(loaders.registry_status())

st.subheader("Service requests against targets")
widgets.service_performance(loaders.service_performance())

st.subheader("Coverage: points of interest per cell")
resolution = widgets.resolution_picker(loaders.coverage_resolutions(),
                                       key="operations_data_health_resolution")
if resolution is not None:
    widgets.cell_map_block(loaders.dataset_cells("osm_pois", resolution=resolution))
