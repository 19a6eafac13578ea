"""Money flows: ledger references and settlement holds, store referral, real-name verification,
withdrawals.

Revision ID: s0011
Revises: s0010
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "s0011"
down_revision = "s0010"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = app.db.types.UtcDateTime(timezone=True)


def upgrade():
    with op.batch_alter_table("ledger_transactions", schema="shared") as batch:
        batch.add_column(sa.Column("reference", sa.String(length=120), nullable=True))
        batch.create_index(batch.f("ix_ledger_transactions_reference"), ["reference"])
    with op.batch_alter_table("tenants", schema="shared") as batch:
        batch.add_column(sa.Column("referrer_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_tenants_referrer_id"), ["referrer_id"])
        batch.create_foreign_key(
            batch.f("fk_tenants_referrer_id_tenants"),
            "tenants",
            ["referrer_id"],
            ["id"],
            referent_schema="shared",
            ondelete="SET NULL",
        )
    op.create_table(
        "ledger_holds",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("account_code", sa.String(length=80), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=False),
        sa.Column("due_at", WHEN, nullable=False),
        sa.Column("settled_at", WHEN, nullable=True),
        sa.Column("settled_cents", sa.BigInteger(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_holds")),
        sa.UniqueConstraint(
            "account_code", "currency", "reference",
            name=op.f("uq_ledger_holds_account_code_currency_reference"),
        ),
        schema="shared",
    )  # fmt: skip
    op.create_index(
        "ix_ledger_holds_due", "ledger_holds", ["settled_at", "due_at"], schema="shared"
    )
    op.create_table(
        "verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("party", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("legal_name", sa.String(length=100), nullable=False),
        sa.Column("id_number_sealed", sa.Text(), nullable=False),
        sa.Column("id_number_mask", sa.String(length=40), nullable=False),
        sa.Column("company_name", sa.String(length=200), nullable=False),
        sa.Column("licence_number_sealed", sa.Text(), nullable=True),
        sa.Column("licence_number_mask", sa.String(length=40), nullable=False),
        sa.Column("licence_image", sa.String(length=120), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("submitted_by", sa.String(length=254), nullable=False),
        sa.Column("submitted_at", WHEN, nullable=False),
        sa.Column("reviewed_by", sa.String(length=254), nullable=True),
        sa.Column("reviewed_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verifications")),
        schema="shared",
    )
    op.create_index("ix_verifications_party", "verifications", ["party", "id"], schema="shared")
    op.create_index(op.f("ix_verifications_status"), "verifications", ["status"], schema="shared")
    op.create_table(
        "withdrawals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("withdrawal_no", sa.String(length=24), nullable=False),
        sa.Column("party", sa.String(length=40), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("fee_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("account_name", sa.String(length=100), nullable=False),
        sa.Column("account_sealed", sa.Text(), nullable=False),
        sa.Column("account_mask", sa.String(length=40), nullable=False),
        sa.Column("bank_name", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("payout_reference", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=254), nullable=False),
        sa.Column("requested_at", WHEN, nullable=False),
        sa.Column("reviewed_by", sa.String(length=254), nullable=True),
        sa.Column("reviewed_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_withdrawals")),
        sa.UniqueConstraint("withdrawal_no", name=op.f("uq_withdrawals_withdrawal_no")),
        schema="shared",
    )
    op.create_index(
        "ix_withdrawals_party_requested",
        "withdrawals",
        ["party", "requested_at"],
        schema="shared",
    )
    op.create_index(op.f("ix_withdrawals_status"), "withdrawals", ["status"], schema="shared")


def downgrade():
    op.drop_table("withdrawals", schema="shared")
    op.drop_table("verifications", schema="shared")
    op.drop_table("ledger_holds", schema="shared")
    with op.batch_alter_table("tenants", schema="shared") as batch:
        batch.drop_constraint(batch.f("fk_tenants_referrer_id_tenants"), type_="foreignkey")
        batch.drop_index(batch.f("ix_tenants_referrer_id"))
        batch.drop_column("referrer_id")
    with op.batch_alter_table("ledger_transactions", schema="shared") as batch:
        batch.drop_index(batch.f("ix_ledger_transactions_reference"))
        batch.drop_column("reference")
