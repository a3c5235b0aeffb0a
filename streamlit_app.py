"""Entry point: resolve the viewer's role, build the navigation from it, run the page.

`uv run streamlit run streamlit_app.py` (the store comes from $OBSERVATORY_STORE or
var/observatory.duckdb; `uv run observatory demo` builds one).
"""

import streamlit as st

from observatory.ui import loaders, navigation, widgets

st.set_page_config(page_title="Observatory", page_icon="🏙️", layout="wide")

role = widgets.role_switcher()
if role.sees_internal:  # the server's file layout is not the public's business
    st.sidebar.caption(f"Store: `{loaders.store_label()}`")
if snapshot := loaders.snapshot_label():  # a figure shown to a council can be reproduced
    st.sidebar.caption(snapshot)
problem = loaders.store_problem()
pages = navigation.setup_pages(problem) if problem else navigation.pages_for(role)
st.navigation(pages, position="sidebar").run()
