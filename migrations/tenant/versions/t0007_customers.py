"""Store customer accounts (e-mail unique per store).

Revision ID: t0007
Revises: t0006
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "t0007"
down_revision = "t0006"
branch_labels = None
depends_on = None


def upgrade():
    schema = op.get_context().version_table_schema
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", app.db.types.UtcDateTime(), nullable=False),
        sa.Column("last_login_at", app.db.types.UtcDateTime(), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("is_blocked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("email", name=op.f("uq_customers_email")),
        schema=schema,
    )


def downgrade():
    schema = op.get_context().version_table_schema
    op.drop_table("customers", schema=schema)
