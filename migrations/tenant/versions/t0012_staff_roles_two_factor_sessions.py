"""Staff: roles (staff becomes support), invitations, two-factor sign-in, sign-in sessions.

Revision ID: t0012
Revises: t0011
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "t0012"
down_revision = "t0011"
branch_labels = None
depends_on = None


def upgrade():
    schema = op.get_context().version_table_schema
    with op.batch_alter_table("staff_users", schema=schema) as batch:
        batch.add_column(sa.Column("totp_secret_sealed", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("totp_enabled_at", app.db.types.UtcDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("recovery_codes", sa.JSON(), nullable=True))
    staff_users = sa.table("staff_users", sa.column("role", sa.String), schema=schema)
    op.execute(staff_users.update().where(staff_users.c.role == "staff").values(role="support"))
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("created_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", app.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_sessions_token_hash")),
        schema=schema,
    )
    op.create_index(
        op.f("ix_staff_sessions_user_id"), "staff_sessions", ["user_id"], unique=False,
        schema=schema,
    )  # fmt: skip
    op.create_table(
        "staff_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("invited_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", app.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", app.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", app.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_invitations")),
        schema=schema,
    )
    op.create_index(
        op.f("ix_staff_invitations_email"), "staff_invitations", ["email"], unique=False,
        schema=schema,
    )  # fmt: skip


def downgrade():
    schema = op.get_context().version_table_schema
    op.drop_table("staff_invitations", schema=schema)
    op.drop_table("staff_sessions", schema=schema)
    staff_users = sa.table("staff_users", sa.column("role", sa.String), schema=schema)
    op.execute(
        staff_users.update()
        .where(staff_users.c.role.in_(("support", "finance")))
        .values(role="staff")
    )
    with op.batch_alter_table("staff_users", schema=schema) as batch:
        for column in ("recovery_codes", "totp_last_step", "totp_enabled_at", "totp_secret_sealed"):
            batch.drop_column(column)
