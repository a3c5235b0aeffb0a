"""Planners: the saved scenarios, to reopen, duplicate, delete and compare."""

import streamlit as st

from observatory.ui import planning_results

st.title("Saved scenarios")
st.caption("Every scenario saved from the What-if page, with its author and time. Officials "
           "see them as proposals beside the official figures.")
frame = planning_results.saved_list()
planning_results.saved_actions(frame)
st.subheader("All saved scenarios")
planning_results.saved_table(frame)
st.subheader("Compare two")
planning_results.compare(frame)
