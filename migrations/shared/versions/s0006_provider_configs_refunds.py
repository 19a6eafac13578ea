"""Payment provider configuration, refunds, and what a payment sent the buyer to.

Revision ID: s0006
Revises: s0005
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "s0006"
down_revision = "s0005"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "payment_provider_configs",
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("credentials_sealed", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.Column("updated_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", name=op.f("pk_payment_provider_configs")),
        schema="shared",
    )
    with op.batch_alter_table("payments", schema="shared") as batch:
        batch.alter_column("status", existing_type=sa.String(length=12), type_=sa.String(length=20))
        batch.add_column(
            sa.Column("refunded_cents", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column(
                "checkout_kind", sa.String(length=10), nullable=False, server_default="redirect"
            )
        )
        batch.add_column(
            sa.Column("checkout_payload", sa.Text(), nullable=False, server_default="")
        )
    op.create_table(
        "refunds",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("refund_no", sa.String(length=40), nullable=False),
        sa.Column("payment_id", BIGID, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("order_no", sa.String(length=32), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("provider_refund_id", sa.String(length=80), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", app.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["shared.payments.id"], name=op.f("fk_refunds_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("refund_no", name=op.f("uq_refunds_refund_no")),
        schema="shared",
    )
    for column in ("payment_id", "tenant_id", "order_no", "status"):
        op.create_index(op.f(f"ix_refunds_{column}"), "refunds", [column], schema="shared")


def downgrade():
    for column in ("payment_id", "tenant_id", "order_no", "status"):
        op.drop_index(op.f(f"ix_refunds_{column}"), table_name="refunds", schema="shared")
    op.drop_table("refunds", schema="shared")
    with op.batch_alter_table("payments", schema="shared") as batch:
        batch.drop_column("checkout_payload")
        batch.drop_column("checkout_kind")
        batch.drop_column("refunded_cents")
        batch.alter_column("status", existing_type=sa.String(length=20), type_=sa.String(length=12))
    op.drop_table("payment_provider_configs", schema="shared")
