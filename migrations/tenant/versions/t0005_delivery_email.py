"""Remember when an order's keys were e-mailed (the job runs once per order).

Revision ID: t0005
Revises: t0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "t0005"
down_revision = "t0004"
branch_labels = None
depends_on = None


def upgrade():
    schema = op.get_context().version_table_schema
    with op.batch_alter_table("orders", schema=schema) as batch:
        batch.add_column(
            sa.Column("delivery_emailed_at", app.db.types.UtcDateTime(), nullable=True)
        )


def downgrade():
    schema = op.get_context().version_table_schema
    with op.batch_alter_table("orders", schema=schema) as batch:
        batch.drop_column("delivery_emailed_at")
