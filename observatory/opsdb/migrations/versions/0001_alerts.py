"""Alerts, their audit trail, rule status and the notification outbox.

Revision ID: 0001
Revises:
Create Date: 2025-06-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _alerts() -> None:
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rule", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("severity", sa.String, nullable=False),
        sa.Column("owner_team", sa.String, nullable=False),
        sa.Column("theme", sa.String),
        sa.Column("indicator", sa.String),
        sa.Column("variable", sa.String),
        sa.Column("place_kind", sa.String, nullable=False),
        sa.Column("place_id", sa.String, nullable=False),
        sa.Column("place_label", sa.String, nullable=False),
        sa.Column("h3_cell", sa.BigInteger),
        sa.Column("lat", sa.Float),
        sa.Column("lon", sa.Float),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("fired_at", TS),
        sa.Column("ended_at", TS),
        sa.Column("value", sa.Float),
        sa.Column("peak", sa.Float),
        sa.Column("threshold", sa.Float),
        sa.Column("unit", sa.String),
        sa.Column("slots", sa.BigInteger),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("state", sa.String, nullable=False),
        sa.Column("acknowledged_by", sa.String),
        sa.Column("acknowledged_at", TS),
        sa.Column("assignee", sa.String),
        sa.Column("comment", sa.Text),
        sa.Column("resolved_by", sa.String),
        sa.Column("resolved_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("rule", "place_id", "started_at", name="uq_alerts_episode"),
        sa.CheckConstraint(
            "state IN ('firing', 'acknowledged', 'resolved')", name="ck_alerts_state"
        ),
    )
    op.create_index("ix_alerts_state", "alerts", ["state"])
    op.create_table(
        "alert_events",
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.alert_id"), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("action", sa.String, nullable=False),
        sa.Column("actor", sa.String, nullable=False),
        sa.Column("via", sa.String, nullable=False),
        sa.Column("state_before", sa.String),
        sa.Column("state_after", sa.String, nullable=False),
        sa.Column("comment", sa.Text),
        sa.CheckConstraint("via IN ('app', 'cli', 'system')", name="ck_alert_events_via"),
    )
    op.create_index("ix_alert_events_alert", "alert_events", ["alert_id"])
    op.create_table(
        "alert_rule_status",
        sa.Column("rule", sa.String, primary_key=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("message", sa.Text),
        sa.Column("places", sa.BigInteger),
        sa.Column("episodes", sa.BigInteger),
        sa.Column("open_alerts", sa.BigInteger),
        sa.Column("evaluated_at", TS, nullable=False),
    )


def _outbox() -> None:
    op.create_table(
        "notification_outbox",
        sa.Column("outbox_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.alert_id"), nullable=False),
        sa.Column("event", sa.String, nullable=False),
        sa.Column("channel", sa.String, nullable=False),
        sa.Column("target", sa.String, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("claimed_until", TS),
        sa.Column("claim_token", sa.String),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS),
        sa.UniqueConstraint("alert_id", "event", "channel", name="uq_outbox_event_channel"),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name="ck_outbox_status"),
    )
    op.create_index("ix_outbox_due", "notification_outbox", ["status", "next_attempt_at"])
    op.create_table(
        "notification_attempts",
        sa.Column("attempt_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "outbox_id", sa.Integer, sa.ForeignKey("notification_outbox.outbox_id"), nullable=False
        ),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("attempted_at", TS, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("detail", sa.Text),
        sa.UniqueConstraint("outbox_id", "attempt", name="uq_attempts_outbox_attempt"),
    )


def upgrade() -> None:
    _alerts()
    _outbox()


def downgrade() -> None:
    for table in (
        "notification_attempts",
        "notification_outbox",
        "alert_rule_status",
        "alert_events",
        "alerts",
    ):
        op.drop_table(table)
