"""Loaders and widgets of the operations alerts page.

Loaders follow observatory/ui/loaders.py: cached on the store's Context and the role.
Actions (acknowledge, assign, comment, resolve) write through a short write session on
the store; the store file is swapped, so its mtime (part of every cache key) changes, and
the cached read-only connections are released so none keeps reading the old file.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from observatory import settings
from observatory.alerts.lifecycle import act_in_store
from observatory.errors import InputError
from observatory.roles import Role
from observatory.ui import loaders, widgets
from observatory.ui.loaders import Context, _cursor, _registry, context, current_role
from observatory.views import alerts as views

_TTL, _ENTRIES = "10m", 64
FLASH_KEY = "operations_alerts_flash"
SEVERITY_ICONS = {"critical": ":material/error:", "warning": ":material/warning:",
                  "info": ":material/info:"}
STATE_LABELS = {"firing": "Firing", "acknowledged": "Acknowledged", "resolved": "Resolved"}


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _alerts(ctx: Context, role: Role) -> pl.DataFrame:
    with _cursor(ctx) as con:
        return views.alerts_for_role(con, _registry(ctx), role=role)


def all_alerts() -> pl.DataFrame:
    """Every alert the viewer may see, with its district."""
    return _alerts(context(), current_role())


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _cells(ctx: Context, role: Role, states: tuple[str, ...], theme: str | None,
           district: str | None, resolution: int) -> views.CellMap:
    frame = views.filter_alerts(_alerts(ctx, role), states=list(states), theme=theme,
                                district=district)
    with _cursor(ctx) as con:
        return views.alert_cells(con, frame, resolution=resolution)


def alert_cells(*, states: list[str], theme: str | None, district: str | None,
                resolution: int) -> views.CellMap:
    """Alerts per cell for the map, filtered like the list."""
    return _cells(context(), current_role(), tuple(states), theme, district, resolution)


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _detail(ctx: Context, role: Role, alert_id: int) -> views.AlertDetail | None:
    with _cursor(ctx) as con:
        return views.alert_detail(con, _alerts(ctx, role), alert_id)


def alert_detail(alert_id: int) -> views.AlertDetail | None:
    """The trail and the data behind one alert."""
    return _detail(context(), current_role(), alert_id)


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _rules(ctx: Context, role: Role) -> pl.DataFrame:
    del role  # staff page; the role stays in the key by rule
    with _cursor(ctx) as con:
        return views.rule_status(con)


def rule_status() -> pl.DataFrame:
    """Every rule at its last evaluation."""
    return _rules(context(), current_role())


def run_action(action: str, alert_id: int, **fields: str | None) -> None:
    """Apply one lifecycle action to the store, then rerun on the new file."""
    try:
        act_in_store(settings.store_path(), action, alert_id, **fields)
    except InputError as exc:
        st.session_state[FLASH_KEY] = ("error", str(exc))
    else:
        st.session_state[FLASH_KEY] = ("success", f"Alert {alert_id}: {action} recorded.")
    loaders._connection.clear()  # release read-only connections to the replaced file
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
    for column, (severity, count) in zip(st.columns(len(counts)), counts.items(),
                                         strict=True):
        column.metric(f"{SEVERITY_ICONS[severity]} Open {severity}", f"{count:,}", border=True)


def filters(frame: pl.DataFrame) -> tuple[list[str], str | None, str | None]:
    """State, theme and district pickers."""
    a, b, c = st.columns([2, 1, 1])
    states = a.multiselect("State", options=list(STATE_LABELS), default=["firing",
                           "acknowledged"], format_func=STATE_LABELS.__getitem__,
                           key="operations_alerts_states")
    themes = sorted(t for t in frame["theme"].unique().to_list() if t)
    theme = b.selectbox("Theme", options=[None, *themes], key="operations_alerts_theme",
                        format_func=lambda t: "all themes" if t is None
                        else widgets.theme_label(t))
    districts = sorted(d for d in frame["district"].unique().to_list() if d)
    district = c.selectbox("District", options=[None, *districts],
                           key="operations_alerts_district",
                           format_func=lambda d: "all districts" if d is None else d)
    return states, theme, district


LIST_COLUMNS = ("id", "severity", "state", "rule", "place", "started_at", "ended_at", "value",
                "peak", "threshold", "unit", "assignee", "acknowledged_by", "comment",
                "owner_team", "theme", "message")


def filter_alerts(frame: pl.DataFrame, *, states: list[str], theme: str | None,
                  district: str | None) -> pl.DataFrame:
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
    st.markdown(f"{SEVERITY_ICONS.get(str(alert['severity']), '')} **{alert['message']}**")
    st.caption(f"Rule `{alert['rule']}` · {alert['kind']} · owner {alert['owner_team']} · "
               f"state **{alert['state']}** · started {alert['started_at']:%Y-%m-%d %H:%M} "
               f"UTC · ended {alert['ended_at'] or 'not yet'}")
    if not detail.trend.is_empty():
        _chart(detail)
    if not detail.raw.is_empty():
        widgets.table_behind(detail.raw, label=detail.raw_label)
    widgets.table_behind(detail.events, label="Audit trail", expanded=True)


def actions_form(alert_id: int) -> None:
    """Acknowledge, assign, comment or resolve the chosen alert."""
    with st.form("operations_alerts_action", border=True):
        action = st.radio("Action", options=["acknowledge", "assign", "comment", "resolve"],
                          horizontal=True, key="operations_alerts_action_kind")
        a, b = st.columns(2)
        by = a.text_input("Your name", key="operations_alerts_by")
        to = b.text_input("Assign to (person or team)", key="operations_alerts_to")
        comment = st.text_area("Comment", key="operations_alerts_comment", height=80)
        if st.form_submit_button("Apply", type="primary"):
            fields: dict[str, str | None] = {"by": by, "comment": comment or None}
            if action == "assign":
                fields["to"] = to
            if action in ("comment", "resolve"):
                fields["comment"] = comment
            run_action(action, alert_id, **fields)


def alert_picker(frame: pl.DataFrame) -> int | None:
    """Choose one alert of the filtered list."""
    if frame.is_empty():
        return None
    labels = {row["id"]: f"#{row['id']} {row['severity']} · {row['rule']} · {row['place']}"
              for row in frame.iter_rows(named=True)}
    return st.selectbox("Alert", options=list(labels), format_func=labels.__getitem__,
                        key="operations_alerts_pick")
