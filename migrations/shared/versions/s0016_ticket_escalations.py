"""Tickets escalated to the platform.

Revision ID: s0016
Revises: s0015
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "s0016"
down_revision = "s0015"
branch_labels = None
depends_on = None

WHEN = app.db.types.UtcDateTime(timezone=True)


def upgrade():
    op.create_table(
        "ticket_escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("ticket_no", sa.String(length=20), nullable=False),
        sa.Column("order_no", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("escalated_by", sa.String(length=20), nullable=False),
        sa.Column("escalated_at", WHEN, nullable=False),
        sa.Column("closed_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_escalations")),
        sa.UniqueConstraint(
            "tenant_id", "ticket_no", name=op.f("uq_ticket_escalations_tenant_id_ticket_no")
        ),
        schema="shared",
    )
    op.create_index(
        "ix_ticket_escalations_open", "ticket_escalations", ["closed_at", "id"], schema="shared"
    )


def downgrade():
    op.drop_table("ticket_escalations", schema="shared")
