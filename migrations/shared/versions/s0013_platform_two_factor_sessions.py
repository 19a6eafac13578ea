"""Platform accounts: two-factor sign-in and sign-in sessions.

Revision ID: s0013
Revises: s0012
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "s0013"
down_revision = "s0012"
branch_labels = None
depends_on = None

SCHEMA = "shared"


def upgrade():
    with op.batch_alter_table("platform_users", schema=SCHEMA) as batch:
        batch.add_column(sa.Column("totp_secret_sealed", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("totp_enabled_at", app.db.types.UtcDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("recovery_codes", sa.JSON(), nullable=True))
    op.create_table(
        "platform_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("created_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", app.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_platform_sessions_token_hash")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_platform_sessions_user_id"), "platform_sessions", ["user_id"], unique=False,
        schema=SCHEMA,
    )  # fmt: skip


def downgrade():
    op.drop_table("platform_sessions", schema=SCHEMA)
    with op.batch_alter_table("platform_users", schema=SCHEMA) as batch:
        for column in ("recovery_codes", "totp_last_step", "totp_enabled_at", "totp_secret_sealed"):
            batch.drop_column(column)
