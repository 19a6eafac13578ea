"""After-sales tickets and their messages.

Revision ID: t0014
Revises: t0013
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "t0014"
down_revision = "t0013"
branch_labels = None
depends_on = None

WHEN = app.db.types.UtcDateTime(timezone=True)


def upgrade():
    schema = op.get_context().version_table_schema
    tickets_id = f"{schema}.tickets.id" if schema else "tickets.id"
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_no", sa.String(length=20), nullable=False),
        sa.Column("order_no", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("contact", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("first_response_due_at", WHEN, nullable=False),
        sa.Column("first_responded_at", WHEN, nullable=True),
        sa.Column("escalated_at", WHEN, nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("fault", sa.String(length=20), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=False),
        sa.Column("resolved_by", sa.String(length=254), nullable=True),
        sa.Column("resolved_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("ticket_no", name=op.f("uq_tickets_ticket_no")),
        schema=schema,
    )
    op.create_index(op.f("ix_tickets_order_no"), "tickets", ["order_no"], schema=schema)
    op.create_index(
        "ix_tickets_status_due", "tickets", ["status", "first_response_due_at"], schema=schema
    )
    op.create_table(
        "ticket_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("author_kind", sa.String(length=20), nullable=False),
        sa.Column("author", sa.String(length=254), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attachment", sa.String(length=60), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], [tickets_id],
            name=op.f("fk_ticket_messages_ticket_id_tickets"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_messages")),
        schema=schema,
    )  # fmt: skip
    op.create_index(
        op.f("ix_ticket_messages_ticket_id"), "ticket_messages", ["ticket_id"], schema=schema
    )


def downgrade():
    schema = op.get_context().version_table_schema
    op.drop_table("ticket_messages", schema=schema)
    op.drop_table("tickets", schema=schema)
