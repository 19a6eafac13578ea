"""The double-entry ledger: accounts, transactions, entries.

Revision ID: s0004
Revises: s0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "s0004"
down_revision = "s0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=80), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("balance_cents", sa.BigInteger(), nullable=False),
        sa.Column("created_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("code", "currency", name=op.f("uq_ledger_accounts_code_currency")),
        schema="shared",
    )
    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("idempotency_key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transactions")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_ledger_transactions_idempotency_key")),
        schema="shared",
    )
    op.create_index(
        op.f("ix_ledger_transactions_created_at"),
        "ledger_transactions",
        ["created_at"],
        unique=False,
        schema="shared",
    )
    op.create_index(
        op.f("ix_ledger_transactions_tenant_id"),
        "ledger_transactions",
        ["tenant_id"],
        unique=False,
        schema="shared",
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "transaction_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["shared.ledger_accounts.id"],
            name=op.f("fk_ledger_entries_account_id_ledger_accounts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["shared.ledger_transactions.id"],
            name=op.f("fk_ledger_entries_transaction_id_ledger_transactions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        schema="shared",
    )
    op.create_index(
        op.f("ix_ledger_entries_account_id"),
        "ledger_entries",
        ["account_id"],
        unique=False,
        schema="shared",
    )
    op.create_index(
        op.f("ix_ledger_entries_transaction_id"),
        "ledger_entries",
        ["transaction_id"],
        unique=False,
        schema="shared",
    )


def downgrade():
    op.drop_index(
        op.f("ix_ledger_entries_transaction_id"), table_name="ledger_entries", schema="shared"
    )
    op.drop_index(
        op.f("ix_ledger_entries_account_id"), table_name="ledger_entries", schema="shared"
    )
    op.drop_table("ledger_entries", schema="shared")
    op.drop_index(
        op.f("ix_ledger_transactions_tenant_id"), table_name="ledger_transactions", schema="shared"
    )
    op.drop_index(
        op.f("ix_ledger_transactions_created_at"), table_name="ledger_transactions", schema="shared"
    )
    op.drop_table("ledger_transactions", schema="shared")
    op.drop_table("ledger_accounts", schema="shared")
