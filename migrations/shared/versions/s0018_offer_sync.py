"""Supplier offers follow the supplier's own catalog: in stock there or not, when last synced.

Revision ID: s0018
Revises: s0017
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "s0018"
down_revision = "s0017"
branch_labels = None
depends_on = None

WHEN = app.db.types.UtcDateTime(timezone=True)


def upgrade():
    with op.batch_alter_table("supplier_offers", schema="shared") as batch:
        batch.add_column(
            sa.Column("in_stock", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("synced_at", WHEN, nullable=True))


def downgrade():
    with op.batch_alter_table("supplier_offers", schema="shared") as batch:
        batch.drop_column("synced_at")
        batch.drop_column("in_stock")
