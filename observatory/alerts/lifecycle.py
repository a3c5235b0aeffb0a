"""The lifecycle of an alert, by hand: acknowledge, assign, comment, resolve.

firing → acknowledged (who, when, comment) → resolved (automatically when the condition
clears, or by hand with a comment). Each action is one short transaction in the
operational database with compare-and-set semantics: the alert's row is locked and
changed only in a state the action allows, and exactly one `alert_events` row records it,
or nothing changes and AlertActionError says why. So under any concurrency every action is
recorded exactly once or refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from observatory.errors import InputError
from observatory.opsdb import OpsDB, ops_database
from observatory.opsdb.schema import ALERT_STATES, VIA, alert_events, alerts


@dataclass(frozen=True)
class Signed:
    """The signed-in identity behind an action taken in the app (None elsewhere)."""

    subject: str | None = None
    email: str | None = None


class AlertActionError(InputError, ValueError):
    """An action that cannot apply: unknown alert, missing name or comment, wrong state."""


LIST_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    "rule": pl.String(),
    "kind": pl.String(),
    "severity": pl.String(),
    "state": pl.String(),
    "place": pl.String(),
    "place_kind": pl.String(),
    "place_id": pl.String(),
    "h3_hex": pl.String(),
    "lat": pl.Float64(),
    "lon": pl.Float64(),
    "started_at": pl.Datetime("us", "UTC"),
    "fired_at": pl.Datetime("us", "UTC"),
    "ended_at": pl.Datetime("us", "UTC"),
    "value": pl.Float64(),
    "peak": pl.Float64(),
    "threshold": pl.Float64(),
    "unit": pl.String(),
    "slots": pl.Int64(),
    "message": pl.String(),
    "theme": pl.String(),
    "indicator": pl.String(),
    "variable": pl.String(),
    "owner_team": pl.String(),
    "assignee": pl.String(),
    "acknowledged_by": pl.String(),
    "acknowledged_at": pl.Datetime("us", "UTC"),
    "comment": pl.String(),
    "resolved_by": pl.String(),
    "resolved_at": pl.Datetime("us", "UTC"),
    "updated_at": pl.Datetime("us", "UTC"),
}
_RENAMED = {"id": "alert_id", "place": "place_label", "h3_hex": "h3_cell"}
_SEVERITY_ORDER = sa.case({"critical": 0, "warning": 1}, value=alerts.c.severity, else_=2)


def list_alerts(ops: OpsDB, *, state: str | None = None) -> pl.DataFrame:
    """Alerts, most severe then newest first (of one state when given)."""
    if state is not None and state not in ALERT_STATES:
        raise AlertActionError(f"unknown state `{state}`; use one of {', '.join(ALERT_STATES)}.")
    columns = [alerts.c[_RENAMED.get(name, name)].label(name) for name in LIST_SCHEMA]
    query = sa.select(*columns).order_by(
        _SEVERITY_ORDER, alerts.c.started_at.desc(), alerts.c.alert_id
    )
    if state is not None:
        query = query.where(alerts.c.state == state)
    with ops.read() as conn:
        rows = [dict(row._mapping) for row in conn.execute(query)]
    for row in rows:
        # an H3 cell's text form is its 64-bit number in lowercase hex (h3.int_to_str)
        row["h3_hex"] = f"{row['h3_hex']:x}" if row["h3_hex"] is not None else None
    return pl.DataFrame(rows, schema=LIST_SCHEMA, orient="row")


EVENT_SCHEMA: dict[str, pl.DataType] = {
    "occurred_at": pl.Datetime("us", "UTC"),
    "action": pl.String(),
    "actor": pl.String(),
    "actor_email": pl.String(),  # the signed-in identity (app actions)
    "actor_subject": pl.String(),
    "via": pl.String(),
    "state_before": pl.String(),
    "state_after": pl.String(),
    "comment": pl.String(),
}


def alert_trail(ops: OpsDB, alert_id: int) -> pl.DataFrame:
    """The audit trail of one alert, oldest first."""
    query = (
        sa.select(*(alert_events.c[name] for name in EVENT_SCHEMA))
        .where(alert_events.c.alert_id == alert_id)
        .order_by(alert_events.c.event_id)
    )
    with ops.read() as conn:
        rows = [dict(row._mapping) for row in conn.execute(query)]
    return pl.DataFrame(rows, schema=EVENT_SCHEMA, orient="row")


def _need(value: str | None, what: str, flag: str) -> str:
    if not value or not value.strip():
        raise AlertActionError(f"{what} is required: give {flag}.")
    return value.strip()


def _locked_state(conn: Connection, alert_id: int) -> str:
    row = conn.execute(
        sa.select(alerts.c.state).where(alerts.c.alert_id == alert_id).with_for_update()
    ).first()
    if row is None:
        raise AlertActionError(
            f"no alert with id {alert_id}; `observatory alerts list` shows them."
        )
    return str(row.state)


def _apply(
    ops: OpsDB,
    alert_id: int,
    *,
    action: str,
    actor: str,
    via: str,
    comment: str | None,
    changes: dict[str, object],
    refuse_resolved: str | None,
    now: datetime,
    signed: Signed,
) -> None:
    """Lock the row, check its state, change it and log one event, in one transaction."""
    if via not in VIA:
        raise AlertActionError(f"unknown channel `{via}`; use one of {', '.join(VIA)}.")
    with ops.write() as conn:
        before = _locked_state(conn, alert_id)
        query = sa.update(alerts).where(alerts.c.alert_id == alert_id)
        if refuse_resolved is not None:  # compare and set: never over a resolved alert
            query = query.where(alerts.c.state != "resolved")
        if before == "resolved" and refuse_resolved is not None:
            raise AlertActionError(refuse_resolved)
        result = conn.execute(query.values(**changes, updated_at=now))
        if result.rowcount != 1:
            raise AlertActionError(
                refuse_resolved or f"alert {alert_id} changed meanwhile; try again."
            )
        conn.execute(
            sa.insert(alert_events).values(
                alert_id=alert_id,
                occurred_at=now,
                action=action,
                actor=actor,
                via=via,
                state_before=before,
                state_after=str(changes.get("state", before)),
                comment=comment,
                actor_subject=signed.subject,
                actor_email=signed.email,
            )
        )


def acknowledge(
    ops: OpsDB,
    alert_id: int,
    *,
    by: str,
    comment: str | None = None,
    via: str = "app",
    now: datetime | None = None,
    subject: str | None = None,
    email: str | None = None,
) -> None:
    """firing → acknowledged: someone has seen it and is on it."""
    now, by = now or datetime.now(UTC), _need(by, "who acknowledges", "--by NAME")
    comment = comment.strip() if comment and comment.strip() else None
    changes: dict[str, object] = {
        "state": "acknowledged",
        "acknowledged_by": by,
        "acknowledged_at": now,
    }
    if comment:
        changes["comment"] = comment
    _apply(
        ops,
        alert_id,
        signed=Signed(subject, email),
        action="acknowledged",
        actor=by,
        via=via,
        comment=comment,
        changes=changes,
        now=now,
        refuse_resolved=f"alert {alert_id} is already resolved; nothing to acknowledge.",
    )


def assign(
    ops: OpsDB,
    alert_id: int,
    *,
    to: str,
    by: str,
    comment: str | None = None,
    via: str = "app",
    now: datetime | None = None,
    subject: str | None = None,
    email: str | None = None,
) -> None:
    """Give the alert to a person or a team (the state does not change)."""
    now, to = now or datetime.now(UTC), _need(to, "an assignee", "--to NAME")
    by = _need(by, "who assigns", "--by NAME")
    comment = comment.strip() if comment and comment.strip() else None
    changes: dict[str, object] = {"assignee": to}
    if comment:
        changes["comment"] = comment
    _apply(
        ops,
        alert_id,
        signed=Signed(subject, email),
        action="assigned",
        actor=by,
        via=via,
        changes=changes,
        now=now,
        comment=f"assigned to {to}" + (f": {comment}" if comment else ""),
        refuse_resolved=None,
    )


def add_comment(
    ops: OpsDB,
    alert_id: int,
    *,
    by: str,
    comment: str,
    via: str = "app",
    now: datetime | None = None,
    subject: str | None = None,
    email: str | None = None,
) -> None:
    """A note on the alert's trail (the state does not change)."""
    now, by = now or datetime.now(UTC), _need(by, "who comments", "--by NAME")
    comment = _need(comment, "a comment", "--comment TEXT")
    _apply(
        ops,
        alert_id,
        signed=Signed(subject, email),
        action="commented",
        actor=by,
        via=via,
        comment=comment,
        changes={"comment": comment},
        refuse_resolved=None,
        now=now,
    )


