"""Store settings (tagline, announcement).

Revision ID: t0002
Revises: t0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "t0002"
down_revision = "t0001"
branch_labels = None
depends_on = None


def upgrade():
    schema = op.get_context().version_table_schema
    settings = op.create_table(
        "store_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tagline", sa.String(length=200), nullable=False),
        sa.Column("announcement", sa.Text(), nullable=False),
        sa.Column("updated_at", app.db.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_settings")),
        schema=schema,
    )
    op.bulk_insert(
        settings,
        [{"id": 1, "tagline": "", "announcement": "", "updated_at": app.db.types.utcnow()}],
    )


def downgrade():
    schema = op.get_context().version_table_schema
    op.drop_table("store_settings", schema=schema)
