"""The audit log: append-only admin actions from both back-offices.

Revision ID: s0010
Revises: s0009
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "s0010"
down_revision = "s0009"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = app.db.types.UtcDateTime(timezone=True)


def upgrade():
    op.create_table(
        "audit_events",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor_kind", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_email", sa.String(length=254), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("target", sa.String(length=120), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        schema="shared",
    )
    for column in ("at", "tenant_id", "action"):
        op.create_index(
            op.f(f"ix_audit_events_{column}"), "audit_events", [column], schema="shared"
        )


def downgrade():
    op.drop_table("audit_events", schema="shared")
