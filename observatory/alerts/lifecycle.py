"""The lifecycle of an alert, by hand: acknowledge, assign, comment, resolve.

firing → acknowledged (who, when, comment) → resolved (automatically when the condition
clears, or by hand with a comment). Every action is a row of `alert_events`. The
`*_in_store` helpers run one action in a short write session, so a refused action leaves
the store byte for byte as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from observatory.alerts.tables import ALERT_STATES, ensure_alert_tables, has_table
from observatory.errors import InputError
from observatory.store import read_frame, write_session


class AlertActionError(InputError, ValueError):
    """An action that cannot apply: unknown alert, missing name or comment, wrong state."""


LIST_SQL = """
SELECT alert_id AS id, rule, kind, severity, state, place_label AS place, place_kind,
       place_id, CASE WHEN h3_cell IS NULL THEN NULL ELSE h3_hex(h3_cell) END AS h3_hex,
       lat, lon, started_at, fired_at, ended_at, value, peak, threshold, unit, slots, message,
       theme,
       indicator, variable, owner_team, assignee, acknowledged_by, acknowledged_at, comment,
       resolved_by, resolved_at, updated_at
FROM alerts
WHERE ($state IS NULL OR state = $state)
ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END,
         started_at DESC, alert_id
"""


def list_alerts(con: duckdb.DuckDBPyConnection, *, state: str | None = None) -> pl.DataFrame:
    """Alerts, most severe then newest first (of one state when given)."""
    if state is not None and state not in ALERT_STATES:
        raise AlertActionError(f"unknown state `{state}`; use one of {', '.join(ALERT_STATES)}.")
    if has_table(con, "alerts"):
        return read_frame(con, LIST_SQL, {"state": state})
    empty = duckdb.connect()  # a store never evaluated: no rows, the same columns
    try:
        ensure_alert_tables(empty)
        empty.execute("CREATE MACRO h3_hex(cell) AS CAST(cell AS VARCHAR)")
        return read_frame(empty, LIST_SQL, {"state": state})
    finally:
        empty.close()


def alert_events(con: duckdb.DuckDBPyConnection, alert_id: int) -> pl.DataFrame:
    """The audit trail of one alert, oldest first."""
    return read_frame(con, "SELECT occurred_at, action, actor, state_before, state_after, comment "
                           "FROM alert_events WHERE alert_id = $id ORDER BY occurred_at, rowid",
                      {"id": alert_id})


def _state(con: duckdb.DuckDBPyConnection, alert_id: int) -> str:
    rows = (con.execute("SELECT state FROM alerts WHERE alert_id = $id", {"id": alert_id})
            .fetchall() if has_table(con, "alerts") else [])
    if not rows:
        raise AlertActionError(f"no alert with id {alert_id}; `observatory alerts list` "
                               "shows them.")
    return str(rows[0][0])


def _need(value: str | None, what: str, flag: str) -> str:
    if not value or not value.strip():
        raise AlertActionError(f"{what} is required: give {flag}.")
    return value.strip()


def _log(con: duckdb.DuckDBPyConnection, alert_id: int, *, action: str, actor: str,
         before: str, after: str, comment: str | None, now: datetime) -> None:
    con.execute("INSERT INTO alert_events VALUES ($id, $at, $action, $actor, $before, $after, "
                "$comment)", {"id": alert_id, "at": now, "action": action, "actor": actor,
                              "before": before, "after": after, "comment": comment})


def acknowledge(con: duckdb.DuckDBPyConnection, alert_id: int, *, by: str,
                comment: str | None = None, now: datetime | None = None) -> None:
    """firing → acknowledged: someone has seen it and is on it."""
    now, by = now or datetime.now(UTC), _need(by, "who acknowledges", "--by NAME")
    before = _state(con, alert_id)
    if before == "resolved":
        raise AlertActionError(f"alert {alert_id} is already resolved; nothing to acknowledge.")
    con.execute("UPDATE alerts SET state = 'acknowledged', acknowledged_by = $by, "
                "acknowledged_at = $now, comment = coalesce($comment, comment), "
                "updated_at = $now WHERE alert_id = $id",
                {"by": by, "now": now, "comment": comment, "id": alert_id})
    _log(con, alert_id, action="acknowledged", actor=by, before=before, after="acknowledged",
         comment=comment, now=now)


def assign(con: duckdb.DuckDBPyConnection, alert_id: int, *, to: str, by: str,
           comment: str | None = None, now: datetime | None = None) -> None:
    """Give the alert to a person or a team (the state does not change)."""
    now, to = now or datetime.now(UTC), _need(to, "an assignee", "--to NAME")
    by = _need(by, "who assigns", "--by NAME")
    before = _state(con, alert_id)
    con.execute("UPDATE alerts SET assignee = $to, comment = coalesce($comment, comment), "
                "updated_at = $now WHERE alert_id = $id",
                {"to": to, "comment": comment, "now": now, "id": alert_id})
    _log(con, alert_id, action="assigned", actor=by, before=before, after=before,
         comment=f"assigned to {to}" + (f": {comment}" if comment else ""), now=now)


def add_comment(con: duckdb.DuckDBPyConnection, alert_id: int, *, by: str, comment: str,
                now: datetime | None = None) -> None:
    """A note on the alert's trail (the state does not change)."""
    now, by = now or datetime.now(UTC), _need(by, "who comments", "--by NAME")
    comment = _need(comment, "a comment", "--comment TEXT")
    before = _state(con, alert_id)
    con.execute("UPDATE alerts SET comment = $c, updated_at = $now WHERE alert_id = $id",
                {"c": comment, "now": now, "id": alert_id})
    _log(con, alert_id, action="commented", actor=by, before=before, after=before,
         comment=comment, now=now)


def resolve(con: duckdb.DuckDBPyConnection, alert_id: int, *, by: str, comment: str,
            now: datetime | None = None) -> None:
    """Resolve by hand, with a comment saying why."""
    now, by = now or datetime.now(UTC), _need(by, "who resolves", "--by NAME")
    comment = _need(comment, "a comment saying why", "--comment TEXT")
    before = _state(con, alert_id)
    if before == "resolved":
        raise AlertActionError(f"alert {alert_id} is already resolved.")
    con.execute("UPDATE alerts SET state = 'resolved', resolved_by = $by, resolved_at = $now, "
                "ended_at = coalesce(ended_at, $now), comment = $c, updated_at = $now "
                "WHERE alert_id = $id", {"by": by, "now": now, "c": comment, "id": alert_id})
    _log(con, alert_id, action="resolved", actor=by, before=before, after="resolved",
         comment=comment, now=now)


ACTIONS: dict[str, Callable[..., None]] = {
    "acknowledge": acknowledge, "assign": assign, "comment": add_comment, "resolve": resolve,
}


def act_in_store(store: Path, action: str, alert_id: int, **kwargs: object) -> None:
    """Run one lifecycle action in its own write session on the store file."""
    if action not in ACTIONS:
        raise AlertActionError(f"unknown action `{action}`; use one of {', '.join(ACTIONS)}.")
    with write_session(store) as con:
        ensure_alert_tables(con)
        ACTIONS[action](con, alert_id, **kwargs)
