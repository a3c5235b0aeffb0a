"""The only Streamlit-aware package: the one cached gateway to the views, widgets by
kind, sign-in and navigation."""
