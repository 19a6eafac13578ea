"""Stripe webhooks: verified and stored once (unique event id), then applied by a job.

Every event about a subscription re-fetches it from Stripe and applies its current state
(services.sync_subscription), so a duplicate is a no-op and late or reordered events cannot roll
a store back. Events that owe the owner an e-mail (a failed payment, a payment to confirm, a
trial ending) send it from another job, once, if it is still true then.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import stripe
from flask import current_app
from flask_babel import force_locale, format_date, gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.billing import stripe_api
from app.billing.errors import InvalidWebhook
from app.billing.models import StoreSubscription, StripeEvent
from app.billing.plans import get_plan
from app.billing.services import (
    customer_is_free,
    find_subscription,
    subscription_row,
    sync_subscription,
)
from app.billing.stripe_api import StripeNotConfigured
from app.db import utcnow
from app.extensions import db
from app.mail.services import send_template
from app.money import format_money
from app.web.urls import tenant_url
from tenants.models import Tenant
from tenants.provisioning import tenant_ref
from workers.queue import enqueue

log = logging.getLogger(__name__)

# E-mails owed to the store owner, by event type (the template is mail/billing_<kind>.txt).
MAIL_EVENTS = {
    "invoice.payment_failed": "payment_failed",
    "invoice.payment_action_required": "action_required",
    "customer.subscription.trial_will_end": "trial_ending",
}
HANDLED_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "invoice.paid",
        *MAIL_EVENTS,
    }
)
EVENT_MAX_ATTEMPTS = 10


def receive_webhook(payload: bytes, signature: str | None) -> StripeEvent | None:
    """Verify a webhook and store its event once; a job applies it. Returns None for an event
    we do not handle or one already received. Raises InvalidWebhook (answer 400)."""
    try:
        event = stripe_api.construct_event(payload, signature)
    except stripe.SignatureVerificationError as error:
        raise InvalidWebhook(f"bad Stripe-Signature: {error}") from None
    except StripeNotConfigured as error:
        raise InvalidWebhook(str(error)) from None
    except (ValueError, TypeError, UnicodeDecodeError):
        raise InvalidWebhook("malformed webhook") from None
    event_id, event_type = event.get("id"), event.get("type")
    if not event_id or not event_type or not isinstance(event.get("data"), dict):
        raise InvalidWebhook("malformed webhook")
    if event_type not in HANDLED_EVENTS:
        return None
    row = StripeEvent(
        event_id=str(event_id),
        type=str(event_type),
        created=int(event.get("created") or 0),
        livemode=bool(event.get("livemode")),
        payload=event,
    )
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()  # Stripe sent it again: it is stored and handled already
        return None
    enqueue("workers.jobs.billing.process_stripe_event", row.id, job_key=f"stripe-event:{row.id}")
    db.session.commit()  # the job is sent once this commits
    return row


def process_event(event_pk: int, *, now: datetime | None = None) -> str:
    """Apply a stored event (the job). Safe to run again: a processed event is skipped, and
    applying re-fetches the subscription's current state from Stripe."""
    now = now or utcnow()
    event = db.session.get(StripeEvent, event_pk)
    if event is None or event.status in ("processed", "ignored"):
        return event.status if event is not None else "missing"
    event.attempts += 1
    db.session.commit()  # counted even if the work below crashes
    event_type, created = event.type, event.created
    obj = event.payload.get("data", {}).get("object") or {}
    try:
        outcome, tenant_id, owes_mail = _handle(event_type, obj, created, now)
    except (stripe.StripeError, StripeNotConfigured) as error:
        db.session.rollback()
        event = db.session.get(StripeEvent, event_pk)
        event.status, event.error = "failed", str(error)[:2000]
        db.session.commit()
        log.warning(
            "stripe event %s failed (attempt %s): %s", event.event_id, event.attempts, error
        )
        return "failed"
    event = db.session.get(StripeEvent, event_pk)
    event.status, event.tenant_id, event.error = outcome, tenant_id, None
    event.processed_at = utcnow()
    if event_type in MAIL_EVENTS and not owes_mail:
        event.mailed_at = event.processed_at  # decided: nothing to say
    if owes_mail:
        enqueue(
            "workers.jobs.billing.send_billing_email",
            event.id,
            queue="notifications",
            job_key=f"billing-mail:{event.id}",
        )
    db.session.commit()
    return outcome


def _handle(event_type: str, obj: dict, created: int, now: datetime):
    """Apply one event: (outcome, the store's id or None, whether an e-mail is owed)."""
    if event_type == "checkout.session.completed":
        if obj.get("mode") != "subscription":
            return "ignored", None, False  # a store customer's payment: app.payments has it
        tenant_id = _tenant_from_reference(obj.get("client_reference_id"))
        subscription_id = stripe_api.object_id(obj.get("subscription"))
        customer_id = stripe_api.object_id(obj.get("customer"))
        if tenant_id is None or not subscription_id:
            return "ignored", None, False
        row = subscription_row(tenant_id, lock=True)
        if customer_id and row.stripe_customer_id not in (None, customer_id):
            log.warning("checkout for store %s paid by another customer %s", tenant_id, customer_id)
            db.session.rollback()
            return "ignored", tenant_id, False
        if customer_id and not row.stripe_customer_id and customer_is_free(customer_id):
            row.stripe_customer_id = customer_id
        db.session.commit()
        sync_subscription(tenant_id, subscription_id, now=now, event_created=created)
        return "processed", tenant_id, False
    if event_type.startswith("customer.subscription."):
        subscription_id, fallback = obj.get("id"), obj
    else:
        subscription_id, fallback = stripe_api.invoice_subscription(obj), None
    customer_id = stripe_api.object_id(obj.get("customer"))
    tenant_id = _tenant_for(customer_id, subscription_id, obj.get("metadata") or {})
    if tenant_id is None or not subscription_id:
        return "ignored", tenant_id, False
    row = sync_subscription(
        tenant_id, subscription_id, now=now, event_created=created, fallback=fallback
    )
    # No e-mail when it is no longer true (a failed payment reported after one that worked).
    return "processed", tenant_id, event_type in MAIL_EVENTS and mail_is_due(event_type, row)


