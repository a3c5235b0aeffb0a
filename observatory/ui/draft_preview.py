"""A draft's preview on the current snapshot: the whole-area value, the map at a chosen
resolution, the distribution of cell values, the output-contract checks and the time it
took on the server. It runs in the sandbox (observatory/drafts/preview.py) and belongs to
the text it ran on: an edit marks it out of date.
"""

from __future__ import annotations

import plotly.express as px
import polars as pl
import streamlit as st

from observatory import views
from observatory.drafts.check import DraftCheck
from observatory.drafts.form import DraftForm
from observatory.drafts.preview import Preview, preview
from observatory.registry.spec import IndicatorSpec
from observatory.ui import widgets
from observatory.ui.drafts import FLASH_KEY, P, checked, current, text_digest
from observatory.ui.gateway import context, cursor, sandbox
from observatory.views.colours import format_value

PREVIEW_KEY, RESOLUTION_KEY = f"{P}preview", f"{P}preview_resolution"


def _run() -> None:
    draft, query, form_problems = current()
    check = checked(draft, query, form_problems)
    if check.loaded is None:
        st.session_state[FLASH_KEY] = ("error", "Not previewed: " + " ".join(check.problems))
        return
    st.session_state[PREVIEW_KEY] = (text_digest(draft, query), preview(sandbox(), check.loaded),
                                     check.loaded.spec)
    st.session_state.pop(RESOLUTION_KEY, None)


def _figure(result: Preview) -> str:
    value = result.whole_area()
    return "no value" if value is None else format_value(value)


def _checks_table(result: Preview) -> None:
    rows = [{"check": c.name, "holds": "yes" if c.ok else "no",
             "what is wrong": "" if c.ok else c.detail} for c in result.checks]
    widgets.data_table(pl.DataFrame(rows, schema={"check": pl.String, "holds": pl.String,
                                                  "what is wrong": pl.String}))


def _map_and_distribution(result: Preview, spec: IndicatorSpec) -> None:
    resolutions = views.preview_resolutions(result)
    if not resolutions:
        st.info("No cells to map: the query returned no rows with a value.")
        return
    left, right = st.columns([3, 2])
    with left:
        resolution = st.selectbox("Map resolution", resolutions, key=RESOLUTION_KEY)
        with cursor(context()) as con:
            cells = views.preview_map(con, result, spec, resolution=resolution)
        widgets.h3_map(cells, height=380)
    with right:
        values = views.draft_distribution(result, spec)
        figure = px.histogram(values.to_pandas(), x="value", nbins=30,
                              labels={"value": spec.unit_label})
        figure.update_layout(height=320, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                             yaxis_title="cells", title="Distribution of cell values")
        st.plotly_chart(figure, width="stretch", key=f"{P}histogram")


def preview_block(draft: DraftForm, query: str, check: DraftCheck) -> None:
    """The Preview button and the last preview of this draft."""
    st.button("Preview on the current snapshot", icon=":material/visibility:",
              key=f"{P}preview_run", on_click=_run, disabled=bool(check.problems),
              help="fix the problems above first" if check.problems else None)
    stored = st.session_state.get(PREVIEW_KEY)
    if stored is None:
        st.caption("The preview runs the draft in the sandbox on the current snapshot; "
                   "nothing is written.")
        return
    digest, result, spec = stored
    if digest != text_digest(draft, query):
        st.warning("The draft changed since this preview: preview it again.",
                   icon=":material/history:")
    if result.problem:
        st.error(result.problem, icon=":material/block:")
        return
    a, b, c = st.columns(3)
    a.metric(f"Whole area, {result.period or 'no period'} ({spec.unit_label})", _figure(result))
    b.metric(f"Cells at resolution {spec.grain.h3_resolution}", f"{result.rows:,}")
    c.metric("Answered on the server in", f"{result.seconds * 1000:,.0f} ms")
    _checks_table(result)
    if result.ok:
        _map_and_distribution(result, spec)
