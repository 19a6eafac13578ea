"""Orders, their lines and timeline.

Revision ID: t0004
Revises: t0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "t0004"
down_revision = "t0003"
branch_labels = None
depends_on = None


def upgrade():
    schema = op.get_context().version_table_schema
    orders_id = f"{schema}.orders.id" if schema else "orders.id"
    op.create_table(
        "orders",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_no", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("contact_phone", sa.String(length=32), nullable=False),
        sa.Column("query_password_hash", sa.String(length=255), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("client_ip", sa.String(length=45), nullable=False),
        sa.Column("expires_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("paid_at", app.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", app.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("order_no", name=op.f("uq_orders_order_no")),
        schema=schema,
    )
    op.create_index(
        op.f("ix_orders_contact_email"), "orders", ["contact_email"], unique=False, schema=schema
    )
    op.create_index(
        op.f("ix_orders_contact_phone"), "orders", ["contact_phone"], unique=False, schema=schema
    )
    op.create_index(
        op.f("ix_orders_created_at"), "orders", ["created_at"], unique=False, schema=schema
    )
    op.create_index(
        op.f("ix_orders_customer_id"), "orders", ["customer_id"], unique=False, schema=schema
    )
    op.create_index(
        op.f("ix_orders_expires_at"), "orders", ["expires_at"], unique=False, schema=schema
    )
    op.create_index(op.f("ix_orders_status"), "orders", ["status"], unique=False, schema=schema)
    op.create_table(
        "order_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            [orders_id],
            name=op.f("fk_order_events_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
        schema=schema,
    )
    op.create_index(
        op.f("ix_order_events_order_id"), "order_events", ["order_id"], unique=False, schema=schema
    )
    op.create_table(
        "order_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("product_name", sa.String(length=120), nullable=False),
        sa.Column("sku_name", sa.String(length=120), nullable=False),
        sa.Column("delivery_type", sa.String(length=20), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_cents", sa.BigInteger(), nullable=False),
        sa.Column("unit_wholesale_cents", sa.BigInteger(), nullable=False),
        sa.Column("unit_cost_cents", sa.BigInteger(), nullable=False),
        sa.Column("account_fields", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            [orders_id],
            name=op.f("fk_order_items_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_items")),
        schema=schema,
    )
    op.create_index(
        op.f("ix_order_items_order_id"), "order_items", ["order_id"], unique=False, schema=schema
    )


def downgrade():
    schema = op.get_context().version_table_schema
    op.drop_table("order_items", schema=schema)
    op.drop_table("order_events", schema=schema)
    op.drop_table("orders", schema=schema)
