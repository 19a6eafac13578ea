"""Risk rules: high-risk products, a SKU's daily quantity per buyer, and what each contact
paid across the platform (the anti-money-laundering daily total).

Revision ID: s0019
Revises: s0018
Create Date: 2026-12-09
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "s0019"
down_revision = "s0018"
branch_labels = None
depends_on = None

WHEN = app.db.types.UtcDateTime(timezone=True)


def upgrade():
    with op.batch_alter_table("products", schema="shared") as batch:
        batch.add_column(
            sa.Column("is_high_risk", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("skus", schema="shared") as batch:
        batch.add_column(sa.Column("daily_quantity_max", sa.Integer(), nullable=True))
    op.create_table(
        "risk_paid_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_digest", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("order_no", sa.String(length=32), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("paid_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_paid_contacts")),
        sa.UniqueConstraint(
            "contact_digest",
            "tenant_id",
            "order_no",
            name=op.f("uq_risk_paid_contacts_contact_digest_tenant_id_order_no"),
        ),
        schema="shared",
    )
    op.create_index(
        "ix_risk_paid_contacts_recent",
        "risk_paid_contacts",
        ["contact_digest", "paid_at"],
        schema="shared",
    )
    op.create_index(
        op.f("ix_risk_paid_contacts_paid_at"), "risk_paid_contacts", ["paid_at"], schema="shared"
    )


def downgrade():
    op.drop_table("risk_paid_contacts", schema="shared")
    with op.batch_alter_table("skus", schema="shared") as batch:
        batch.drop_column("daily_quantity_max")
    with op.batch_alter_table("products", schema="shared") as batch:
        batch.drop_column("is_high_risk")
