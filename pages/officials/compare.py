"""Officials: compare districts on one indicator, ranked and on the map, with each trend."""

import streamlit as st

from observatory import views
from observatory.ui import planning_results, trends, widgets
from observatory.ui.gateway import fetch

st.title("Compare areas")
st.caption("Districts ranked on one indicator, on the map, and where each is heading.")
if not fetch(views.has_trends):
    st.warning("This store has no district series yet: rebuild it with `uv run observatory "
               "demo --rebuild`.", icon=":material/update:")
    st.stop()

pick_indicator, pick_period = st.columns([3, 1])
with pick_indicator:
    name = widgets.indicator_picker(fetch(views.trend_catalogue), key="officials_compare_indicator")
if name is None:
    st.stop()
with pick_period:
    labels = fetch(views.district_period_labels, name)  # newest first
    period = widgets.period_picker(list(labels), key="officials_compare_period", shown=labels)
if period is None:
    st.info("No district values: load districts with `observatory ingest districts PATH`.")
    st.stop()

summary = fetch(views.indicator_summary, name, period=period)
ranked, cells = fetch(views.district_comparison, name, period=period)
map_column, rank_column = st.columns([3, 2])
with map_column:
    widgets.cell_map_block(cells, table_label="Table behind the district map")
with rank_column:
    trends.district_ranking(ranked, unit_label=summary.unit_label, direction=summary.direction)

st.subheader("One district's trend")
district = trends.district_picker(ranked, key="officials_compare_district")
if district is not None:
    trends.fan_chart(fetch(views.indicator_trend, name, area_id=district))
planning_results.proposals()
