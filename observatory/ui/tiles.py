"""The officials' overview at a glance: one tile per headline indicator, grouped by theme.

A tile shows the label, the latest value with its unit (the one formatting rule,
observatory/formatting.py), the change since the previous period with an arrow coloured
by the indicator's direction (better or worse, not up or down), a sparkline, the target
with its date and source, the status with the forecast's probability of meeting it, and
whether the data is modelled or simulated. Nothing reads `None`: a missing figure says
why. A tile's button opens its trend, forecast fan and district comparison below.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from observatory.targets import THRESHOLDS_TEXT
from observatory.ui.widgets import table_behind, theme_label
from observatory.views.brief import change_text, number, status_text, target_text
from observatory.views.brief_charts import sparkline_svg

STATUS_COLOURS = {"on track": "green", "at risk": "orange", "off track": "red",
                  "no target": "gray", "no forecast": "gray"}
VERDICT_COLOURS = {"better": "green", "worse": "red", "neutral": "gray"}
OPEN_KEY = "officials_overview_indicator"  # the picker of the trend below the tiles


def _open(name: str) -> None:
    st.session_state[OPEN_KEY] = name


def tile(row: dict[str, Any]) -> None:
    """One indicator's tile."""
    with st.container(border=True):
        st.markdown(f"**{row['label']}**")
        value = number(row["value"], row) or "no value yet"
        st.markdown(f"<span style='font-size:1.7em;font-weight:600'>{value}</span>"
                    f" · {row['period_label'] or 'no period'}", unsafe_allow_html=True)
        text, verdict = change_text(row)
        st.markdown(f":{VERDICT_COLOURS[verdict]}[{text}]")
        if svg := sparkline_svg(row["sparkline"] or []):
            st.markdown(svg, unsafe_allow_html=True)
        status = row["status"] or "no forecast"
        st.badge(status_text(row), color=STATUS_COLOURS.get(status, "gray"))
        for flag, colour in (("modelled", "orange"), ("simulated", "red")):
            if row[flag]:
                st.badge(f"{flag} data", color=colour)
        if row["target_value"] is not None:  # else the badge already says "no target"
            st.caption(target_text(row))
        st.button("Trend and districts", key=f"tile_{row['name']}", on_click=_open,
                  args=(row["name"],), icon=":material/show_chart:")


def tiles(frame: pl.DataFrame, *, per_row: int = 3) -> None:
    """Every headline indicator's tile, grouped by theme, with the table behind them."""
    if frame.is_empty():
        st.info("No headline indicator is available for this role.")
        return
    for theme in frame["theme"].unique(maintain_order=True).to_list():
        st.markdown(f"##### {theme_label(theme)}")
        rows = frame.filter(pl.col("theme") == theme).to_dicts()
        for start in range(0, len(rows), per_row):
            for column, row in zip(st.columns(per_row), rows[start:start + per_row],
                                   strict=False):
                with column:
                    tile(row)
    st.caption(f"Status from the forecast's probability of meeting the target at its date: "
               f"{THRESHOLDS_TEXT}. Arrows are coloured by whether the change is better or "
               "worse for people, not by up or down.")
    table_behind(frame.drop("sparkline"), label="Table behind the tiles")
