"""Direct top-ups: supplier connectors and circuit breakers, supplier offers per SKU, top-ups and
their calls.

Revision ID: s0008
Revises: s0007
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "s0008"
down_revision = "s0007"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = app.db.types.UtcDateTime(timezone=True)


def upgrade():
    with op.batch_alter_table("suppliers", schema="shared") as batch:
        batch.add_column(
            sa.Column("connector", sa.String(length=20), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("connector_settings_sealed", sa.Text(), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column(
                "breaker_state", sa.String(length=10), nullable=False, server_default="closed"
            )
        )
        batch.add_column(
            sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("breaker_opened_at", WHEN, nullable=True))
        batch.add_column(sa.Column("balance_cents", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("balance_checked_at", WHEN, nullable=True))
    op.create_table(
        "supplier_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("supplier_sku_code", sa.String(length=64), nullable=False),
        sa.Column("cost_cents", sa.BigInteger(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["shared.skus.id"], name=op.f("fk_supplier_offers_sku_id_skus"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["shared.suppliers.id"],
            name=op.f("fk_supplier_offers_supplier_id_suppliers"), ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_offers")),
        sa.UniqueConstraint("sku_id", "supplier_id", name="uq_supplier_offers_sku"),
        schema="shared",
    )  # fmt: skip
    op.create_index(
        op.f("ix_supplier_offers_sku_id"), "supplier_offers", ["sku_id"], schema="shared"
    )
    op.create_index(
        op.f("ix_supplier_offers_supplier_id"), "supplier_offers", ["supplier_id"], schema="shared"
    )
    op.create_table(
        "topups",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("topup_no", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("order_no", sa.String(length=32), nullable=False),
        sa.Column("order_item_id", sa.BigInteger(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("face_value_cents", sa.BigInteger(), nullable=False),
        sa.Column("account_fields", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("tried_supplier_ids", sa.JSON(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("reference", sa.String(length=48), nullable=True),
        sa.Column("supplier_order_id", sa.String(length=80), nullable=False),
        sa.Column("delivered_quantity", sa.Integer(), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("next_check_at", WHEN, nullable=True),
        sa.Column("deadline_at", WHEN, nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("submitted_at", WHEN, nullable=True),
        sa.Column("finished_at", WHEN, nullable=True),
        sa.Column("order_settled_at", WHEN, nullable=True),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["shared.suppliers.id"], name=op.f("fk_topups_supplier_id_suppliers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topups")),
        sa.UniqueConstraint("reference", name=op.f("uq_topups_reference")),
        sa.UniqueConstraint("topup_no", name=op.f("uq_topups_topup_no")),
        schema="shared",
    )
    for column in ("tenant_id", "order_no", "supplier_id"):
        op.create_index(op.f(f"ix_topups_{column}"), "topups", [column], schema="shared")
    op.create_index(
        "ix_topups_status_next_check_at", "topups", ["status", "next_check_at"], schema="shared"
    )
    op.create_table(
        "topup_calls",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("topup_id", BIGID, nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("reference", sa.String(length=48), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("request_log", sa.Text(), nullable=False),
        sa.Column("response_log", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["topup_id"], ["shared.topups.id"], name=op.f("fk_topup_calls_topup_id_topups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topup_calls")),
        schema="shared",
    )  # fmt: skip
    for column in ("topup_id", "supplier_id", "created_at"):
        op.create_index(op.f(f"ix_topup_calls_{column}"), "topup_calls", [column], schema="shared")


def downgrade():
    op.drop_table("topup_calls", schema="shared")
    op.drop_table("topups", schema="shared")
    op.drop_table("supplier_offers", schema="shared")
    with op.batch_alter_table("suppliers", schema="shared") as batch:
        for column in (
            "balance_checked_at", "balance_cents", "breaker_opened_at", "consecutive_failures",
            "breaker_state", "connector_settings_sealed", "connector",
        ):  # fmt: skip
            batch.drop_column(column)
