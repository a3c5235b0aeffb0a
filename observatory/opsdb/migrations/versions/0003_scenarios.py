"""Planners' saved what-if scenarios (the YAML text of each, its author and times).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scenarios",
        sa.Column("scenario_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("author", sa.String, nullable=False),
        sa.Column("author_subject", sa.String),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("deleted_by", sa.String),
        sa.Column("deleted_at", TS),
    )


def downgrade() -> None:
    op.drop_table("scenarios")
