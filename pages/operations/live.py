"""Operations: the feeds as they arrive. Newest readings and alerts, refreshed every few
seconds while sensor gateways append (`observatory watch`, `observatory demo --live`)."""

import streamlit as st

from observatory.ui import live

st.title("Live feeds")
st.caption("Readings appended by sensor gateways (`observatory watch DIR --source ID`) show "
           "here within seconds, with the alerts they raise or clear. Run "
           "`observatory demo --live` to see the demo's simulated network report in real time.")
live.live_panel()
st.subheader("Where the newest readings are")
choices = live.variables()
if choices:
    variable = st.segmented_control("Variable", choices, default=choices[0],
                                    key="operations_live_variable")
    live.live_map(variable or choices[0])
st.page_link("pages/operations/alerts.py", label="Act on the alerts",
             icon=":material/notifications:")
