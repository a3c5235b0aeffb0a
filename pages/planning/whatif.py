"""Planners: test a decision before it is taken. Add, close or move a facility and see
15-minute access change at once, before and after, for the whole area and per district."""

import streamlit as st

from observatory.ui import planning, planning_results

st.title("What-if: 15-minute access")
st.caption("Edits recompute only what can change (the walks near the facility), exactly as "
           "a full recompute would. Residents are modelled; cells near the extract's edge "
           "stay marked uncertain.")
planning.flash()

scenario = planning.settings_row(planning.current())
planning.keep(scenario)
focus = planning.category_picker()
data = planning.figures(scenario, focus)
if "problem" in data:
    st.error(data["problem"])
    st.stop()

planning.pick_map(data, focus)
planning.edit_form(scenario, focus, data["facilities"])

st.subheader("Edits")
planning_results.edit_list(scenario)

st.subheader("Before and after")
planning_results.headline(data)
planning_results.tables(data)

st.subheader("Where it changes")
planning_results.difference_map(data, focus)

st.subheader("For slow walkers")
planning_results.slow_lens(scenario, focus)

st.subheader("Keep and share")
planning_results.keep_and_share(scenario)
planning_results.provenance(focus)
