"""Analysts' indicator drafts: each saved version's definition and SQL, and comments.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "indicator_drafts",
        sa.Column("draft_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("theme", sa.String, nullable=False),
        sa.Column("author", sa.String, nullable=False),
        sa.Column("author_subject", sa.String),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("deleted_by", sa.String),
        sa.Column("deleted_at", TS),
    )
    op.create_table(
        "indicator_draft_versions",
        sa.Column("draft_id", sa.Integer, sa.ForeignKey("indicator_drafts.draft_id"),
                  primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("author", sa.String, nullable=False),
        sa.Column("author_subject", sa.String),
        sa.Column("saved_at", TS, nullable=False),
    )
    op.create_table(
        "indicator_draft_comments",
        sa.Column("comment_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("draft_id", sa.Integer, sa.ForeignKey("indicator_drafts.draft_id"),
                  nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("author", sa.String, nullable=False),
        sa.Column("author_subject", sa.String),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("indicator_draft_comments")
    op.drop_table("indicator_draft_versions")
    op.drop_table("indicator_drafts")
