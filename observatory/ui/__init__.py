"""The only Streamlit-aware package: cached loaders, widgets and navigation."""
