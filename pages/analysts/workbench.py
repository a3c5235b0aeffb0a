"""Analysts: explore the current snapshot with read-only SQL, in the sandbox."""

import streamlit as st

from observatory import views
from observatory.ui import widgets, workbench
from observatory.ui.gateway import fetch

st.title("SQL workbench")
st.caption("Read-only SQL on the current snapshot. It runs in a sandbox: one query, no "
           "files, no settings, a time limit and a row cap.")
query, tables = st.columns([3, 2])
with query:
    workbench.editor()
    workbench.result()
with tables:
    st.markdown("**Tables and columns**")
    widgets.data_table(fetch(views.store_schema), max_rows=20)
