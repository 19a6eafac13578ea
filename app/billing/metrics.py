"""Platform billing metrics: MRR, ARR, paying stores, trials, churn, overdue stores."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from app.billing.models import StoreSubscription
from app.db import utcnow
from app.extensions import db
from tenants.models import Tenant

PAYING_STATUSES = ("active", "past_due")


@dataclass(frozen=True)
class Metrics:
    """Subscription health for the platform: money per month and year, trials, churn."""

    mrr_cents: dict[str, int]  # by currency
    arr_cents: dict[str, int]
    paying: int
    trials: int
    past_due: list  # (slug, name, plan code, past due since, grace until)
    churned_30d: int  # paying subscriptions that ended in the last 30 days
    base_30d: int  # paying 30 days ago
    churn_rate_bp: int | None  # of those paying 30 days ago, ended since (basis points)


def billing_metrics(now: datetime | None = None) -> Metrics:
    """MRR counts active and overdue Stripe subscriptions at their price per month (yearly / 12;
    discounts and taxes not considered); trials and hand-assigned plans are not revenue."""
    now = now or utcnow()
    window_start = now - timedelta(days=30)
    sub = StoreSubscription
    stripe_rows = sub.source == "stripe"
    mrr = dict(
        db.session.execute(
            select(sub.currency, func.sum(sub.mrr_cents))
            .where(stripe_rows, sub.status.in_(PAYING_STATUSES))
            .group_by(sub.currency)
        ).all()
    )
    mrr = {currency: int(cents or 0) for currency, cents in mrr.items()}

    def count(*where) -> int:
        return db.session.scalar(select(func.count()).select_from(sub).where(*where)) or 0

    paying = count(stripe_rows, sub.status.in_(PAYING_STATUSES))
    trials = count(stripe_rows, sub.status == "trialing")
    started_before = (sub.started_at.is_not(None), sub.started_at <= window_start)
    base = count(*started_before, or_(sub.ended_at.is_(None), sub.ended_at > window_start))
    churned_of_base = count(*started_before, sub.ended_at > window_start, sub.ended_at <= now)
    churned = count(sub.started_at.is_not(None), sub.ended_at > window_start, sub.ended_at <= now)
    past_due = db.session.execute(
        select(Tenant.slug, Tenant.name, sub.plan_code, sub.past_due_since, sub.grace_until)
        .join(Tenant, Tenant.id == sub.tenant_id)
        .where(stripe_rows, sub.status == "past_due")
        .order_by(sub.grace_until, Tenant.id)
    ).all()
    return Metrics(
        mrr_cents=mrr,
        arr_cents={currency: cents * 12 for currency, cents in mrr.items()},
        paying=paying,
        trials=trials,
        past_due=list(past_due),
        churned_30d=churned,
        base_30d=base,
        churn_rate_bp=churned_of_base * 10_000 // base if base else None,
    )


def subscriptions_by_store() -> list[tuple[Tenant, StoreSubscription | None]]:
    """Every open store with its subscription row (None: never subscribed), for the console."""
    rows = db.session.execute(
        select(Tenant, StoreSubscription)
        .outerjoin(StoreSubscription, StoreSubscription.tenant_id == Tenant.id)
        .where(Tenant.status != "provisioning")
        .order_by(Tenant.id)
    ).all()
    return [(tenant, row) for tenant, row in rows]
