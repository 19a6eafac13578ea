"""Checkout settings per store (providers offered, expiry, unpaid limits), the paying provider on
orders, and manual delivery content on order items.

Revision ID: t0006
Revises: t0005
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "t0006"
down_revision = "t0005"
branch_labels = None
depends_on = None


def upgrade():
    schema = op.get_context().version_table_schema
    with op.batch_alter_table("store_settings", schema=schema) as batch:
        batch.add_column(
            sa.Column("payment_providers", sa.JSON(), nullable=False, server_default="[]")
        )
        batch.add_column(
            sa.Column("order_expiry_minutes", sa.Integer(), nullable=False, server_default="15")
        )
        batch.add_column(
            sa.Column("max_unpaid_per_ip", sa.Integer(), nullable=False, server_default="3")
        )
        batch.add_column(
            sa.Column("max_unpaid_per_contact", sa.Integer(), nullable=False, server_default="3")
        )
    with op.batch_alter_table("orders", schema=schema) as batch:
        batch.add_column(sa.Column("payment_no", sa.String(length=40), nullable=True))
        batch.add_column(
            sa.Column("payment_provider", sa.String(length=20), nullable=False, server_default="")
        )
        batch.create_index(batch.f("ix_orders_payment_provider"), ["payment_provider"])
    with op.batch_alter_table("order_items", schema=schema) as batch:
        batch.add_column(sa.Column("manual_delivery_sealed", sa.Text(), nullable=True))


def downgrade():
    schema = op.get_context().version_table_schema
    with op.batch_alter_table("order_items", schema=schema) as batch:
        batch.drop_column("manual_delivery_sealed")
    with op.batch_alter_table("orders", schema=schema) as batch:
        batch.drop_index(batch.f("ix_orders_payment_provider"))
        batch.drop_column("payment_provider")
        batch.drop_column("payment_no")
    with op.batch_alter_table("store_settings", schema=schema) as batch:
        for column in (
            "max_unpaid_per_contact", "max_unpaid_per_ip", "order_expiry_minutes",
            "payment_providers",
        ):  # fmt: skip
            batch.drop_column(column)
