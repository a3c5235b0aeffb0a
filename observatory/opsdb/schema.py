"""The tables of the operational database as SQLAlchemy Core objects (what queries use).

The migrations in observatory/opsdb/migrations create them; tests/test_opsdb.py checks the
two agree. Every timestamp is timezone-aware UTC in Python, whatever the backend stores.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

ALERT_STATES = ("firing", "acknowledged", "resolved")
OPEN_STATES = ("firing", "acknowledged")
VIA = ("app", "cli", "system")


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes in and out: TIMESTAMPTZ on PostgreSQL, naive UTC text on SQLite
    (one format, so comparisons and the unique keys on timestamps hold)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData()
_ts = UTCDateTime

alerts = sa.Table(
    "alerts",
    metadata,
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
    sa.Column("started_at", _ts, nullable=False),
    sa.Column("fired_at", _ts),
    sa.Column("ended_at", _ts),
    sa.Column("value", sa.Float),
    sa.Column("peak", sa.Float),
    sa.Column("threshold", sa.Float),
    sa.Column("unit", sa.String),
    sa.Column("slots", sa.BigInteger),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("state", sa.String, nullable=False),
    sa.Column("acknowledged_by", sa.String),
    sa.Column("acknowledged_at", _ts),
    sa.Column("assignee", sa.String),
    sa.Column("comment", sa.Text),
    sa.Column("resolved_by", sa.String),
    sa.Column("resolved_at", _ts),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("updated_at", _ts, nullable=False),
    sa.UniqueConstraint("rule", "place_id", "started_at", name="uq_alerts_episode"),
)

alert_events = sa.Table(
    "alert_events",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.alert_id"), nullable=False),
    sa.Column("occurred_at", _ts, nullable=False),
    sa.Column("action", sa.String, nullable=False),
    sa.Column("actor", sa.String, nullable=False),
    sa.Column("via", sa.String, nullable=False),
    sa.Column("state_before", sa.String),
    sa.Column("state_after", sa.String, nullable=False),
    sa.Column("comment", sa.Text),
    # the signed-in identity behind `actor` (the app); null for the CLI and the system
    sa.Column("actor_subject", sa.String),
    sa.Column("actor_email", sa.String),
)

notification_outbox = sa.Table(
    "notification_outbox",
    metadata,
    sa.Column("outbox_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.alert_id"), nullable=False),
    sa.Column("event", sa.String, nullable=False),
    sa.Column("channel", sa.String, nullable=False),
    sa.Column("target", sa.String, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", _ts, nullable=False),
    sa.Column("claimed_until", _ts),
    sa.Column("claim_token", sa.String),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("sent_at", _ts),
    sa.UniqueConstraint("alert_id", "event", "channel", name="uq_outbox_event_channel"),
)

notification_attempts = sa.Table(
    "notification_attempts",
    metadata,
    sa.Column("attempt_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "outbox_id", sa.Integer, sa.ForeignKey("notification_outbox.outbox_id"), nullable=False
    ),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("attempted_at", _ts, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("detail", sa.Text),
    sa.UniqueConstraint("outbox_id", "attempt", name="uq_attempts_outbox_attempt"),
)

alert_rule_status = sa.Table(
    "alert_rule_status",
    metadata,
    sa.Column("rule", sa.String, primary_key=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("message", sa.Text),
    sa.Column("places", sa.BigInteger),
    sa.Column("episodes", sa.BigInteger),
    sa.Column("open_alerts", sa.BigInteger),
    sa.Column("evaluated_at", _ts, nullable=False),
)

# Everyone who signed in to the dashboard, by identity provider and subject.
users = sa.Table(
    "users",
    metadata,
    sa.Column("user_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("provider", sa.String, nullable=False),
    sa.Column("subject", sa.String, nullable=False),
    sa.Column("email", sa.String),
    sa.Column("name", sa.String),
    sa.Column("roles", sa.String, nullable=False),  # at the last sign-in, comma-separated
    sa.Column("first_seen", _ts, nullable=False),
    sa.Column("last_seen", _ts, nullable=False),
    sa.UniqueConstraint("provider", "subject", name="uq_users_identity"),
)

# Roles granted by hand (`observatory users grant`) to an e-mail address or `@domain`; a
# revoked grant keeps its row (who revoked it, when), so the trail stays complete.
role_grants = sa.Table(
    "role_grants",
    metadata,
    sa.Column("grant_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("principal", sa.String, nullable=False),
    sa.Column("role", sa.String, nullable=False),
    sa.Column("granted_by", sa.String, nullable=False),
    sa.Column("granted_via", sa.String, nullable=False),
    sa.Column("granted_at", _ts, nullable=False),
    sa.Column("revoked_by", sa.String),
    sa.Column("revoked_at", _ts),
    sa.Index("ix_role_grants_active", "principal", "role", unique=True,
             sqlite_where=sa.text("revoked_at IS NULL"),
             postgresql_where=sa.text("revoked_at IS NULL")),
)

# Planners' saved scenarios: the scenario file's text (observatory/scenarios/spec.py), who
# saved it and when; deleting keeps the row (who, when) and hides it.
scenarios = sa.Table(
    "scenarios",
    metadata,
    sa.Column("scenario_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("author", sa.String, nullable=False),
    sa.Column("author_subject", sa.String),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("deleted_by", sa.String),
    sa.Column("deleted_at", _ts),
)

# Analysts' indicator drafts (observatory/drafts): a draft has numbered versions, each the
# definition's YAML text and its SQL as saved by someone; comments name the version read.
indicator_drafts = sa.Table(
    "indicator_drafts",
    metadata,
    sa.Column("draft_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("theme", sa.String, nullable=False),
    sa.Column("author", sa.String, nullable=False),
    sa.Column("author_subject", sa.String),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("deleted_by", sa.String),
    sa.Column("deleted_at", _ts),
)
indicator_draft_versions = sa.Table(
    "indicator_draft_versions",
    metadata,
    sa.Column("draft_id", sa.Integer, sa.ForeignKey("indicator_drafts.draft_id"),
              primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("author", sa.String, nullable=False),
    sa.Column("author_subject", sa.String),
    sa.Column("saved_at", _ts, nullable=False),
)
indicator_draft_comments = sa.Table(
    "indicator_draft_comments",
    metadata,
    sa.Column("comment_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("draft_id", sa.Integer, sa.ForeignKey("indicator_drafts.draft_id"),
              nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("author", sa.String, nullable=False),
    sa.Column("author_subject", sa.String),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", _ts, nullable=False),
)
