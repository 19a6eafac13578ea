"""Customer money: balance top-ups, customer levels, customer referral, CRM tags and notes.

Revision ID: t0010
Revises: t0009
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "t0010"
down_revision = "t0009"
branch_labels = None
depends_on = None


def upgrade():
    schema = op.get_context().version_table_schema
    with op.batch_alter_table("customers", schema=schema) as batch:
        batch.add_column(
            sa.Column("paid_spend_cents", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("invite_code", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("referrer_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("tags", sa.String(length=200), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("notes", sa.Text(), nullable=False, server_default=""))
        batch.create_unique_constraint(batch.f("uq_customers_invite_code"), ["invite_code"])
        batch.create_index(batch.f("ix_customers_referrer_id"), ["referrer_id"])
    op.create_table(
        "balance_topups",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("topup_no", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("payment_no", sa.String(length=40), nullable=True),
        sa.Column("created_at", app.db.types.UtcDateTime(), nullable=False),
        sa.Column("paid_at", app.db.types.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balance_topups")),
        sa.UniqueConstraint("topup_no", name=op.f("uq_balance_topups_topup_no")),
        schema=schema,
    )
    op.create_index(
        op.f("ix_balance_topups_customer_id"), "balance_topups", ["customer_id"], schema=schema
    )
    op.create_table(
        "customer_levels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("threshold_cents", sa.BigInteger(), nullable=False),
        sa.Column("discount_bp", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_levels")),
        sa.UniqueConstraint("code", name=op.f("uq_customer_levels_code")),
        schema=schema,
    )
    op.create_table(
        "customer_program",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_bp", sa.Integer(), nullable=False),
        sa.Column("updated_at", app.db.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_program")),
        schema=schema,
    )


def downgrade():
    schema = op.get_context().version_table_schema
    op.drop_table("customer_program", schema=schema)
    op.drop_table("customer_levels", schema=schema)
    op.drop_index(op.f("ix_balance_topups_customer_id"), "balance_topups", schema=schema)
    op.drop_table("balance_topups", schema=schema)
    with op.batch_alter_table("customers", schema=schema) as batch:
        batch.drop_index(batch.f("ix_customers_referrer_id"))
        batch.drop_constraint(batch.f("uq_customers_invite_code"), type_="unique")
        for column in ("notes", "tags", "referrer_id", "invite_code", "paid_spend_cents"):
            batch.drop_column(column)
