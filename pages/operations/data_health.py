"""Operations: are the sources fresh and valid, did the indicators run, what is covered."""

import streamlit as st

from observatory import views
from observatory.ui import widgets
from observatory.ui.gateway import fetch

st.title("Data health")
st.caption("Freshness and validation of every loaded source, the last indicator runs, and "
           "where the data covers the study area.")

st.subheader("Sources")
widgets.source_health(fetch(views.sources_catalogue))

st.subheader("Indicator runs")
widgets.run_health(fetch(views.registry_status))

st.subheader("Service requests against targets")
widgets.service_performance(fetch(views.service_performance_of))

st.subheader("Coverage: points of interest per cell")
resolution = widgets.resolution_picker(fetch(views.coverage_resolutions),
                                       key="operations_data_health_resolution")
if resolution is not None:
    widgets.cell_map_block(fetch(views.dataset_cells, "osm_pois", resolution=resolution))
