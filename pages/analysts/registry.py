"""Analysts: every indicator definition, its validation status, last run and a map preview."""

import streamlit as st

from observatory import views
from observatory.ui import widgets
from observatory.ui.gateway import fetch

st.title("Indicator registry")
st.caption("Every definition under indicators/, valid or not, and its last run on the store.")
widgets.run_health(fetch(views.registry_status))

st.subheader("One indicator")
pick_indicator, pick_period, pick_resolution = st.columns([2, 1, 2])
with pick_indicator:
    name = widgets.indicator_picker(fetch(views.indicator_catalogue),
                                    key="analysts_registry_indicator")
if name is None:
    st.stop()
with pick_period:
    period = widgets.period_picker(fetch(views.available_periods, name),
                                   key="analysts_registry_period")
with pick_resolution:
    resolution = (widgets.resolution_picker(fetch(views.map_resolutions_of, name,
                                                  period=period),
                                            key="analysts_registry_resolution")
                  if period is not None else None)

method = fetch(views.indicator_methodology, name)
summary = fetch(views.indicator_summary, name, period=period)
definition, preview = st.columns(2)
with definition:
    st.markdown(summary.description)
    st.caption(f"Query ({method.code_language})")
    st.code(method.code, language=method.code_language, wrap_lines=True)
    with st.expander(f"Definition: `{method.definition_path}`", icon=":material/code:"):
        st.code(method.definition, language="yaml", wrap_lines=True)
with preview:
    widgets.kpi_card(summary)
    if resolution is not None:
        widgets.cell_map_block(fetch(views.indicator_cells, name, period=period,
                                     resolution=resolution))
    else:
        widgets.provenance_footer(summary.provenance, period=summary.period)

st.subheader("Lineage: sources, inputs, alert rules and pages")
st.graphviz_chart(fetch(views.lineage_graph, name), width="stretch")
st.caption(f"As JSON: `observatory indicators lineage {name} --json`.")
