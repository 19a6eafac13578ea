"""Theme revisions: a store's draft, published and earlier published theme settings.

Revision ID: t0009
Revises: t0008
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "t0009"
down_revision = "t0008"
branch_labels = None
depends_on = None


def upgrade():
    schema = op.get_context().version_table_schema
    op.create_table(
        "theme_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pack", sa.String(length=40), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("restored_from", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(length=254), nullable=False),
        sa.Column("created_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("published_at", app.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_theme_revisions")),
        schema=schema,
    )
    op.create_index(
        "uq_theme_revisions_state_live",
        "theme_revisions",
        ["state"],
        unique=True,
        schema=schema,
        postgresql_where=sa.text("state <> 'retired'"),
        sqlite_where=sa.text("state <> 'retired'"),
    )


def downgrade():
    schema = op.get_context().version_table_schema
    op.drop_index("uq_theme_revisions_state_live", table_name="theme_revisions", schema=schema)
    op.drop_table("theme_revisions", schema=schema)
