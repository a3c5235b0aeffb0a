"""Analysts: who holds which role, and where each role comes from."""

import streamlit as st

from observatory.ui import auth, widgets

st.title("People and roles")
st.caption("Roles come from the identity provider's claim, from the access file "
           "(e-mails and domains) and from grants made with `observatory users grant`; a "
           "person holds the union. People appear here once they have signed in.")
frame = auth.people_table()
if frame.is_empty():
    st.info("No roles granted yet: no access-file entries, no grants and no sign-ins.")
widgets.data_table(frame)
st.caption("Grant or revoke with `observatory users grant EMAIL ROLE` and "
           "`observatory users revoke EMAIL ROLE` (an e-mail, or a domain as @city.example).")
