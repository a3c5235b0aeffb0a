"""Loaders and widgets of the operations alerts page.

Districts, cells and readings come from the analytical snapshot and alerts, their trails
and the rules' status from the operational database, through the gateway's
`fetch_live` (observatory/ui/gateway.py): they change whenever someone acts or an
evaluation runs, so they are cached for a few seconds only, and every action clears that
cache. Actions go straight to the operational database (one short transaction); a
refused one shows its reason on the page.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from observatory import settings
from observatory.alerts.lifecycle import act
from observatory.errors import InputError
from observatory.opsdb import OpsDB, ops_database, ops_url_for
from observatory.roles import Role
from observatory.ui import auth, widgets
from observatory.ui.gateway import clear_live, fetch_live
from observatory.views import alerts as views

_TTL, _ENTRIES = 5, 64  # seconds: people act on alerts, so never serve them stale for long
FLASH_KEY = "operations_alerts_flash"
SEVERITY_ICONS = {
    "critical": ":material/error:",
    "warning": ":material/warning:",
    "info": ":material/info:",
}
STATE_LABELS = {"firing": "Firing", "acknowledged": "Acknowledged", "resolved": "Resolved"}


def _ops_url() -> str:
    return ops_url_for(settings.store_path())


def _ops(url: str) -> OpsDB:
    return ops_database(url=url)  # cached per URL by observatory.opsdb


def all_alerts() -> pl.DataFrame:
    """Every alert the viewer may see, with its district."""
    return fetch_live(views.alerts_for_role)


def alert_cells(
    *, states: list[str], theme: str | None, district: str | None, resolution: int
) -> views.CellMap:
    """Alerts per cell for the map, filtered like the list."""
    return fetch_live(views.alert_map, states=tuple(states), theme=theme, district=district,
                      resolution=resolution)


def alert_detail(alert_id: int) -> views.AlertDetail | None:
    """The trail and the data behind one alert."""
    return fetch_live(views.alert_detail_for, alert_id)


def rule_status() -> pl.DataFrame:
    """Every rule at its last evaluation."""
    return fetch_live(views.rules_evaluated)


def run_action(action: str, alert_id: int, **fields: str | None) -> None:
    """Apply one lifecycle action in the operational database as the viewer established
    on the server (never a name typed in a form), then rerun."""
    viewer = auth.viewer()
    try:
        if not viewer.holds(Role.OPERATIONS):
            raise InputError("acting on alerts needs the Operations role.")
        act(_ops(_ops_url()), action, alert_id, via="app", by=viewer.actor,
            subject=viewer.subject, email=viewer.email, **fields)
    except InputError as exc:
        st.session_state[FLASH_KEY] = ("error", str(exc))
    else:
        st.session_state[FLASH_KEY] = ("success", f"Alert {alert_id}: {action} recorded.")
    clear_live()
    st.rerun()


# -- widgets ------------------------------------------------------------------------------


def flash() -> None:
    """The outcome of the last action, once."""
    if FLASH_KEY in st.session_state:
        kind, text = st.session_state.pop(FLASH_KEY)
        (st.success if kind == "success" else st.error)(text)


def severity_cards(frame: pl.DataFrame) -> None:
    """Open alerts per severity."""
    counts = views.severity_counts(frame)
    for column, (severity, count) in zip(st.columns(len(counts)), counts.items(), strict=True):
        column.metric(f"{SEVERITY_ICONS[severity]} Open {severity}", f"{count:,}", border=True)


def filters(frame: pl.DataFrame) -> tuple[list[str], str | None, str | None]:
    """State, theme and district pickers."""
    a, b, c = st.columns([2, 1, 1])
    states = a.multiselect(
        "State",
        options=list(STATE_LABELS),
        default=["firing", "acknowledged"],
        format_func=STATE_LABELS.__getitem__,
        key="operations_alerts_states",
    )
    themes = sorted(t for t in frame["theme"].unique().to_list() if t)
    theme = b.selectbox(
        "Theme",
        options=[None, *themes],
        key="operations_alerts_theme",
        format_func=lambda t: "all themes" if t is None else widgets.theme_label(t),
    )
    districts = sorted(d for d in frame["district"].unique().to_list() if d)
    district = c.selectbox(
        "District",
        options=[None, *districts],
        key="operations_alerts_district",
        format_func=lambda d: "all districts" if d is None else d,
    )
    return states, theme, district


LIST_COLUMNS = (
    "id",
    "severity",
    "state",
    "rule",
    "place",
    "started_at",
    "ended_at",
    "value",
    "peak",
    "threshold",
    "unit",
    "assignee",
    "acknowledged_by",
    "comment",
    "owner_team",
    "theme",
    "message",
)


def filter_alerts(
    frame: pl.DataFrame, *, states: list[str], theme: str | None, district: str | None
) -> pl.DataFrame:
    """The alerts the filters keep."""
    return views.filter_alerts(frame, states=states, theme=theme, district=district)


def alert_table(frame: pl.DataFrame) -> None:
    """The filtered alerts, most severe and newest first."""
    if frame.is_empty():
        st.info("No alert matches these filters.")
    widgets.data_table(frame.select(LIST_COLUMNS), max_rows=12)


def _chart(detail: views.AlertDetail) -> None:
    trend = detail.trend
    x = "period" if "period" in trend.columns else "time"
    y = [c for c in ("value", "threshold") if c in trend.columns]
    st.markdown(f"**{detail.trend_label}** ({detail.alert['unit'] or 'value'})")
    st.line_chart(trend, x=x, y=y, height=260, x_label=x, y_label=detail.alert["unit"] or "")
    widgets.table_behind(trend, label="Table behind the chart")


def drill_down(detail: views.AlertDetail) -> None:
    """The alert's message, the data behind it and its audit trail."""
    alert = detail.alert
    ended = f"{alert['ended_at']:%Y-%m-%d %H:%M} UTC" if alert["ended_at"] else "not yet"
    st.markdown(f"{SEVERITY_ICONS.get(str(alert['severity']), '')} **{alert['message']}**")
    st.caption(
        f"Rule `{alert['rule']}` · {alert['kind']} · owner {alert['owner_team']} · "
        f"state **{alert['state']}** · started {alert['started_at']:%Y-%m-%d %H:%M} "
        f"UTC · ended {ended}"
    )
    if not detail.trend.is_empty():
        _chart(detail)
    if not detail.raw.is_empty():
        widgets.table_behind(detail.raw, label=detail.raw_label)
    widgets.table_behind(detail.events, label="Audit trail", expanded=True)


