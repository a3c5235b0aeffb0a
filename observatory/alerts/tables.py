"""The alert tables of the store: alerts, their audit trail, notification attempts and
the status of every rule at its last evaluation."""

from __future__ import annotations

import duckdb

ALERT_STATES = ("firing", "acknowledged", "resolved")
OPEN_STATES = ("firing", "acknowledged")

TABLES_SQL = (
    """
    CREATE TABLE IF NOT EXISTS alerts (
        alert_id BIGINT PRIMARY KEY,
        rule VARCHAR NOT NULL, kind VARCHAR NOT NULL, severity VARCHAR NOT NULL,
        owner_team VARCHAR NOT NULL, theme VARCHAR, indicator VARCHAR, variable VARCHAR,
        place_kind VARCHAR NOT NULL, place_id VARCHAR NOT NULL, place_label VARCHAR NOT NULL,
        h3_cell BIGINT, lat DOUBLE, lon DOUBLE,
        started_at TIMESTAMPTZ NOT NULL, fired_at TIMESTAMPTZ, ended_at TIMESTAMPTZ,
        value DOUBLE, peak DOUBLE, threshold DOUBLE, unit VARCHAR, slots BIGINT,
        message VARCHAR NOT NULL,
        state VARCHAR NOT NULL,
        acknowledged_by VARCHAR, acknowledged_at TIMESTAMPTZ,
        assignee VARCHAR, comment VARCHAR,
        resolved_by VARCHAR, resolved_at TIMESTAMPTZ,
        created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
        UNIQUE (rule, place_id, started_at)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS alert_events (
        alert_id BIGINT NOT NULL, occurred_at TIMESTAMPTZ NOT NULL, action VARCHAR NOT NULL,
        actor VARCHAR NOT NULL, state_before VARCHAR, state_after VARCHAR NOT NULL,
        comment VARCHAR
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS alert_notifications (
        alert_id BIGINT NOT NULL, event VARCHAR NOT NULL, channel VARCHAR NOT NULL,
        target VARCHAR NOT NULL, attempt INTEGER NOT NULL, attempted_at TIMESTAMPTZ NOT NULL,
        ok BOOLEAN NOT NULL, detail VARCHAR
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS alert_rule_status (
        rule VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, status VARCHAR NOT NULL,
        message VARCHAR, places BIGINT, episodes BIGINT, open_alerts BIGINT,
        evaluated_at TIMESTAMPTZ NOT NULL
    )
    """,
)


def ensure_alert_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the alert tables if they are missing."""
    for statement in TABLES_SQL:
        con.execute(statement)


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the store has a table or view called `name`."""
    return bool(con.execute("SELECT count(*) FROM information_schema.tables "
                            "WHERE table_schema = 'main' AND table_name = $n",
                            {"n": name}).fetchall()[0][0])
