"""Analysts: draft an indicator in the app, validate it as you type, preview it on the
current snapshot in the sandbox, save versions, comment and export the YAML + SQL pair."""

import streamlit as st

from observatory.ui import draft_preview, drafts

st.title("Indicator drafts")
st.caption("Draft a definition here; `observatory indicators import-draft ID` writes it into "
           "indicators/ for review, and the next build computes it like any other. The SQL "
           "runs in a sandbox: one read-only query, no files, a time limit.")
drafts.picker()
fields, text = st.columns([3, 2])
with fields:
    form, form_problems = drafts.form()
    query = drafts.sql_editor()
with text:
    check = drafts.validation(form, query, form_problems)
    drafts.definition(form, check)
st.subheader("Preview")
draft_preview.preview_block(form, query, check)
st.subheader("Save, export and review")
drafts.save_and_export(form, check)
drafts.review()
