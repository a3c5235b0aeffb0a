"""People and their roles: who signed in, role grants, and the signed identity of every
alert action; webhook URLs (with their tokens) redacted from the notification outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("user_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String, nullable=False),
        sa.Column("subject", sa.String, nullable=False),
        sa.Column("email", sa.String),
        sa.Column("name", sa.String),
        sa.Column("roles", sa.String, nullable=False),
        sa.Column("first_seen", TS, nullable=False),
        sa.Column("last_seen", TS, nullable=False),
        sa.UniqueConstraint("provider", "subject", name="uq_users_identity"),
    )
    op.create_table(
        "role_grants",
        sa.Column("grant_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("principal", sa.String, nullable=False),
        sa.Column("role", sa.String, nullable=False),
        sa.Column("granted_by", sa.String, nullable=False),
        sa.Column("granted_via", sa.String, nullable=False),
        sa.Column("granted_at", TS, nullable=False),
        sa.Column("revoked_by", sa.String),
        sa.Column("revoked_at", TS),
    )
    op.create_index("ix_role_grants_active", "role_grants", ["principal", "role"], unique=True,
                    sqlite_where=sa.text("revoked_at IS NULL"),
                    postgresql_where=sa.text("revoked_at IS NULL"))
    with op.batch_alter_table("alert_events") as batch:
        batch.add_column(sa.Column("actor_subject", sa.String))
        batch.add_column(sa.Column("actor_email", sa.String))
    # Before this revision the outbox kept a webhook's whole URL, token included; channels
    # now name their secrets and the outbox keeps only a redacted target.
    op.execute("UPDATE notification_outbox SET target = channel || ': address redacted' "
               "WHERE target LIKE '%://%'")  # every URL, with or without a path or login


def downgrade() -> None:
    with op.batch_alter_table("alert_events") as batch:
        batch.drop_column("actor_email")
        batch.drop_column("actor_subject")
    op.drop_index("ix_role_grants_active", "role_grants")
    op.drop_table("role_grants")
    op.drop_table("users")
