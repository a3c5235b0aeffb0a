"""Merge evaluated episodes into the operational database, in the caller's transaction.

Merging never overwrites what people did: a new episode is inserted (ON CONFLICT DO
NOTHING on rule × place × start, so two evaluations cannot both insert it), an open alert
whose episode ended or vanished is resolved by `system` (only if nobody resolved it
first), and an open alert's figures (value, peak, slots, message, place label) are
refreshed; acknowledgements, assignees and comments are never touched. Evaluating twice
changes nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from observatory.alerts.upsert import SYSTEM
from observatory.opsdb.schema import alert_events, alert_rule_status, alerts

_REFRESHED = ("value", "peak", "slots", "message", "place_label")
_KEY = ("rule", "place_id", "started_at")


@dataclass
class Changes:
    """What a merge changed, and which alerts to notify about."""

    inserted: int = 0
    resolved: int = 0
    to_notify: list[tuple[int, str]] = field(default_factory=list)  # (alert_id, event)


def insert_ignoring_duplicates(conn: Connection, table: sa.Table, key: list[str]) -> sa.Insert:
    """INSERT … ON CONFLICT (key) DO NOTHING in the connection's dialect."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=key)


def _event(
    alert_id: int, action: str, before: str | None, after: str, comment: str, now: datetime
) -> dict[str, object]:
    return {
        "alert_id": alert_id,
        "occurred_at": now,
        "action": action,
        "actor": SYSTEM,
        "via": "system",
        "state_before": before,
        "state_after": after,
        "comment": comment,
    }


def _insert_new(
    conn: Connection,
    rows: list[dict[str, object]],
    *,
    now: datetime,
    events: list[dict[str, object]],
    changes: Changes,
) -> None:
    if not rows:
        return
    values = [
        {
            **row,
            "state": "firing" if row["ended_at"] is None else "resolved",
            "resolved_by": None if row["ended_at"] is None else SYSTEM,
            "resolved_at": row["ended_at"],
            "created_at": now,
            "updated_at": now,
        }
        for row in rows
    ]
    query = insert_ignoring_duplicates(conn, alerts, list(_KEY)).returning(
        alerts.c.alert_id, alerts.c.state, alerts.c.started_at, alerts.c.ended_at
    )
    for alert_id, state, started_at, ended_at in conn.execute(query, values).all():
        changes.inserted += 1
        events.append(
            _event(
                alert_id,
                "fired",
                None,
                "firing",
                f"episode began {started_at:%Y-%m-%d %H:%M} UTC",
                now,
            )
        )
        if state == "resolved":
            events.append(
                _event(
                    alert_id,
                    "auto_resolved",
                    "firing",
                    "resolved",
                    f"condition cleared {ended_at:%Y-%m-%d %H:%M} UTC",
                    now,
                )
            )
        else:
            changes.to_notify.append((alert_id, "fired"))


def _resolve(
    conn: Connection, open_row: sa.Row, episode: dict[str, object] | None, *, now: datetime
) -> dict[str, object] | None:
    ended = episode["ended_at"] if episode else None
    result = conn.execute(
        sa.update(alerts)
        .where(alerts.c.alert_id == open_row.alert_id, alerts.c.state != "resolved")
        .values(
            state="resolved",
            ended_at=ended or now,
            resolved_by=SYSTEM,
            resolved_at=now,
            updated_at=now,
        )
    )
    if result.rowcount != 1:
        return None
    comment = (
        f"condition cleared {ended:%Y-%m-%d %H:%M} UTC"
        if isinstance(ended, datetime)
        else "condition no longer holds"
    )
    return _event(open_row.alert_id, "auto_resolved", open_row.state, "resolved", comment, now)


def _reconcile(
    conn: Connection,
    by_key: dict[tuple[object, ...], dict[str, object]],
    evaluated: Collection[str],
    *,
    now: datetime,
    events: list[dict[str, object]],
    changes: Changes,
) -> None:
    """Resolve open alerts of the evaluated rules whose episode ended or vanished; refresh
    the figures of the others. Rows are locked (PostgreSQL) in id order."""
    query = (
        sa.select(
            alerts.c.alert_id,
            alerts.c.state,
            *(alerts.c[k] for k in _KEY),
            *(alerts.c[k] for k in _REFRESHED),
        )
        .where(alerts.c.state != "resolved", alerts.c.rule.in_(list(evaluated)))
        .order_by(alerts.c.alert_id)
        .with_for_update()
    )
    refresh: list[dict[str, object]] = []
    for row in conn.execute(query).all():
        episode = by_key.get((row.rule, row.place_id, row.started_at))
        if episode is None or episode["ended_at"] is not None:
            logged = _resolve(conn, row, episode, now=now)
            if logged is not None:
                events.append(logged)
                changes.resolved += 1
                changes.to_notify.append((row.alert_id, "resolved"))
        elif any(_differs(getattr(row, k), episode[k]) for k in _REFRESHED):
            refresh.append({"b_id": row.alert_id, **{f"b_{k}": episode[k] for k in _REFRESHED}})
    if refresh:
        conn.execute(
            sa.update(alerts)
            .where(alerts.c.alert_id == sa.bindparam("b_id"))
            .values(updated_at=now, **{k: sa.bindparam(f"b_{k}") for k in _REFRESHED}),
            refresh,
        )


def _differs(old: object, new: object) -> bool:
    if isinstance(old, float) and isinstance(new, float):
        return not (old == new or (old != old and new != new))  # NaN equals NaN here
    return old != new


def merge_episodes(
    conn: Connection, frame: pl.DataFrame, *, evaluated: Collection[str], now: datetime
) -> Changes:
    """Bring `alerts` in line with the episodes (alert rows from `describe_episodes`) of
    the rules in `evaluated`; log every change in `alert_events` as `system`."""
    rows = sorted(frame.to_dicts(), key=lambda r: (r["rule"], r["place_id"], r["started_at"]))
    changes, events = Changes(), []
    _insert_new(conn, rows, now=now, events=events, changes=changes)
    by_key = {tuple(row[k] for k in _KEY): row for row in rows}
    _reconcile(conn, by_key, evaluated, now=now, events=events, changes=changes)
    if events:
        conn.execute(sa.insert(alert_events), events)
    return changes


def record_rule_status(
    conn: Connection, rows: list[dict[str, object]], *, replace_all: bool
) -> int:
    """Store each rule's status at this evaluation (open alerts counted after the merge);
    `replace_all` drops the rows of rules that no longer exist. Returns the open alerts
    of every rule."""
    open_counts = dict(
        conn.execute(
            sa.select(alerts.c.rule, sa.func.count())
            .where(alerts.c.state != "resolved")
            .group_by(alerts.c.rule)
        ).all()
    )
    for row in rows:
        row["open_alerts"] = int(open_counts.get(row["rule"], 0))
    query = sa.delete(alert_rule_status)
    if not replace_all:
        query = query.where(alert_rule_status.c.rule.in_([r["rule"] for r in rows]))
    conn.execute(query)
    if rows:
        conn.execute(sa.insert(alert_rule_status), rows)
    return int(sum(open_counts.values()))
