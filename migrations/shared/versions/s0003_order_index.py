"""Order number → store index (payment callbacks find the store from the number).

Revision ID: s0003
Revises: s0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "s0003"
down_revision = "s0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "order_index",
        sa.Column("order_no", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_no", name=op.f("pk_order_index")),
        schema="shared",
    )
    op.create_index(
        op.f("ix_order_index_tenant_id"),
        "order_index",
        ["tenant_id"],
        unique=False,
        schema="shared",
    )


def downgrade():
    op.drop_index(op.f("ix_order_index_tenant_id"), table_name="order_index", schema="shared")
    op.drop_table("order_index", schema="shared")
