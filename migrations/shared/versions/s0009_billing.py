"""SaaS billing: plans (Free, Pro and Business seeded), store subscriptions, Stripe events.

Revision ID: s0009
Revises: s0008
Create Date: 2026-11-24
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "s0009"
down_revision = "s0008"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = app.db.types.UtcDateTime(timezone=True)

# The default plans as of this revision (the platform edits them in /platform/plans; Stripe
# price ids are added there). Entitlement names: app.billing.entitlements.ENTITLEMENTS.
PLANS = (
    # code, name, position, monthly cents, yearly cents, trial days, entitlements
    ("free", "Free", 0, 0, 0, 0, {
        "custom_domain": False, "premium_themes": False, "api_access": False, "crm": False,
        "marketing_posters": False, "staff_seats": 1, "wholesale_tier": "free",
        "settlement_days": 1, "platform_fee_bps": 100,
    }),
    ("pro", "Pro", 10, 9900, 99000, 14, {
        "custom_domain": True, "premium_themes": True, "api_access": True, "crm": True,
        "marketing_posters": True, "staff_seats": 5, "wholesale_tier": "pro",
        "settlement_days": 1, "platform_fee_bps": 50,
    }),
    ("business", "Business", 20, 29900, 299000, 14, {
        "custom_domain": True, "premium_themes": True, "api_access": True, "crm": True,
        "marketing_posters": True, "staff_seats": 20, "wholesale_tier": "business",
        "settlement_days": 0, "platform_fee_bps": 0,
    }),
)  # fmt: skip


def upgrade():
    plans = op.create_table(
        "plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("monthly_price_cents", sa.BigInteger(), nullable=False),
        sa.Column("yearly_price_cents", sa.BigInteger(), nullable=False),
        sa.Column("stripe_price_monthly", sa.String(length=255), nullable=True),
        sa.Column("stripe_price_yearly", sa.String(length=255), nullable=True),
        sa.Column("trial_days", sa.Integer(), nullable=False),
        sa.Column("entitlements", sa.JSON(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.UniqueConstraint("code", name=op.f("uq_plans_code")),
        schema="shared",
    )
    op.create_table(
        "store_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("plan_code", sa.String(length=30), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("stripe_customer_id", sa.String(length=255), nullable=True),
        sa.Column("stripe_subscription_id", sa.String(length=255), nullable=True),
        sa.Column("stripe_item_id", sa.String(length=255), nullable=True),
        sa.Column("stripe_price_id", sa.String(length=255), nullable=True),
        sa.Column("interval", sa.String(length=10), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("mrr_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("current_period_end", WHEN, nullable=True),
        sa.Column("trial_end", WHEN, nullable=True),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("trial_used", sa.Boolean(), nullable=False),
        sa.Column("started_at", WHEN, nullable=True),
        sa.Column("ended_at", WHEN, nullable=True),
        sa.Column("past_due_since", WHEN, nullable=True),
        sa.Column("grace_until", WHEN, nullable=True),
        sa.Column("downgraded_at", WHEN, nullable=True),
        sa.Column("custom_domain_fallback", sa.String(length=253), nullable=True),
        sa.Column("last_event_created", sa.BigInteger(), nullable=False),
        sa.Column("synced_at", WHEN, nullable=True),
        sa.Column("assigned_by", sa.String(length=254), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["shared.tenants.id"],
            name=op.f("fk_store_subscriptions_tenant_id_tenants"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_subscriptions")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_store_subscriptions_tenant_id")),
        sa.UniqueConstraint(
            "stripe_customer_id", name=op.f("uq_store_subscriptions_stripe_customer_id")
        ),
        sa.UniqueConstraint(
            "stripe_subscription_id", name=op.f("uq_store_subscriptions_stripe_subscription_id")
        ),
        schema="shared",
    )  # fmt: skip
    op.create_index(
        op.f("ix_store_subscriptions_status"), "store_subscriptions", ["status"], schema="shared"
    )
    op.create_table(
        "stripe_events",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("received_at", WHEN, nullable=False),
        sa.Column("processed_at", WHEN, nullable=True),
        sa.Column("mailed_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_stripe_events_event_id")),
        schema="shared",
    )
    for column in ("tenant_id", "status"):
        op.create_index(
            op.f(f"ix_stripe_events_{column}"), "stripe_events", [column], schema="shared"
        )

    now = datetime.now(UTC)
    op.bulk_insert(
        plans,
        [
            {
                "code": code,
                "name": name,
                "position": position,
                "is_active": True,
                "currency": "CNY",
                "monthly_price_cents": monthly,
                "yearly_price_cents": yearly,
                "stripe_price_monthly": None,
                "stripe_price_yearly": None,
                "trial_days": trial_days,
                "entitlements": entitlements,
                "created_at": now,
                "updated_at": now,
            }
            for code, name, position, monthly, yearly, trial_days, entitlements in PLANS
        ],
    )


def downgrade():
    op.drop_table("stripe_events", schema="shared")
    op.drop_table("store_subscriptions", schema="shared")
    op.drop_table("plans", schema="shared")
