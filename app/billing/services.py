"""A store's subscription and its effective plan: Stripe Checkout and the Customer Portal to
change it, Stripe's state applied to it, the grace period of an overdue payment, assignment by
hand, and what the billing page shows.

The effective plan — what a store may use now — is kept in `tenants.plan`, which pricing tiers
and `entitlements` read. It changes only here: from Stripe's state of the subscription (re-fetched
from the API for every event, so duplicates and out-of-order deliveries converge on the truth),
at the end of an overdue payment's grace period, or when the platform assigns a plan by hand.
Nothing a store's customers bought is touched by a plan change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import stripe
from flask import current_app
from sqlalchemy import or_, select

from app.billing import stripe_api
from app.billing.entitlements import plan_entitlements
from app.billing.errors import BillingError
from app.billing.models import FREE_PLAN, LIVE_STATUSES, Plan, StoreSubscription
from app.billing.plans import get_plan, list_plans
from app.billing.stripe_api import StripeSubscription, is_configured
from app.catalog.cache import bump_store_version
from app.db import utcnow
from app.extensions import db
from app.i18n import N_
from tenants.models import Tenant
from tenants.resolver import resolver

log = logging.getLogger(__name__)

INTERVALS = ("month", "year")
PAYING_STATUSES = frozenset({"active", "past_due"})


# -- a store's subscription and its effective plan -------------------------------------------------


def find_subscription(tenant_id: int) -> StoreSubscription | None:
    return db.session.scalar(
        select(StoreSubscription).where(StoreSubscription.tenant_id == tenant_id)
    )


def subscription_row(tenant_id: int, *, lock: bool = False) -> StoreSubscription:
    """The store's subscription row, created when it has none: on Free, or — for a store opened
    on another plan (`tenants create --plan`) — holding that plan as if assigned by hand."""
    query = select(StoreSubscription).where(StoreSubscription.tenant_id == tenant_id)
    row = db.session.scalar(query.with_for_update() if lock else query)
    if row is None:
        plan = db.session.scalar(select(Tenant.plan).where(Tenant.id == tenant_id)) or FREE_PLAN
        row = StoreSubscription(tenant_id=tenant_id, plan_code=plan)
        if plan == FREE_PLAN:
            row.source, row.status = "none", "none"
        else:
            row.source, row.status, row.assigned_by = "manual", "active", "provisioning"
        db.session.add(row)
        db.session.flush()
    return row


def effective_plan(row: StoreSubscription, now: datetime) -> str:
    """What the store may use now: its plan while the subscription is in good standing or an
    overdue payment is within its grace period; Free otherwise."""
    if row.source == "manual":
        return row.plan_code
    if row.source == "stripe":
        if row.status in ("active", "trialing"):
            return row.plan_code
        if row.status == "past_due" and row.grace_until is not None and now < row.grace_until:
            return row.plan_code
    return FREE_PLAN


def _apply_effective_plan(tenant: Tenant, row: StoreSubscription, now: datetime) -> bool:
    """Set `tenants.plan` from the subscription; True when the store changed (plan or host)."""
    code = effective_plan(row, now)
    changed = tenant.plan != code
    if changed:
        if code == FREE_PLAN and row.source == "stripe":
            row.downgraded_at = now
            _queue_downgrade_email(tenant.id, tenant.plan, now)
        log.info("store %s: plan %s -> %s (%s)", tenant.id, tenant.plan, code, row.status)
        tenant.plan = code
    if code != FREE_PLAN:
        row.downgraded_at = None
    return _reconcile_custom_domain(tenant, row) or changed


def _queue_downgrade_email(tenant_id: int, previous_plan: str, at: datetime) -> None:
    """Tell the owner, once the downgrade has committed (the job is held until then)."""
    from workers.queue import enqueue

    stamp = at.isoformat()
    enqueue(
        "workers.jobs.billing.send_downgrade_email",
        tenant_id,
        previous_plan,
        stamp,
        queue="notifications",
        job_key=f"downgrade-mail:{tenant_id}:{stamp}",
    )


def send_downgrade_email(tenant_id: int, previous_plan: str, stamp: str) -> bool:
    """E-mail the owner that the store moved to Free: which features switched off (their
    settings kept), that customers keep what they bought, and the links to pay and come back.
    Not sent if the store is no longer downgraded from that moment (paid meanwhile)."""
    from flask_babel import force_locale, gettext

    from app.billing.entitlements import ENTITLEMENTS
    from app.mail.services import send_template
    from app.web.urls import tenant_url
    from tenants.provisioning import tenant_ref

    row = find_subscription(tenant_id)
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None or row is None or tenant.plan != FREE_PLAN:
        return False
    if row.downgraded_at is None or row.downgraded_at.isoformat() != stamp:
        return False
    before, now_on = plan_entitlements(previous_plan), plan_entitlements(FREE_PLAN)
    ref = tenant_ref(tenant)
    previous = get_plan(previous_plan)
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        lost = [
            gettext(item.label)
            for name, item in ENTITLEMENTS.items()
            if item.kind == "bool" and before.get(name) and not now_on.get(name)
        ]
        send_template(
            tenant.owner_email,
            gettext("Your store %(name)s moved to the Free plan", name=tenant.name),
            "billing_downgraded",
            store_name=tenant.name,
            plan_name=previous.name if previous is not None else previous_plan,
            lost=lost,
            custom_domain=row.custom_domain_fallback,
            portal_url=tenant_url(ref, "/admin/billing/portal"),
            billing_url=tenant_url(ref, "/admin/billing"),
            platform_name=current_app.config["PLATFORM_NAME"],
        )
    return True


def _reconcile_custom_domain(tenant: Tenant, row: StoreSubscription) -> bool:
    """A store whose plan has no custom domain is served on its subdomain: a custom primary
    domain steps aside (it then redirects to the subdomain) and is remembered, to come back when
    the plan allows it again. True when the primary host changed."""
    allowed = plan_entitlements(tenant.plan)["custom_domain"]
    primary = next((d for d in tenant.domains if d.is_primary), None)
    subdomain = next((d for d in tenant.domains if d.kind == "subdomain"), None)
    if not allowed and primary is not None and primary.kind == "custom" and subdomain:
        row.custom_domain_fallback = primary.host
        return _make_primary(primary, subdomain)
    if allowed and row.custom_domain_fallback:
        custom = next(
            (
                d
                for d in tenant.domains
                if d.host == row.custom_domain_fallback and d.kind == "custom" and d.is_verified
            ),
            None,
        )
        row.custom_domain_fallback = None
        if custom is not None and primary is not None and primary is not custom:
            return _make_primary(primary, custom)
    return False


def _make_primary(current, new) -> bool:
    current.is_primary = False
    db.session.flush()  # one primary per store, checked row by row: step aside first
    new.is_primary = True
    db.session.flush()
    return True


def refresh_stores_on_plan(plan_code: str) -> None:
    """A plan was edited (and committed): its stores' custom domains follow its entitlement,
    and their cached prices and identity are rebuilt."""
    on_plan = list(db.session.scalars(select(Tenant).where(Tenant.plan == plan_code)))
    for tenant in on_plan:
        _reconcile_custom_domain(tenant, subscription_row(tenant.id))
    db.session.commit()
    _published([tenant.id for tenant in on_plan])


def _published(tenant_ids) -> None:
    """After commit: every process forgets the stores' cached identity (plan, primary host) and
    their cached prices (the wholesale tier follows the plan)."""
    if not tenant_ids:
        return
    resolver().invalidate()
    for tenant_id in tenant_ids:
        bump_store_version(tenant_id)


def assign_plan(tenant_id: int, plan_code: str, *, actor: str, now: datetime | None = None):
    """The platform gives a store a plan by hand (the embedded default has no Stripe). Refused
    while the store pays through Stripe: its plan then follows its subscription."""
    now = now or utcnow()
    plan = get_plan(plan_code)
    if plan is None:
        raise BillingError("plan", N_("Unknown plan."))
    row = subscription_row(tenant_id, lock=True)
    tenant = db.session.get(Tenant, tenant_id, with_for_update=True)
    if tenant is None or tenant.status == "provisioning":
        raise BillingError("store", N_("No store has this address."))
    if row.is_live_at_stripe:
        raise BillingError(
            "plan", N_("This store pays through Stripe: its plan follows its subscription.")
        )
    row.source, row.status, row.plan_code, row.assigned_by = "manual", "active", plan.code, actor
    row.past_due_since = row.grace_until = row.downgraded_at = None
    row.amount_cents = row.mrr_cents = 0
    row.interval = None
    changed = _apply_effective_plan(tenant, row, now)
    db.session.commit()
    _published([tenant_id] if changed else [])


# -- Checkout and the Customer Portal --------------------------------------------------------------


def _require_stripe() -> None:
    if not is_configured():
        raise BillingError("plan", N_("Online billing is not set up on this platform."))


def ensure_customer(tenant_id: int) -> str:
    """The store's Stripe customer, created once and reused for every checkout and invoice."""
    row = subscription_row(tenant_id)
    if row.stripe_customer_id:
        return row.stripe_customer_id
    tenant = db.session.get(Tenant, tenant_id)
    email, name = tenant.owner_email, tenant.name
    db.session.commit()  # no transaction open while Stripe answers
    customer_id = stripe_api.create_customer(tenant_id, email, name)
    row = subscription_row(tenant_id, lock=True)
    if not row.stripe_customer_id:
        row.stripe_customer_id = customer_id
    customer_id = row.stripe_customer_id
    db.session.commit()
    return customer_id