def resolve(
    ops: OpsDB,
    alert_id: int,
    *,
    by: str,
    comment: str,
    via: str = "app",
    now: datetime | None = None,
    subject: str | None = None,
    email: str | None = None,
) -> None:
    """Resolve by hand, with a comment saying why."""
    now, by = now or datetime.now(UTC), _need(by, "who resolves", "--by NAME")
    comment = _need(comment, "a comment saying why", "--comment TEXT")
    changes: dict[str, object] = {
        "state": "resolved",
        "resolved_by": by,
        "resolved_at": now,
        "comment": comment,
        "ended_at": sa.func.coalesce(
            alerts.c.ended_at, sa.bindparam("r_now", now, type_=alerts.c.ended_at.type)
        ),
    }
    _apply(
        ops,
        alert_id,
        signed=Signed(subject, email),
        action="resolved",
        actor=by,
        via=via,
        comment=comment,
        changes=changes,
        refuse_resolved=f"alert {alert_id} is already resolved.",
        now=now,
    )


ACTIONS: dict[str, Callable[..., None]] = {
    "acknowledge": acknowledge,
    "assign": assign,
    "comment": add_comment,
    "resolve": resolve,
}


def act(ops: OpsDB, action: str, alert_id: int, **fields: object) -> None:
    """Run one lifecycle action by name (acknowledge, assign, comment, resolve)."""
    if action not in ACTIONS:
        raise AlertActionError(f"unknown action `{action}`; use one of {', '.join(ACTIONS)}.")
    ACTIONS[action](ops, alert_id, **fields)


def act_on_store(store: Path, action: str, alert_id: int, **fields: object) -> None:
    """Run one action in the operational database of `store`."""
    act(ops_database(store), action, alert_id, **fields)
