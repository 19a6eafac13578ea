"""Batch top-ups: batches and their rows.

Revision ID: t0020
Revises: t0019
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

from app.db.types import BigId, UtcDateTime

revision = "t0020"
down_revision = "t0019"
branch_labels = None
depends_on = None


def upgrade():
    schema = op.get_context().version_table_schema
    batches_id = f"{schema}.batches.id" if schema else "batches.id"
    op.create_table(
        "batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_no", sa.String(24), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("file_name", sa.String(200), nullable=False),
        sa.Column("created_by_kind", sa.String(10), nullable=False),
        sa.Column("created_by", sa.String(254), nullable=False),
        sa.Column("client_ip", sa.String(45), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("valid_count", sa.Integer(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("charged_cents", sa.BigInteger(), nullable=False),
        sa.Column("skip_invalid", sa.Boolean(), nullable=False),
        sa.Column("error", sa.String(200), nullable=False),
        sa.Column("error_params", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("confirmed_at", UtcDateTime(), nullable=True),
        sa.Column("placed_at", UtcDateTime(), nullable=True),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
        sa.UniqueConstraint("batch_no", name=op.f("uq_batches_batch_no")),
        schema=schema,
    )
    op.create_index(op.f("ix_batches_customer_id"), "batches", ["customer_id"], schema=schema)
    op.create_index(op.f("ix_batches_status"), "batches", ["status"], schema=schema)
    op.create_index(op.f("ix_batches_created_at"), "batches", ["created_at"], schema=schema)
    op.create_table(
        "batch_rows",
        sa.Column("id", BigId, nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("sku_ref", sa.String(64), nullable=False),
        sa.Column("account_text", sa.String(400), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=True),
        sa.Column("product_name", sa.String(120), nullable=False),
        sa.Column("sku_name", sa.String(120), nullable=False),
        sa.Column("account_fields", sa.JSON(), nullable=False),
        sa.Column("unit_price_cents", sa.BigInteger(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("order_no", sa.String(32), nullable=True),
        sa.Column("error_field", sa.String(40), nullable=False),
        sa.Column("error", sa.String(200), nullable=False),
        sa.Column("error_params", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            [batches_id],
            name=op.f("fk_batch_rows_batch_id_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_rows")),
        schema=schema,
    )
    op.create_index(op.f("ix_batch_rows_batch_id"), "batch_rows", ["batch_id"], schema=schema)
    op.create_index(op.f("ix_batch_rows_order_no"), "batch_rows", ["order_no"], schema=schema)


def downgrade():
    schema = op.get_context().version_table_schema
    op.drop_table("batch_rows", schema=schema)
    op.drop_table("batches", schema=schema)
