"""Markup rules, product listings, and the stock-count display setting.

Revision ID: t0003
Revises: t0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "t0003"
down_revision = "t0002"
branch_labels = None
depends_on = None


def upgrade():
    schema = op.get_context().version_table_schema
    op.create_table(
        "price_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("rounding", sa.String(length=10), nullable=False),
        sa.Column("updated_at", app.db.types.UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "scope IN ('store', 'category', 'product', 'sku')", name=op.f("ck_price_rules_scope")
        ),
        sa.CheckConstraint("kind IN ('percent', 'fixed')", name=op.f("ck_price_rules_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_rules")),
        sa.UniqueConstraint("scope", "target_id", name=op.f("uq_price_rules_scope_target_id")),
        schema=schema,
    )
    op.create_table(
        "product_listings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("is_hidden", sa.Boolean(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("updated_at", app.db.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_listings")),
        sa.UniqueConstraint("product_id", name=op.f("uq_product_listings_product_id")),
        schema=schema,
    )
    with op.batch_alter_table("store_settings", schema=schema) as batch:
        batch.add_column(
            sa.Column("show_stock_counts", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    schema = op.get_context().version_table_schema
    with op.batch_alter_table("store_settings", schema=schema) as batch:
        batch.drop_column("show_stock_counts")
    op.drop_table("product_listings", schema=schema)
    op.drop_table("price_rules", schema=schema)
