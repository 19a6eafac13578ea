"""Risk control: blacklists, velocity counters, the review queue of held orders.

Revision ID: s0017
Revises: s0016
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "s0017"
down_revision = "s0016"
branch_labels = None
depends_on = None

WHEN = app.db.types.UtcDateTime(timezone=True)


def upgrade():
    op.create_table(
        "risk_blacklist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=254), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_blacklist")),
        sa.UniqueConstraint(
            "tenant_id", "kind", "value", name=op.f("uq_risk_blacklist_tenant_id_kind_value")
        ),
        schema="shared",
    )
    op.create_index(
        op.f("ix_risk_blacklist_tenant_id"), "risk_blacklist", ["tenant_id"], schema="shared"
    )
    op.create_table(
        "risk_counters",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_risk_counters")),
        schema="shared",
    )
    op.create_index(
        op.f("ix_risk_counters_expires_at"), "risk_counters", ["expires_at"], schema="shared"
    )
    op.create_table(
        "risk_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("order_no", sa.String(length=32), nullable=False),
        sa.Column("queue", sa.String(length=10), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("decided_at", WHEN, nullable=True),
        sa.Column("decided_by", sa.String(length=254), nullable=False),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_reviews")),
        sa.UniqueConstraint(
            "tenant_id", "order_no", name=op.f("uq_risk_reviews_tenant_id_order_no")
        ),
        schema="shared",
    )
    op.create_index(
        op.f("ix_risk_reviews_tenant_id"), "risk_reviews", ["tenant_id"], schema="shared"
    )
    op.create_index(
        "ix_risk_reviews_waiting",
        "risk_reviews",
        ["status", "queue", "created_at"],
        schema="shared",
    )


def downgrade():
    op.drop_table("risk_reviews", schema="shared")
    op.drop_table("risk_counters", schema="shared")
    op.drop_table("risk_blacklist", schema="shared")