def _tenant_from_reference(reference) -> int | None:
    if not reference or not str(reference).isdecimal():
        return None
    tenant_id = int(reference)
    return tenant_id if db.session.get(Tenant, tenant_id) is not None else None


def _tenant_for(customer_id, subscription_id, metadata: dict) -> int | None:
    """The store an event is about: by the subscription or customer we recorded, else by the
    metadata we gave the subscription at checkout (only for a store with no other customer)."""
    for column, value in (
        (StoreSubscription.stripe_subscription_id, subscription_id),
        (StoreSubscription.stripe_customer_id, customer_id),
    ):
        if value:
            found = db.session.scalar(select(StoreSubscription.tenant_id).where(column == value))
            if found is not None:
                return found
    tenant_id = _tenant_from_reference(metadata.get("tenant_id"))
    if tenant_id is not None:
        row = find_subscription(tenant_id)
        if row is None or row.stripe_customer_id in (None, customer_id):
            return tenant_id
    return None


def mail_is_due(event_type: str, row: StoreSubscription) -> bool:
    """Whether the e-mail of `event_type` still says something true about the subscription."""
    if event_type == "customer.subscription.trial_will_end":
        return row.status == "trialing" and not row.cancel_at_period_end
    return row.status in ("past_due", "unpaid")


def sweep_events(now: datetime | None = None, limit: int = 100) -> int:
    """Periodic: re-enqueue events whose job was lost or failed, and e-mails not yet decided."""
    now = now or utcnow()
    cutoff = now - timedelta(minutes=1)
    stuck = db.session.scalars(
        select(StripeEvent.id)
        .where(
            StripeEvent.status.in_(("received", "failed")),
            StripeEvent.received_at < cutoff,
            StripeEvent.attempts < EVENT_MAX_ATTEMPTS,
        )
        .order_by(StripeEvent.id)
        .limit(limit)
    ).all()
    for event_pk in stuck:
        enqueue(
            "workers.jobs.billing.process_stripe_event",
            event_pk,
            job_key=f"stripe-event:{event_pk}",
        )
    unmailed = db.session.scalars(
        select(StripeEvent.id)
        .where(
            StripeEvent.status == "processed",
            StripeEvent.type.in_(tuple(MAIL_EVENTS)),
            StripeEvent.mailed_at.is_(None),
            StripeEvent.processed_at < cutoff,
            StripeEvent.processed_at > now - timedelta(days=1),
        )
        .limit(limit)
    ).all()
    for event_pk in unmailed:
        enqueue(
            "workers.jobs.billing.send_billing_email",
            event_pk,
            queue="notifications",
            job_key=f"billing-mail:{event_pk}",
        )
    return len(stuck) + len(unmailed)


def send_billing_email(event_pk: int) -> bool:
    """E-mail the store owner what an event means for them (failed payment, payment needing
    confirmation, trial ending), with the link to manage billing. Once per event, and only if
    it is still true when the job runs."""
    event = db.session.get(StripeEvent, event_pk, with_for_update=True)
    if event is None or event.mailed_at is not None or event.tenant_id is None:
        return False
    kind = MAIL_EVENTS.get(event.type)
    tenant = db.session.get(Tenant, event.tenant_id)
    row = find_subscription(event.tenant_id)
    # mailed_at also records "decided not to send", so the sweeper leaves the event alone.
    event.mailed_at = utcnow()
    if kind is None or tenant is None or row is None or not mail_is_due(event.type, row):
        return False
    ref = tenant_ref(tenant)
    plan = get_plan(row.plan_code)
    plan_name = plan.name if plan is not None else row.plan_code
    invoice = event.payload.get("data", {}).get("object") or {}
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        subjects = {
            "payment_failed": gettext("Payment for your %(plan)s plan failed", plan=plan_name),
            "action_required": gettext(
                "Confirm the payment for your %(plan)s plan", plan=plan_name
            ),
            "trial_ending": gettext("Your %(plan)s trial ends soon", plan=plan_name),
        }
        amount = invoice.get("amount_due") if kind != "trial_ending" else None
        send_template(
            tenant.owner_email,
            subjects[kind],
            f"billing_{kind}",
            store_name=tenant.name,
            plan_name=plan_name,
            amount=format_money(amount, str(invoice.get("currency") or "cny").upper())
            if isinstance(amount, int)
            else None,
            grace_until=format_date(row.grace_until, "long") if row.grace_until else None,
            trial_end=format_date(row.trial_end, "long") if row.trial_end else None,
            invoice_url=invoice.get("hosted_invoice_url") if kind != "trial_ending" else None,
            portal_url=tenant_url(ref, "/admin/billing/portal"),
            billing_url=tenant_url(ref, "/admin/billing"),
            platform_name=current_app.config["PLATFORM_NAME"],
        )
    return True
