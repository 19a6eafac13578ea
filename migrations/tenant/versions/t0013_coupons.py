"""Coupons: definitions, codes, redemptions; the coupon and discount on orders.

Revision ID: t0013
Revises: t0012
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "t0013"
down_revision = "t0012"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    schema = op.get_context().version_table_schema

    def qualified(name: str) -> str:
        return f"{schema}.{name}" if schema else name

    op.create_table(
        "coupons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("max_discount_cents", sa.BigInteger(), nullable=True),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("min_spend_cents", sa.BigInteger(), nullable=False),
        sa.Column("total_limit", sa.Integer(), nullable=True),
        sa.Column("per_customer_limit", sa.Integer(), nullable=True),
        sa.Column("starts_at", app.db.types.UtcDateTime(), nullable=True),
        sa.Column("ends_at", app.db.types.UtcDateTime(), nullable=True),
        sa.Column("is_first_order_only", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("used_count", sa.Integer(), nullable=False),
        sa.Column("created_at", app.db.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", app.db.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
        schema=schema,
    )
    op.create_table(
        "coupon_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("coupon_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("used_count", sa.Integer(), nullable=False),
        sa.Column("created_at", app.db.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["coupon_id"],
            [qualified("coupons.id")],
            name=op.f("fk_coupon_codes_coupon_id_coupons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_coupon_codes_code")),
        schema=schema,
    )
    op.create_index(op.f("ix_coupon_codes_coupon_id"), "coupon_codes", ["coupon_id"], schema=schema)
    op.create_table(
        "coupon_redemptions",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("coupon_id", sa.Integer(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=False),
        sa.Column("order_no", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("contact_phone", sa.String(length=32), nullable=False),
        sa.Column("discount_cents", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", app.db.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", app.db.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["coupon_id"],
            [qualified("coupons.id")],
            name=op.f("fk_coupon_redemptions_coupon_id_coupons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["code_id"],
            [qualified("coupon_codes.id")],
            name=op.f("fk_coupon_redemptions_code_id_coupon_codes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_redemptions")),
        sa.UniqueConstraint("order_no", name=op.f("uq_coupon_redemptions_order_no")),
        schema=schema,
    )
    op.create_index(
        op.f("ix_coupon_redemptions_code_id"), "coupon_redemptions", ["code_id"], schema=schema
    )
    op.create_index(
        "ix_coupon_redemptions_coupon_id_status",
        "coupon_redemptions",
        ["coupon_id", "status"],
        schema=schema,
    )
    with op.batch_alter_table("orders", schema=schema) as batch:
        batch.add_column(
            sa.Column("subtotal_cents", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("discount_cents", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("coupon_code", sa.String(length=40), nullable=True))
    # Orders from before coupons: the subtotal is what was paid.
    op.execute(sa.text(f"UPDATE {qualified('orders')} SET subtotal_cents = total_cents"))
    with op.batch_alter_table("order_items", schema=schema) as batch:
        batch.add_column(
            sa.Column("discount_cents", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade():
    schema = op.get_context().version_table_schema
    with op.batch_alter_table("order_items", schema=schema) as batch:
        batch.drop_column("discount_cents")
    with op.batch_alter_table("orders", schema=schema) as batch:
        batch.drop_column("coupon_code")
        batch.drop_column("discount_cents")
        batch.drop_column("subtotal_cents")
    op.drop_table("coupon_redemptions", schema=schema)
    op.drop_table("coupon_codes", schema=schema)
    op.drop_table("coupons", schema=schema)
