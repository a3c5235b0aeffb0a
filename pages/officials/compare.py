"""Officials: compare districts on one indicator, ranked and on the map, with each trend."""

import streamlit as st

from observatory.ui import loaders, planning_results, trends, widgets

st.title("Compare areas")
st.caption("Districts ranked on one indicator, on the map, and where each is heading.")
if not trends.ready():
    st.warning("This store has no district series yet: rebuild it with `uv run observatory "
               "demo --rebuild`.", icon=":material/update:")
    st.stop()

pick_indicator, pick_period = st.columns([3, 1])
with pick_indicator:
    name = widgets.indicator_picker(trends.catalogue(), key="officials_compare_indicator")
if name is None:
    st.stop()
with pick_period:
    period = widgets.period_picker(trends.district_periods(name),
                                   key="officials_compare_period")
if period is None:
    st.info("No district values: load districts with `observatory ingest districts PATH`.")
    st.stop()

summary = loaders.summary(name, period=period)
ranked, cells = trends.district_comparison(name, period=period)
map_column, rank_column = st.columns([3, 2])
with map_column:
    widgets.cell_map_block(cells, table_label="Table behind the district map")
with rank_column:
    trends.district_ranking(ranked, unit_label=summary.unit_label, direction=summary.direction)

st.subheader("One district's trend")
district = trends.district_picker(ranked, key="officials_compare_district")
if district is not None:
    trends.fan_chart(trends.trend(name, area_id=district))
planning_results.proposals()
