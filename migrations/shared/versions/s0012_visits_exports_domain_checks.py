"""Store back-office (shared side): storefront visits per day, order export jobs, and the last
DNS check of custom domains.

Revision ID: s0012
Revises: s0011
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "s0012"
down_revision = "s0011"
branch_labels = None
depends_on = None

WHEN = app.db.types.UtcDateTime(timezone=True)


def upgrade():
    op.create_table(
        "store_visit_days",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("visits", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "day", name=op.f("pk_store_visit_days")),
        schema="shared",
    )
    op.create_table(
        "order_exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("requested_by", sa.String(length=254), nullable=False),
        sa.Column("file_format", sa.String(length=10), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=120), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("finished_at", WHEN, nullable=True),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_exports")),
        sa.UniqueConstraint("token", name=op.f("uq_order_exports_token")),
        schema="shared",
    )
    op.create_index(
        op.f("ix_order_exports_tenant_id"), "order_exports", ["tenant_id"], schema="shared"
    )
    op.create_index(
        op.f("ix_order_exports_expires_at"), "order_exports", ["expires_at"], schema="shared"
    )
    with op.batch_alter_table("tenant_domains", schema="shared") as batch:
        batch.add_column(sa.Column("checked_at", WHEN, nullable=True))
        batch.add_column(sa.Column("check_error", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("tenant_domains", schema="shared") as batch:
        batch.drop_column("check_error")
        batch.drop_column("checked_at")
    op.drop_index(op.f("ix_order_exports_expires_at"), "order_exports", schema="shared")
    op.drop_index(op.f("ix_order_exports_tenant_id"), "order_exports", schema="shared")
    op.drop_table("order_exports")
    op.drop_table("store_visit_days")
