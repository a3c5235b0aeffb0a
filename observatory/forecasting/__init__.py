"""Trends, forecasts and targets: models (models.py), per-area series and the build step."""
