"""Billing tables (shared schema): plans, each store's subscription, Stripe events received."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import BigId, SharedModel, UtcDateTime, utcnow
from app.i18n import N_

FREE_PLAN = "free"

# Stripe subscription statuses, plus "none" (never subscribed) and "manual" rows' "active".
STATUS_LABELS = {
    "none": N_("No subscription"),
    "trialing": N_("Trial"),
    "active": N_("Active"),
    "past_due": N_("Payment overdue"),
    "unpaid": N_("Unpaid"),
    "canceled": N_("Cancelled"),
    "incomplete": N_("Awaiting first payment"),
    "incomplete_expired": N_("Expired"),
    "paused": N_("Paused"),
}
# Statuses of a Stripe subscription that still exists as a running agreement.
LIVE_STATUSES = frozenset({"trialing", "active", "past_due", "unpaid", "incomplete", "paused"})
INVOICE_STATUS_LABELS = {
    "draft": N_("Draft"),
    "open": N_("Open"),
    "paid": N_("Paid"),
    "void": N_("Void"),
    "uncollectible": N_("Uncollectible"),
}
SOURCE_LABELS = {"none": N_("Free"), "stripe": N_("Stripe"), "manual": N_("Assigned by hand")}


class Plan(SharedModel):
    """What a store can subscribe to: prices at Stripe, a trial, and the entitlements it unlocks.

    `code` is also the wholesale tier name (decision 18) and the value kept in `tenants.plan`."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # List prices shown on the billing page; what is charged is the Stripe price's amount.
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    monthly_price_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    yearly_price_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    stripe_price_monthly: Mapped[str | None] = mapped_column(String(255))
    stripe_price_yearly: Mapped[str | None] = mapped_column(String(255))
    trial_days: Mapped[int] = mapped_column(Integer, default=0)
    entitlements: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    def stripe_price(self, interval: str) -> str | None:
        return self.stripe_price_monthly if interval == "month" else self.stripe_price_yearly


class StoreSubscription(SharedModel):
    """A store's subscription: the plan it pays for (or was given), mirrored from Stripe.

    `tenants.plan` holds the *effective* plan (what the store may use right now); this row holds
    why: the Stripe state, the grace period of an overdue payment, and what a downgrade put aside.
    """

    __tablename__ = "store_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), unique=True
    )
    plan_code: Mapped[str] = mapped_column(String(30), default=FREE_PLAN)
    source: Mapped[str] = mapped_column(String(10), default="none")  # none | stripe | manual
    status: Mapped[str] = mapped_column(String(30), default="none", index=True)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_item_id: Mapped[str | None] = mapped_column(String(255))
    stripe_price_id: Mapped[str | None] = mapped_column(String(255))
    interval: Mapped[str | None] = mapped_column(String(10))
    amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # The subscription's price per month (a yearly price / 12), for MRR.
    mrr_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    current_period_end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    trial_end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    trial_used: Mapped[bool] = mapped_column(Boolean, default=False)
    # Paying from (first active or past_due state) until the subscription ended: churn metrics.
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    past_due_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    grace_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    downgraded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The custom domain that was primary before a downgrade moved the store to its subdomain.
    custom_domain_fallback: Mapped[str | None] = mapped_column(String(253))
    # Stripe `created` of the newest event applied, and when the state applied was fetched.
    last_event_created: Mapped[int] = mapped_column(BigInteger, default=0)
    synced_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    assigned_by: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    @property
    def is_live_at_stripe(self) -> bool:
        return self.source == "stripe" and self.status in LIVE_STATUSES


class StripeEvent(SharedModel):
    """A verified Stripe webhook, stored once (unique event id) and handled by a job."""

    __tablename__ = "stripe_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    created: Mapped[int] = mapped_column(BigInteger)  # Stripe's epoch seconds
    livemode: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[dict] = mapped_column(JSON)
    tenant_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # received -> processed | ignored; failed ones are retried by the sweeper
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # When the owner was e-mailed about it (or it was decided there was nothing to say).
    mailed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