def actions_form(alert_id: int) -> None:
    """Acknowledge, assign, comment or resolve the chosen alert, as the signed-in person."""
    viewer = auth.viewer()
    st.caption(f"You act as **{viewer.actor}**; the audit trail records it with the time.")
    with st.form("operations_alerts_action", border=True):
        action = st.radio(
            "Action",
            options=["acknowledge", "assign", "comment", "resolve"],
            horizontal=True,
            key="operations_alerts_action_kind",
        )
        to = st.selectbox("Assign to (a team, or a person who has signed in)",
                          options=fetch_live(views.assignees), index=None,
                          key="operations_alerts_to")
        comment = st.text_area("Comment", key="operations_alerts_comment", height=80)
        if st.form_submit_button("Apply", type="primary"):
            fields: dict[str, str | None] = {"comment": comment or None}
            if action == "assign":
                fields["to"] = to
            if action in ("comment", "resolve"):
                fields["comment"] = comment
            run_action(action, alert_id, **fields)


def alert_picker(frame: pl.DataFrame) -> int | None:
    """Choose one alert of the filtered list."""
    if frame.is_empty():
        return None
    labels = {
        row["id"]: f"#{row['id']} {row['severity']} · {row['rule']} · {row['place']}"
        for row in frame.iter_rows(named=True)
    }
    return st.selectbox(
        "Alert", options=list(labels), format_func=labels.__getitem__, key="operations_alerts_pick"
    )