def start_checkout(
    tenant_id: int, plan_code: str, interval: str, *, success_url: str, cancel_url: str
) -> str:
    """Where to send the owner to move to `plan_code`: Stripe Checkout (subscription mode,
    client_reference_id = the store) to subscribe, or the Customer Portal to confirm a change of
    the running subscription or its cancellation (moving to Free). The plan itself changes
    when Stripe's webhooks say so, never here."""
    _require_stripe()
    if interval not in INTERVALS:
        raise BillingError("interval", N_("Choose monthly or yearly billing."))
    plan = get_plan(plan_code)
    if plan is None or not plan.is_active:
        raise BillingError("plan", N_("This plan is not offered."))
    row = subscription_row(tenant_id)
    running = row.is_live_at_stripe and row.status != "incomplete"
    customer_id, subscription_id = row.stripe_customer_id, row.stripe_subscription_id
    after = {"type": "redirect", "redirect": {"return_url": success_url}}
    if plan.code == FREE_PLAN:
        if not running:
            raise BillingError("plan", N_("Your store has no subscription to cancel."))
        db.session.commit()  # no transaction open while Stripe answers
        flow = {
            "type": "subscription_cancel",
            "subscription_cancel": {"subscription": subscription_id},
            "after_completion": after,
        }
        return stripe_api.create_portal_session(customer_id, cancel_url, flow)
    price = plan.stripe_price(interval)
    if not price:
        raise BillingError("interval", N_("This plan cannot be bought online for this period."))
    if running:
        if row.stripe_price_id == price:
            raise BillingError("plan", N_("This is your plan already."))
        if row.status not in ("active", "trialing") or not row.stripe_item_id:
            raise BillingError("plan", N_("Settle the open payment before changing plans."))
        flow = {
            "type": "subscription_update_confirm",
            "subscription_update_confirm": {
                "subscription": subscription_id,
                "items": [{"id": row.stripe_item_id, "price": price, "quantity": 1}],
            },
            "after_completion": after,
        }
        db.session.commit()
        return stripe_api.create_portal_session(customer_id, cancel_url, flow)
    trial_days = 0 if row.trial_used else plan.trial_days
    customer_id = ensure_customer(tenant_id)  # commits
    metadata = {"tenant_id": str(tenant_id), "plan": plan.code}
    subscription_data: dict = {"metadata": metadata}
    if trial_days:
        subscription_data["trial_period_days"] = trial_days
    return stripe_api.create_checkout_session(
        {
            "mode": "subscription",
            "customer": customer_id,
            "client_reference_id": str(tenant_id),
            "line_items": [{"price": price, "quantity": 1}],
            "metadata": metadata,
            "subscription_data": subscription_data,
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
    )


def portal_url(tenant_id: int, return_url: str) -> str:
    """The Customer Portal: payment methods, invoices, cancellation."""
    _require_stripe()
    row = find_subscription(tenant_id)
    if row is None or not row.stripe_customer_id:
        raise BillingError("plan", N_("There is no billing account yet: choose a plan first."))
    customer_id = row.stripe_customer_id
    db.session.commit()  # no transaction open while Stripe answers
    return stripe_api.create_portal_session(customer_id, return_url)


def sync_subscription(
    tenant_id: int,
    subscription_id: str,
    *,
    now: datetime | None = None,
    event_created: int = 0,
    fallback: dict | None = None,
) -> StoreSubscription:
    """Fetch the subscription from Stripe and apply its current state to the store. Whatever
    order events arrive in, each one applies the newest state; a fetch that started before one
    already applied is dropped. A subscription deleted at Stripe falls back to the event's own
    copy (`fallback`) unless a newer event was applied already."""
    now = now or utcnow()
    db.session.commit()  # no transaction open while Stripe answers
    fetched_at = utcnow()
    from_event = False
    try:
        data = stripe_api.retrieve_subscription(subscription_id)
    except stripe.InvalidRequestError as error:
        if fallback is None or not stripe_api.is_missing(error):
            raise
        data, from_event = fallback, True
    subscription = StripeSubscription.from_api(data)
    row = subscription_row(tenant_id, lock=True)
    tenant = db.session.get(Tenant, tenant_id, with_for_update=True)
    if from_event:
        fresh = event_created >= row.last_event_created
    else:
        fresh = row.synced_at is None or fetched_at >= row.synced_at
    if fresh and _applies(row, subscription):
        _apply_state(row, subscription, now)
        if not from_event:
            row.synced_at = fetched_at
    row.last_event_created = max(row.last_event_created or 0, event_created)
    changed = _apply_effective_plan(tenant, row, now)
    db.session.commit()
    _published([tenant_id] if changed else [])
    return row


def customer_is_free(customer_id: str) -> bool:
    """No store's subscription row holds this Stripe customer yet."""
    taken = select(StoreSubscription.id).where(StoreSubscription.stripe_customer_id == customer_id)
    return db.session.scalar(taken) is None


def _applies(row: StoreSubscription, subscription: StripeSubscription) -> bool:
    """A running subscription always applies (the store pays for it). One that has ended
    applies only to the subscription the row follows, and never overrides a plan given by hand:
    a late event about an old subscription changes nothing."""
    if subscription.status in LIVE_STATUSES:
        return True
    return subscription.id == row.stripe_subscription_id and row.source != "manual"


def _plan_for(subscription: StripeSubscription) -> str | None:
    if subscription.price_id:
        code = db.session.scalar(
            select(Plan.code).where(
                or_(
                    Plan.stripe_price_monthly == subscription.price_id,
                    Plan.stripe_price_yearly == subscription.price_id,
                )
            )
        )
        if code:
            return code
    code = subscription.metadata.get("plan")
    if get_plan(code) is not None:
        return code
    log.warning("subscription %s has an unknown price %s", subscription.id, subscription.price_id)
    return None


def _apply_state(row: StoreSubscription, subscription: StripeSubscription, now: datetime):
    if row.stripe_subscription_id != subscription.id:
        row.stripe_subscription_id = subscription.id
        row.started_at = row.ended_at = row.past_due_since = row.grace_until = None
    row.source, row.assigned_by = "stripe", None
    customer = subscription.customer
    if customer and not row.stripe_customer_id and customer_is_free(customer):
        row.stripe_customer_id = customer
    row.plan_code = _plan_for(subscription) or row.plan_code
    row.status = subscription.status
    row.stripe_item_id, row.stripe_price_id = subscription.item_id, subscription.price_id
    row.interval, row.currency = subscription.interval, subscription.currency
    row.amount_cents, row.mrr_cents = subscription.amount_cents, subscription.mrr_cents
    row.current_period_end, row.trial_end = subscription.current_period_end, subscription.trial_end
    row.cancel_at_period_end = subscription.cancel_at_period_end
    if subscription.status == "trialing" or subscription.trial_end:
        row.trial_used = True
    if subscription.status in PAYING_STATUSES and row.started_at is None:
        row.started_at = now
    live = subscription.status in LIVE_STATUSES
    row.ended_at = None if live else (row.ended_at or subscription.ended_at or now)
    if subscription.status == "past_due":
        if row.past_due_since is None:
            row.past_due_since = now
            row.grace_until = now + timedelta(days=current_app.config["BILLING_GRACE_DAYS"])
    else:
        row.past_due_since = row.grace_until = None


# -- dunning ------------------------------------------------------------------------------------


def enforce_grace_periods(now: datetime | None = None) -> int:
    """Periodic: stores whose overdue payment's grace period is over move to Free (the state
    is re-fetched first: a payment whose webhook was lost still counts). Returns how many."""
    now = now or utcnow()
    due = db.session.execute(
        select(StoreSubscription.tenant_id, StoreSubscription.stripe_subscription_id)
        .join(Tenant, Tenant.id == StoreSubscription.tenant_id)
        .where(
            StoreSubscription.source == "stripe",
            StoreSubscription.status == "past_due",
            StoreSubscription.grace_until <= now,
            Tenant.plan != FREE_PLAN,
        )
    ).all()
    db.session.commit()
    for tenant_id, subscription_id in due:
        if is_configured() and subscription_id:
            try:
                sync_subscription(tenant_id, subscription_id, now=now)
                continue
            except stripe.StripeError as error:
                db.session.rollback()
                log.warning("store %s: could not re-fetch before downgrade: %s", tenant_id, error)
        row = subscription_row(tenant_id, lock=True)
        tenant = db.session.get(Tenant, tenant_id, with_for_update=True)
        changed = _apply_effective_plan(tenant, row, now)
        db.session.commit()
        _published([tenant_id] if changed else [])
    return len(due)


# -- what the pages show ------------------------------------------------------------------------


@dataclass
class BillingOverview:
    """A store's billing page: its plan, what it unlocks, what it may switch to, its invoices."""

    is_configured: bool
    subscription: StoreSubscription | None
    plan: Plan | None  # the effective plan
    subscribed_plan: Plan | None  # the plan paid for (differs after a downgrade)
    entitlements: dict
    plans: list[Plan]
    next_invoice: dict | None = None
    invoices: list[dict] = field(default_factory=list)


def billing_overview(tenant_id: int, plan_code: str) -> BillingOverview:
    """Everything the billing page shows. Invoices come from Stripe and are best effort: the
    page still works (without them) when Stripe does not answer."""
    row = find_subscription(tenant_id)
    overview = BillingOverview(
        is_configured=is_configured(),
        subscription=row,
        plan=get_plan(plan_code),
        subscribed_plan=get_plan(row.plan_code) if row is not None else None,
        entitlements=plan_entitlements(plan_code),
        plans=list_plans(active_only=True),
    )
    if not overview.is_configured or row is None or not row.stripe_customer_id:
        return overview
    customer_id, subscription_id = row.stripe_customer_id, row.stripe_subscription_id
    live = row.is_live_at_stripe and not row.cancel_at_period_end
    db.session.commit()  # no transaction open while Stripe answers
    try:
        overview.invoices = stripe_api.list_invoices(customer_id)
        if live and subscription_id:
            overview.next_invoice = stripe_api.preview_invoice(subscription_id)
    except stripe.StripeError as error:
        log.info("store %s: invoices unavailable: %s", tenant_id, error)
    return overview
