"""Stripe Billing on the wire: the calls billing makes (StripeClient, stripe-python 16) and the
shape of what comes back (`StripeSubscription`). No database here; services decide.

The platform's Stripe account comes from settings: STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET (of
the `/webhooks/stripe` endpoint) and STRIPE_API_BASE (a fake Stripe in tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import stripe
from flask import current_app

from app.payments.providers.stripe import stripe_client

# Months per billing interval, as (numerator, denominator), to turn a price into MRR.
MONTHS = {"month": (1, 1), "year": (1, 12), "week": (52, 12), "day": (365, 12)}


class StripeNotConfigured(RuntimeError):
    """Billing needs STRIPE_SECRET_KEY (and the webhook secret for webhooks)."""


def is_configured() -> bool:
    return bool(current_app.config.get("STRIPE_SECRET_KEY"))


def client(*, for_page: bool = False) -> stripe.StripeClient:
    """`for_page`: what a page shows on the side (invoices) waits briefly and is not retried."""
    if not is_configured():
        raise StripeNotConfigured("STRIPE_SECRET_KEY is not set")
    config = current_app.config
    if for_page:
        return stripe_client(
            config["STRIPE_SECRET_KEY"], config.get("STRIPE_API_BASE"), timeout=5, retries=0
        )
    return stripe_client(config["STRIPE_SECRET_KEY"], config.get("STRIPE_API_BASE"))


def construct_event(payload: bytes, signature: str | None) -> dict:
    """The verified event (signature and timestamp checked by stripe-python) as a plain dict.
    Raises stripe.SignatureVerificationError, or ValueError for a body that is no event."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        raise StripeNotConfigured("STRIPE_WEBHOOK_SECRET is not set")
    config = current_app.config
    verifier = stripe_client(config.get("STRIPE_SECRET_KEY") or "", config.get("STRIPE_API_BASE"))
    event = verifier.construct_event(payload, signature, secret)
    return event.to_dict()


def create_customer(tenant_id: int, email: str, name: str) -> str:
    customer = client().v1.customers.create(
        params={"email": email, "name": name, "metadata": {"tenant_id": str(tenant_id)}},
        # One customer per store even if two clicks race (Stripe keeps keys for 24 hours).
        options={"idempotency_key": f"billing-customer-{tenant_id}"},
    )
    return customer.id


def create_checkout_session(params: dict) -> str:
    session = client().v1.checkout.sessions.create(params=params).to_dict()
    if not session.get("url"):
        raise stripe.APIError("Stripe answered without a checkout URL")
    return session["url"]


def create_portal_session(customer_id: str, return_url: str, flow: dict | None = None) -> str:
    params = {"customer": customer_id, "return_url": return_url}
    if flow:
        params["flow_data"] = flow
    return client().v1.billing_portal.sessions.create(params=params).url


def retrieve_subscription(subscription_id: str) -> dict:
    return client().v1.subscriptions.retrieve(subscription_id).to_dict()


def list_invoices(customer_id: str, limit: int = 12) -> list[dict]:
    answer = client(for_page=True).v1.invoices.list(
        params={"customer": customer_id, "limit": limit}
    )
    return answer.to_dict().get("data") or []


def preview_invoice(subscription_id: str) -> dict:
    """The next invoice of a subscription (`invoices/create_preview`, formerly "upcoming")."""
    preview = client(for_page=True).v1.invoices.create_preview(
        params={"subscription": subscription_id}
    )
    return preview.to_dict()


def is_missing(error: stripe.StripeError) -> bool:
    return getattr(error, "code", None) == "resource_missing"


def timestamp(value) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


def object_id(value) -> str | None:
    """An id, whether Stripe sent the id or the expanded object."""
    if isinstance(value, dict):
        return value.get("id")
    return value or None


def invoice_subscription(invoice: dict) -> str | None:
    """The subscription an invoice bills (API 2025-03-31+: under parent.subscription_details)."""
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return object_id(details.get("subscription")) or object_id(invoice.get("subscription"))


@dataclass(frozen=True)
class StripeSubscription:
    """The parts of a Stripe subscription billing uses (its first item is the plan's price)."""

    id: str
    customer: str | None
    status: str
    price_id: str | None
    item_id: str | None
    interval: str | None
    interval_count: int
    amount_cents: int
    currency: str
    current_period_end: datetime | None
    trial_end: datetime | None
    cancel_at_period_end: bool
    ended_at: datetime | None
    metadata: dict

    @classmethod
    def from_api(cls, data: dict) -> StripeSubscription:
        items = (data.get("items") or {}).get("data") or [{}]
        item = items[0]
        price = item.get("price") or {}
        recurring = price.get("recurring") or {}
        quantity = int(item.get("quantity") or 1)
        # Since API 2025-03-31 the period lives on each item; older versions had it on top.
        period_end = item.get("current_period_end") or data.get("current_period_end")
        return cls(
            id=data["id"],
            customer=object_id(data.get("customer")),
            status=str(data.get("status") or "incomplete"),
            price_id=price.get("id"),
            item_id=item.get("id"),
            interval=recurring.get("interval"),
            interval_count=int(recurring.get("interval_count") or 1),
            amount_cents=int(price.get("unit_amount") or 0) * quantity,
            currency=str(price.get("currency") or "cny").upper(),
            current_period_end=timestamp(period_end),
            trial_end=timestamp(data.get("trial_end")),
            cancel_at_period_end=bool(data.get("cancel_at_period_end") or data.get("cancel_at")),
            ended_at=timestamp(data.get("ended_at")),
            metadata=dict(data.get("metadata") or {}),
        )

    @property
    def mrr_cents(self) -> int:
        """The price per month, rounded half up to the cent."""
        numerator, denominator = MONTHS.get(self.interval or "month", (1, 1))
        denominator *= self.interval_count
        return (self.amount_cents * numerator * 2 + denominator) // (2 * denominator)
