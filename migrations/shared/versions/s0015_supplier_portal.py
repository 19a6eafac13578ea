"""Supplier portal: supplier accounts, applications and cost-price proposals.

Revision ID: s0015
Revises: s0014
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "s0015"
down_revision = "s0014"
branch_labels = None
depends_on = None

WHEN = app.db.types.UtcDateTime(timezone=True)


def upgrade():
    op.create_table(
        "supplier_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("last_login_at", WHEN, nullable=True),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["shared.suppliers.id"],
            name=op.f("fk_supplier_users_supplier_id_suppliers"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_users")),
        sa.UniqueConstraint("email", name=op.f("uq_supplier_users_email")),
        schema="shared",
    )  # fmt: skip
    op.create_index(
        op.f("ix_supplier_users_supplier_id"), "supplier_users", ["supplier_id"], schema="shared"
    )
    op.create_table(
        "supplier_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("company_name", sa.String(length=100), nullable=False),
        sa.Column("contact_name", sa.String(length=100), nullable=False),
        sa.Column("contact_phone", sa.String(length=40), nullable=False),
        sa.Column("goods", sa.Text(), nullable=False),
        sa.Column("website", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", WHEN, nullable=False),
        sa.Column("reviewed_by", sa.String(length=254), nullable=True),
        sa.Column("reviewed_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["shared.supplier_users.id"],
            name=op.f("fk_supplier_applications_user_id_supplier_users"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["shared.suppliers.id"],
            name=op.f("fk_supplier_applications_supplier_id_suppliers"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_applications")),
        schema="shared",
    )  # fmt: skip
    op.create_index(
        op.f("ix_supplier_applications_user_id"),
        "supplier_applications",
        ["user_id"],
        schema="shared",
    )
    op.create_index(
        "ix_supplier_applications_status",
        "supplier_applications",
        ["status", "id"],
        schema="shared",
    )
    op.create_table(
        "supplier_cost_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("current_cost_cents", sa.BigInteger(), nullable=False),
        sa.Column("proposed_cost_cents", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("proposed_by", sa.String(length=254), nullable=False),
        sa.Column("proposed_at", WHEN, nullable=False),
        sa.Column("reviewed_by", sa.String(length=254), nullable=True),
        sa.Column("reviewed_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["shared.suppliers.id"],
            name=op.f("fk_supplier_cost_proposals_supplier_id_suppliers"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["shared.skus.id"],
            name=op.f("fk_supplier_cost_proposals_sku_id_skus"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_cost_proposals")),
        schema="shared",
    )  # fmt: skip
    op.create_index(
        op.f("ix_supplier_cost_proposals_supplier_id"),
        "supplier_cost_proposals",
        ["supplier_id"],
        schema="shared",
    )
    op.create_index(
        "ix_supplier_cost_proposals_status",
        "supplier_cost_proposals",
        ["status", "id"],
        schema="shared",
    )


def downgrade():
    op.drop_table("supplier_cost_proposals", schema="shared")
    op.drop_table("supplier_applications", schema="shared")
    op.drop_table("supplier_users", schema="shared")
