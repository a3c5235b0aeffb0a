"""Entry point: establish the viewer on the server, build the navigation from their roles,
run the page.

`uv run observatory demo` builds the demo store and serves it with the demo role switcher;
`uv run observatory serve` serves a store to the public, and to signed-in staff when
`[auth]` is configured in .streamlit/secrets.toml (observatory/ui/auth.py).
"""

import streamlit as st

from observatory.ui import auth, gateway, navigation

st.set_page_config(page_title="Observatory", page_icon="🏙️", layout="wide")

viewer, settings, problem = auth.current_viewer()
auth.identity_block(viewer, settings, problem)
if viewer.roles:  # the server's file layout is not the public's business
    st.sidebar.caption(f"Store: `{gateway.store_label()}`")
if snapshot := gateway.snapshot_label():  # a figure shown to a council can be reproduced
    st.sidebar.caption(snapshot)
if store_problem := gateway.store_problem():
    st.navigation(navigation.setup_pages(store_problem, staff=bool(viewer.roles)),
                  position="hidden").run()
else:
    page, role = navigation.navigate(viewer)
    auth.set_page_role(role)
    auth.demo_notice(viewer)
    page.run()
