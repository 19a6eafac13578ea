"""Docking with the 发卡 ecosystem: a supplier's failed catalog sync marks it down; an imported
offer carries the markup that turns its cost into the SKU's wholesale price.

Revision ID: s0020
Revises: s0019
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "s0020"
down_revision = "s0019"
branch_labels = None
depends_on = None

WHEN = app.db.types.UtcDateTime(timezone=True)


def upgrade():
    with op.batch_alter_table("suppliers", schema="shared") as batch:
        batch.add_column(sa.Column("catalog_failed_at", WHEN, nullable=True))
        batch.add_column(
            sa.Column("catalog_error", sa.String(500), nullable=False, server_default="")
        )
    with op.batch_alter_table("supplier_offers", schema="shared") as batch:
        batch.add_column(sa.Column("wholesale_markup_bp", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("wholesale_rounding", sa.String(10), nullable=False, server_default="none")
        )


def downgrade():
    with op.batch_alter_table("supplier_offers", schema="shared") as batch:
        batch.drop_column("wholesale_rounding")
        batch.drop_column("wholesale_markup_bp")
    with op.batch_alter_table("suppliers", schema="shared") as batch:
        batch.drop_column("catalog_error")
        batch.drop_column("catalog_failed_at")
