"""The live panel of the operations pages: it reruns itself every few seconds
(`st.fragment(run_every=…)`), so new readings and new alerts appear without a click.

Each rerun reads the current snapshot (the gateway, observatory/ui/gateway.py, follows
the store link, so a snapshot published by an append shows on the next tick) and the operational
database (alerts cached for a few seconds only).
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import streamlit as st

from observatory.ui import alerts as alert_ui
from observatory.ui import widgets
from observatory.ui.gateway import fetch, snapshot_label
from observatory.views import live as views

REFRESH = timedelta(seconds=5)


def _age(seconds: int | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    if seconds < 172_800:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86_400} days ago"


def variables() -> list[str]:
    """The variables the feeds report, the demo's PM2.5 first."""
    found = sorted(set(fetch(views.latest_readings)["variable"].to_list()))
    return sorted(found, key=lambda v: v != "pm25")


@st.fragment(run_every=REFRESH)
def live_map(variable: str) -> None:
    """The newest reading of one variable per cell, refreshed every few seconds."""
    widgets.cell_map_block(fetch(views.latest_cells, variable=variable),
                           table_label="Table behind the map: newest reading per cell")


@st.fragment(run_every=REFRESH)
def live_panel() -> None:
    """Newest readings and newest alerts, refreshed every few seconds."""
    latest = views.with_ages(fetch(views.latest_readings))
    st.caption(f"Refreshes every {REFRESH.seconds} s · {snapshot_label() or ''}")
    if latest.is_empty():
        st.info("No sensor readings loaded (`observatory ingest timeseries FILE`).")
        return
    if latest["simulated"].any():
        st.badge("Simulated data: the demo's sensor network, not real observations",
                 icon=":material/science:", color="red")
    newest = latest.row(0, named=True)
    cols = st.columns(3)
    cols[0].metric("Newest reading", _age(newest["age_s"]))
    cols[1].metric("Series reporting in the last hour",
                   f"{latest.filter(pl.col('age_s') <= 3600).height} of {latest.height}")
    alerts = alert_ui.all_alerts()
    open_alerts = alerts.filter(pl.col("state") != "resolved").height if alerts.height else 0
    cols[2].metric("Open alerts", f"{open_alerts:,}")
    st.markdown("**Newest reading of every series**")
    table = latest.with_columns(
        pl.Series("received", [_age(a) for a in latest["age_s"].to_list()], dtype=pl.String),
        pl.col("time").dt.strftime("%Y-%m-%d %H:%M:%S UTC"),
        pl.col("value").round(1)).select("station", "variable", "value", "unit", "time",
                                          "received", "readings", "source_id")
    widgets.data_table(table)
    st.markdown("**Alerts that changed last**")
    widgets.data_table(views.newest_alerts(alerts))
