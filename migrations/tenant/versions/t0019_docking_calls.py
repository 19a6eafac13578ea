"""The log of calls to the store's compatible docking endpoints (acg-faka `/shared/...`).

Revision ID: t0019
Revises: t0018
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

from app.db.types import BigId, UtcDateTime

revision = "t0019"
down_revision = "t0018"
branch_labels = None
depends_on = None


def upgrade():
    schema = op.get_context().version_table_schema
    op.create_table(
        "docking_calls",
        sa.Column("id", BigId, nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("protocol", sa.String(20), nullable=False),
        sa.Column("endpoint", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("ip", sa.String(45), nullable=False),
        sa.Column("request_no", sa.String(64), nullable=False),
        sa.Column("order_no", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("message", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_docking_calls")),
        schema=schema,
    )
    op.create_index(op.f("ix_docking_calls_at"), "docking_calls", ["at"], schema=schema)
    op.create_index(op.f("ix_docking_calls_key_id"), "docking_calls", ["key_id"], schema=schema)


def downgrade():
    schema = op.get_context().version_table_schema
    op.drop_table("docking_calls", schema=schema)
