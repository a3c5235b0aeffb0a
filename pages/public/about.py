"""Public portal: what the data is, where it comes from and how it may be reused."""

import streamlit as st

from observatory import views
from observatory.ui import portal, widgets
from observatory.ui.gateway import fetch
from observatory.ui.i18n import t

language = portal.language_switch()
st.title(t("about_title", language))
st.markdown(
    "The figures on this portal are computed from open data on a grid of "
    "[H3](https://h3geo.org) hexagons. Every indicator is a short, public definition "
    "(a YAML file and a SQL query) that anyone can read and rerun.")

st.header("OpenStreetMap")
st.markdown(
    "Streets, buildings and points of interest come from "
    "[OpenStreetMap](https://www.openstreetmap.org/copyright), © OpenStreetMap "
    "contributors, available under the Open Database Licence (ODbL 1.0). Figures derived "
    "from it are shared under the same licence.")

st.header("How walks are computed")
widgets.walking_method_block(views.walking_method())

st.header("Residents are modelled, not counted")
st.markdown(views.population_method())

st.header("Sources")
widgets.source_licences(fetch(views.sources_catalogue))

st.header("What the map covers")
st.caption("OpenStreetMap points of interest (shops, stops, schools…) per cell.")
resolution = widgets.resolution_picker(fetch(views.coverage_resolutions),
                                       key="public_about_resolution", coarser_by=1)
if resolution is not None:
    widgets.cell_map_block(fetch(views.dataset_cells, "osm_pois", resolution=resolution))
