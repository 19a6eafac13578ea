"""The open API: customers' API keys, idempotent requests, customers' own webhook endpoint, and
the buyer's reference on orders (unique per customer).

Revision ID: t0016
Revises: t0015
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from app.db.types import BigId, UtcDateTime

revision = "t0016"
down_revision = "t0015"
branch_labels = None
depends_on = None


def upgrade():
    schema = op.get_context().version_table_schema
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(80), nullable=False, server_default=""),
        sa.Column("secret_sealed", sa.Text(), nullable=False),
        sa.Column("secret_hint", sa.String(8), nullable=False, server_default=""),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("allowed_ips", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_used_at", UtcDateTime(), nullable=True),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_api_keys_key_id")),
        schema=schema,
    )
    op.create_index(op.f("ix_api_keys_customer_id"), "api_keys", ["customer_id"], schema=schema)
    op.create_table(
        "api_idempotent_requests",
        sa.Column("id", BigId, nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_idempotent_requests")),
        schema=schema,
    )
    op.create_index(
        op.f("ix_api_idempotent_requests_created_at"),
        "api_idempotent_requests",
        ["created_at"],
        schema=schema,
    )
    op.create_index(
        "uq_api_idempotent_requests_key",
        "api_idempotent_requests",
        ["api_key_id", "idempotency_key"],
        unique=True,
        schema=schema,
    )
    # A customer's own endpoint for the events of their orders (NULL: the store's endpoints).
    with op.batch_alter_table("webhook_endpoints", schema=schema) as batch:
        batch.add_column(sa.Column("customer_id", sa.Integer(), nullable=True))
        batch.create_index("ix_webhook_endpoints_customer_id", ["customer_id"])
    with op.batch_alter_table("orders", schema=schema) as batch:
        batch.add_column(sa.Column("client_reference", sa.String(64), nullable=True))
        batch.create_index(
            "uq_orders_customer_reference", ["customer_id", "client_reference"], unique=True
        )


def downgrade():
    schema = op.get_context().version_table_schema
    with op.batch_alter_table("orders", schema=schema) as batch:
        batch.drop_index("uq_orders_customer_reference")
        batch.drop_column("client_reference")
    with op.batch_alter_table("webhook_endpoints", schema=schema) as batch:
        batch.drop_index("ix_webhook_endpoints_customer_id")
        batch.drop_column("customer_id")
    op.drop_table("api_idempotent_requests", schema=schema)
    op.drop_table("api_keys", schema=schema)
