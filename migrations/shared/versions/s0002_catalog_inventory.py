"""Shared catalog (suppliers, categories, products, SKUs, tier prices) and card-key inventory.

Revision ID: s0002
Revises: s0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "s0002"
down_revision = "s0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("icon", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["shared.categories.id"],
            name=op.f("fk_categories_parent_id_categories"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
        schema="shared",
    )
    op.create_index(
        op.f("ix_categories_parent_id"), "categories", ["parent_id"], unique=False, schema="shared"
    )
    op.create_table(
        "key_access_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=True),
        sa.Column("key_count", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_access_log")),
        schema="shared",
    )
    op.create_table(
        "suppliers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("is_platform", sa.Boolean(), nullable=False),
        sa.Column("contact_name", sa.String(length=100), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("contact_phone", sa.String(length=40), nullable=False),
        sa.Column("created_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppliers")),
        sa.UniqueConstraint("name", name=op.f("uq_suppliers_name")),
        schema="shared",
    )
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description_md", sa.Text(), nullable=False),
        sa.Column("description_html", sa.Text(), nullable=False),
        sa.Column("image_path", sa.String(length=200), nullable=True),
        sa.Column("delivery_type", sa.String(length=20), nullable=False),
        sa.Column("input_schema", sa.JSON(), nullable=False),
        sa.Column("is_published", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "delivery_type IN ('card_key', 'direct_topup', 'manual')",
            name=op.f("ck_products_delivery_type"),
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["shared.categories.id"],
            name=op.f("fk_products_category_id_categories"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        schema="shared",
    )
    op.create_index(
        op.f("ix_products_category_id"), "products", ["category_id"], unique=False, schema="shared"
    )
    op.create_index(
        op.f("ix_products_is_published"),
        "products",
        ["is_published"],
        unique=False,
        schema="shared",
    )
    op.create_table(
        "skus",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("face_value_cents", sa.BigInteger(), nullable=False),
        sa.Column("wholesale_cents", sa.BigInteger(), nullable=False),
        sa.Column("cost_cents", sa.BigInteger(), nullable=False),
        sa.Column("min_quantity", sa.Integer(), nullable=False),
        sa.Column("max_quantity", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("supplier_sku_code", sa.String(length=64), nullable=False),
        sa.Column("low_stock_threshold", sa.Integer(), nullable=False),
        sa.Column("low_stock_alerted_at", app.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("cost_cents >= 0", name=op.f("ck_skus_cost_not_negative")),
        sa.CheckConstraint("face_value_cents >= 0", name=op.f("ck_skus_face_value_not_negative")),
        sa.CheckConstraint(
            "min_quantity >= 1 AND max_quantity >= min_quantity", name=op.f("ck_skus_quantities")
        ),
        sa.CheckConstraint("wholesale_cents >= 0", name=op.f("ck_skus_wholesale_not_negative")),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["shared.products.id"],
            name=op.f("fk_skus_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["shared.suppliers.id"],
            name=op.f("fk_skus_supplier_id_suppliers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skus")),
        sa.UniqueConstraint("code", name=op.f("uq_skus_code")),
        schema="shared",
    )
    op.create_index(
        op.f("ix_skus_product_id"), "skus", ["product_id"], unique=False, schema="shared"
    )
    op.create_index(
        op.f("ix_skus_supplier_id"), "skus", ["supplier_id"], unique=False, schema="shared"
    )
    op.create_table(
        "card_key_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("imported_by", sa.String(length=254), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("invalid", sa.Integer(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("voided_at", app.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("voided_by", sa.String(length=254), nullable=True),
        sa.Column("created_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sku_id"],
            ["shared.skus.id"],
            name=op.f("fk_card_key_batches_sku_id_skus"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_key_batches")),
        schema="shared",
    )
    op.create_index(
        op.f("ix_card_key_batches_sku_id"),
        "card_key_batches",
        ["sku_id"],
        unique=False,
        schema="shared",
    )
    op.create_table(
        "sku_tier_prices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=30), nullable=False),
        sa.Column("wholesale_cents", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "wholesale_cents >= 0", name=op.f("ck_sku_tier_prices_wholesale_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"],
            ["shared.skus.id"],
            name=op.f("fk_sku_tier_prices_sku_id_skus"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sku_tier_prices")),
        sa.UniqueConstraint("sku_id", "tier", name=op.f("uq_sku_tier_prices_sku_id_tier")),
        schema="shared",
    )
    op.create_table(
        "card_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("secret_hmac", sa.LargeBinary(length=32), nullable=False),
        sa.Column("masked", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("order_ref", sa.String(length=64), nullable=True),
        sa.Column("reserved_until", app.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("sold_at", app.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["shared.card_key_batches.id"],
            name=op.f("fk_card_keys_batch_id_card_key_batches"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"],
            ["shared.skus.id"],
            name=op.f("fk_card_keys_sku_id_skus"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_keys")),
        sa.UniqueConstraint("secret_hmac", name=op.f("uq_card_keys_secret_hmac")),
        schema="shared",
    )
    op.create_index(
        op.f("ix_card_keys_batch_id"), "card_keys", ["batch_id"], unique=False, schema="shared"
    )
    op.create_index(
        op.f("ix_card_keys_order_ref"), "card_keys", ["order_ref"], unique=False, schema="shared"
    )
    op.create_index(
        "ix_card_keys_sku_id_status",
        "card_keys",
        ["sku_id", "status"],
        unique=False,
        schema="shared",
    )


def downgrade():

    op.drop_index("ix_card_keys_sku_id_status", table_name="card_keys", schema="shared")
    op.drop_index(op.f("ix_card_keys_order_ref"), table_name="card_keys", schema="shared")
    op.drop_index(op.f("ix_card_keys_batch_id"), table_name="card_keys", schema="shared")
    op.drop_table("card_keys", schema="shared")
    op.drop_table("sku_tier_prices", schema="shared")
    op.drop_index(
        op.f("ix_card_key_batches_sku_id"), table_name="card_key_batches", schema="shared"
    )
    op.drop_table("card_key_batches", schema="shared")
    op.drop_index(op.f("ix_skus_supplier_id"), table_name="skus", schema="shared")
    op.drop_index(op.f("ix_skus_product_id"), table_name="skus", schema="shared")
    op.drop_table("skus", schema="shared")
    op.drop_index(op.f("ix_products_is_published"), table_name="products", schema="shared")
    op.drop_index(op.f("ix_products_category_id"), table_name="products", schema="shared")
    op.drop_table("products", schema="shared")
    op.drop_table("suppliers", schema="shared")
    op.drop_table("key_access_log", schema="shared")
    op.drop_index(op.f("ix_categories_parent_id"), table_name="categories", schema="shared")
    op.drop_table("categories", schema="shared")
