"""Stores, their domains, platform accounts.

Revision ID: s0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "s0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "shared"


def upgrade():
    op.create_table(
        "tenants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("plan", sa.String(length=30), nullable=False),
        sa.Column("theme", sa.String(length=40), nullable=False),
        sa.Column("owner_email", sa.String(length=254), nullable=False),
        sa.Column("schema_revision", sa.String(length=40), nullable=True),
        sa.Column("migration_error", sa.Text(), nullable=True),
        sa.Column("welcome_sent_at", app.db.types.UtcDateTime(), nullable=True),
        sa.Column("created_at", app.db.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", app.db.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("slug", name=op.f("uq_tenants_slug")),
        schema=SCHEMA,
    )
    op.create_table(
        "tenant_domains",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("verification_token", sa.String(length=64), nullable=True),
        sa.Column("verified_at", app.db.types.UtcDateTime(), nullable=True),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("created_at", app.db.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            [f"{SCHEMA}.tenants.id"],
            name=op.f("fk_tenant_domains_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_domains")),
        sa.UniqueConstraint("host", name=op.f("uq_tenant_domains_host")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_tenant_domains_tenant_id"),
        "tenant_domains",
        ["tenant_id"],
        schema=SCHEMA,
    )
    op.create_index(
        "uq_tenant_domains_primary",
        "tenant_domains",
        ["tenant_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("is_primary"),
        sqlite_where=sa.text("is_primary"),
    )
    op.create_table(
        "platform_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", app.db.types.UtcDateTime(), nullable=False),
        sa.Column("last_login_at", app.db.types.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_users")),
        sa.UniqueConstraint("email", name=op.f("uq_platform_users_email")),
        schema=SCHEMA,
    )


def downgrade():
    op.drop_table("platform_users", schema=SCHEMA)
    op.drop_index("uq_tenant_domains_primary", table_name="tenant_domains", schema=SCHEMA)
    op.drop_index(op.f("ix_tenant_domains_tenant_id"), table_name="tenant_domains", schema=SCHEMA)
    op.drop_table("tenant_domains", schema=SCHEMA)
    op.drop_table("tenants", schema=SCHEMA)
