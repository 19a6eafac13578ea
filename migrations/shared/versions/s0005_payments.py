"""Payments.

Revision ID: s0005
Revises: s0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "s0005"
down_revision = "s0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "payments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("payment_no", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("order_no", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("provider_txn_id", sa.String(length=80), nullable=True),
        sa.Column("created_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("succeeded_at", app.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("payment_no", name=op.f("uq_payments_payment_no")),
        sa.UniqueConstraint("provider_txn_id", name=op.f("uq_payments_provider_txn_id")),
        schema="shared",
    )
    op.create_index(
        op.f("ix_payments_order_no"), "payments", ["order_no"], unique=False, schema="shared"
    )
    op.create_index(
        op.f("ix_payments_tenant_id"), "payments", ["tenant_id"], unique=False, schema="shared"
    )


def downgrade():
    op.drop_index(op.f("ix_payments_tenant_id"), table_name="payments", schema="shared")
    op.drop_index(op.f("ix_payments_order_no"), table_name="payments", schema="shared")
    op.drop_table("payments", schema="shared")
