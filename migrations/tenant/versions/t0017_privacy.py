"""Privacy: the store's policy text and retention periods, customers' deletion requests, and
when a customer was anonymised.

Revision ID: t0017
Revises: t0016
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "t0017"
down_revision = "t0016"
branch_labels = None
depends_on = None

WHEN = app.db.types.UtcDateTime(timezone=True)


def upgrade():
    schema = op.get_context().version_table_schema
    op.create_table(
        "privacy_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_html", sa.Text(), nullable=False),
        sa.Column("unpaid_contact_days", sa.Integer(), nullable=False),
        sa.Column("inactive_customer_months", sa.Integer(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_settings")),
        schema=schema,
    )
    op.create_table(
        "privacy_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("requested_at", WHEN, nullable=False),
        sa.Column("decided_at", WHEN, nullable=True),
        sa.Column("decided_by", sa.String(length=254), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
        schema=schema,
    )
    op.create_index(
        op.f("ix_privacy_requests_customer_id"), "privacy_requests", ["customer_id"], schema=schema
    )
    op.create_index(
        "ix_privacy_requests_status",
        "privacy_requests",
        ["status", "requested_at"],
        schema=schema,
    )
    with op.batch_alter_table("customers", schema=schema) as batch:
        batch.add_column(sa.Column("anonymised_at", WHEN, nullable=True))


def downgrade():
    schema = op.get_context().version_table_schema
    with op.batch_alter_table("customers", schema=schema) as batch:
        batch.drop_column("anonymised_at")
    op.drop_table("privacy_requests", schema=schema)
    op.drop_table("privacy_settings", schema=schema)
