"""Webhook rules: endpoints (checked URLs, secrets sealed at rest), events emitted in the caller's
transaction, one delivery attempt at a time with back-off over about three days, and resends.

A delivery is attempted by the job `workers.jobs.webhooks.deliver` once the event's transaction
commits; a failed attempt schedules the next one on RETRY_DELAYS and the periodic sweep
(`workers.jobs.webhooks.sweep_due_deliveries`) enqueues whatever is due, so a lost job or a killed
worker delays a message but never loses it. Every attempt of a message carries the same
`webhook-id` and a fresh `webhook-timestamp` and signature.
"""

from __future__ import annotations

import json
import random
import time
from datetime import datetime, timedelta
from functools import cache

from flask import current_app
from sqlalchemy import delete, func, or_, select, update

from app.crypto import open_text, seal_text
from app.db import utcnow
from app.extensions import db
from app.i18n import N_
from app.orders.models import Order
from app.webhooks import signing
from app.webhooks.models import EVENT_TYPES, TEST_EVENT, WebhookDelivery, WebhookEndpoint
from app.webhooks.transport import SendError, TargetError, post, resolve
from tenants.context import TenantRef, require_tenant
from workers.queue import enqueue

# After attempt n fails, attempt n+1 follows RETRY_DELAYS[n-1] later (plus up to 10 % jitter):
# the Standard Webhooks example schedule, ten attempts over about 75 hours.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# An attempt in progress holds its message this long (more than the HTTP timeout), so the sweep
# does not send it twice at once, yet a worker killed mid-attempt delays it only briefly.
CLAIM = timedelta(seconds=60)
MAX_RETRY_AFTER = timedelta(hours=24)
MAX_ENDPOINTS = 20
MAX_DESCRIPTION = 200
DELIVERY_LOG_SIZE = 100
SWEEP_BATCH = 500

ORDER_EVENTS = {
    "paid": "order.paid",
    "delivered": "order.delivered",
    "failed": "order.failed",
    "refunded": "order.refunded",
    "partially_refunded": "order.partially_refunded",
}
# The store migration that adds the webhook tables: stores not yet migrated emit nothing.
WEBHOOKS_REVISION = "t0008"
# Endpoints of customers (the API's webhook settings) from this revision on.
CUSTOMER_ENDPOINTS_REVISION = "t0016"


class WebhookError(ValueError):
    def __init__(self, field: str, message: str, **params):
        super().__init__(message)
        self.field = field
        self.message = message
        self.params = params


def private_targets_allowed() -> bool:
    """WEBHOOKS_ALLOW_PRIVATE: development and tests only (loopback receivers)."""
    return bool(current_app.config.get("WEBHOOKS_ALLOW_PRIVATE"))


# -- endpoints -------------------------------------------------------------------------------------


def _secret_purpose(store_id: int, endpoint_id: int) -> str:
    return f"webhook-secret:{store_id}:{endpoint_id}"


def endpoint_secret(store: TenantRef, endpoint: WebhookEndpoint) -> str:
    return open_text(endpoint.secret_sealed, _secret_purpose(store.id, endpoint.id))


def _set_new_secret(store: TenantRef, endpoint: WebhookEndpoint) -> str:
    secret = signing.new_secret()
    endpoint.secret_sealed = seal_text(secret, _secret_purpose(store.id, endpoint.id))
    return secret


def _checked_endpoint(url: str, description: str, events) -> tuple[str, str, list[str]]:
    try:
        resolve(url, allow_private=private_targets_allowed())
    except TargetError as error:
        raise WebhookError("url", error.message, **error.params) from None
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise WebhookError(
            "description", N_("Keep the description under %(max)s characters."), max=MAX_DESCRIPTION
        )
    chosen = [event for event in EVENT_TYPES if event in set(events or ())]
    if not chosen or len(chosen) != len(set(events)):
        raise WebhookError("events", N_("Choose at least one event."))
    return url.strip(), description, chosen


def create_endpoint(
    store: TenantRef, *, url: str, description: str, events
) -> tuple[WebhookEndpoint, str]:
    """Register a URL for some order events; returns it and its secret (shown once). Commits."""
    url, description, events = _checked_endpoint(url, description, events)
    own = select(func.count()).where(WebhookEndpoint.customer_id.is_(None))
    if db.session.scalar(own) >= MAX_ENDPOINTS:
        raise WebhookError(
            "url", N_("A store can have up to %(max)s endpoints."), max=MAX_ENDPOINTS
        )
    endpoint = WebhookEndpoint(url=url, description=description, events=events, is_active=True)
    db.session.add(endpoint)
    db.session.flush()  # the id is part of the secret's sealing purpose
    secret = _set_new_secret(store, endpoint)
    db.session.commit()
    return endpoint, secret


def customer_endpoint(customer_id: int) -> WebhookEndpoint | None:
    """A customer's own endpoint (one at most), set over the API."""
    return db.session.scalar(
        select(WebhookEndpoint).where(WebhookEndpoint.customer_id == customer_id)
    )


def set_customer_endpoint(
    store: TenantRef, customer_id: int, *, url: str, events
) -> tuple[WebhookEndpoint, str | None]:
    """Create or change a customer's endpoint for the events of their own orders. Returns it
    and, when it is new, its secret (shown once). Commits."""
    url, _, events = _checked_endpoint(url, "", events)
    endpoint = customer_endpoint(customer_id)
    secret = None
    if endpoint is None:
        endpoint = WebhookEndpoint(
            customer_id=customer_id, description="API", url=url, events=events
        )
        db.session.add(endpoint)
        db.session.flush()  # the id is part of the secret's sealing purpose
        secret = _set_new_secret(store, endpoint)
    endpoint.url, endpoint.events, endpoint.is_active = url, events, True
    db.session.commit()
    return endpoint, secret


def roll_secret(store: TenantRef, endpoint: WebhookEndpoint) -> str:
    """Replace the endpoint's secret at once (pending retries are signed with the new one)."""
    secret = _set_new_secret(store, endpoint)
    db.session.commit()
    return secret


def set_active(endpoint: WebhookEndpoint, is_active: bool) -> None:
    endpoint.is_active = bool(is_active)
    db.session.commit()


def delete_endpoint(endpoint: WebhookEndpoint) -> None:
    """Remove the endpoint and its delivery log. Commits."""
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    db.session.delete(endpoint)
    db.session.commit()


def recent_deliveries(endpoint: WebhookEndpoint, limit: int = DELIVERY_LOG_SIZE):
    return db.session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    ).all()


# -- emitting events -------------------------------------------------------------------------------


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _body(event_type: str, data: dict, occurred_at: datetime) -> str:
    """The JSON text sent (and signed) for every attempt, stored as is."""
    envelope = {"type": event_type, "timestamp": _timestamp(occurred_at), "data": data}
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))


@cache
def _revisions_from(first: str) -> frozenset[str]:
    from tenants.migrations import script_directory

    script = script_directory("tenant")
    # The revision itself and every later one (iterate_revisions leaves out its lower bound).
    later = script.iterate_revisions("heads", first)
    return frozenset({first, *(r.revision for r in later)})


_schema_reached: set[tuple[int, str]] = set()


def _store_schema_reached(store_id: int, revision: str) -> bool:
    """Whether the store's schema is at `revision` or later: while `tenants migrate` runs, code
    meets stores on either side of it, and an order must never fail for want of a table."""
    if (store_id, revision) in _schema_reached:
        return True
    from tenants.models import Tenant

    current = db.session.scalar(select(Tenant.schema_revision).where(Tenant.id == store_id))
    if current in _revisions_from(revision):
        _schema_reached.add((store_id, revision))
        return True
    return False


def _subscribers(store: TenantRef, event_type: str, customer_id: int | None = None) -> list[int]:
    """The ids of the active endpoints that receive `event_type`: the store's own, and those of
    the customer the event is about (set over the API)."""
    if not _store_schema_reached(store.id, WEBHOOKS_REVISION):
        return []
    columns = [WebhookEndpoint.id, WebhookEndpoint.events]
    query = select(*columns).where(WebhookEndpoint.is_active.is_(True))
    if _store_schema_reached(store.id, CUSTOMER_ENDPOINTS_REVISION):
        owner = WebhookEndpoint.customer_id
        mine = (
            owner.is_(None) if customer_id is None else or_(owner.is_(None), owner == customer_id)
        )
        query = query.where(mine)
    rows = db.session.execute(query.order_by(WebhookEndpoint.id)).all()
    return [endpoint_id for endpoint_id, events in rows if event_type in (events or ())]


def _new_delivery(store: TenantRef, endpoint_id: int, event_type: str, body: str):
    now = utcnow()
    delivery = WebhookDelivery(
        message_id=signing.new_message_id(),
        endpoint_id=endpoint_id,
        event_type=event_type,
        payload=body,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    db.session.add(delivery)
    _enqueue_attempt(store.id, delivery.message_id)  # held until the transaction commits
    return delivery


def _enqueue_attempt(store_id: int, message_id: str) -> None:
    enqueue(
        "workers.jobs.webhooks.deliver",
        message_id,
        tenant_id=store_id,
        queue="notifications",
        job_key=f"webhook:{store_id}:{message_id}",
        timeout=120,
    )


def emit(event_type: str, data: dict, *, occurred_at: datetime | None = None) -> list[str]:
    """Queue `event_type` for every active endpoint of the bound store subscribed to it, in the
    caller's transaction (nothing is sent unless it commits). Returns the message ids."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event {event_type!r}")
    store = require_tenant()
    with db.session.no_autoflush:  # leave the caller's pending changes to the caller
        endpoints = _subscribers(store, event_type)
        return _queue_event(store, endpoints, event_type, data, occurred_at or utcnow())


def _queue_event(store, endpoint_ids, event_type: str, data: dict, occurred_at) -> list[str]:
    if not endpoint_ids:
        return []
    body = _body(event_type, data, occurred_at)
    return [_new_delivery(store, e, event_type, body).message_id for e in endpoint_ids]


def order_data(order: Order) -> dict:
    """What an order event says: no contact details, no card keys, no wholesale or cost (and
    the buyer's own reference, for API orders that gave one)."""
    data = {
        "order_no": order.order_no,
        "status": order.status,
        "total_cents": order.total_cents,
        "currency": order.currency,
        "created_at": _timestamp(order.created_at),
        "items": [
            {
                "sku_id": item.sku_id,
                "product_id": item.product_id,
                "product_name": item.product_name,
                "sku_name": item.sku_name,
                "quantity": item.quantity,
                "unit_price_cents": item.unit_price_cents,
            }
            for item in order.items
        ],
    }
    if order.client_reference:
        data["reference"] = order.client_reference
    return data


def notify_order_event(order: Order) -> None:
    """Called by orders.services.transition() after each status change (same transaction)."""
    event_type = ORDER_EVENTS.get(order.status)
    if event_type is None:
        return
    store = require_tenant()
    with db.session.no_autoflush:  # leave the caller's pending changes to the caller
        endpoints = _subscribers(store, event_type, order.customer_id)
        if endpoints:  # build the payload only when someone listens
            _queue_event(store, endpoints, event_type, order_data(order), utcnow())


def send_test_event(store: TenantRef, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A `webhook.test` message to this one endpoint, whatever it subscribed to. Commits."""
    now = utcnow()
    data = {"store": store.slug, "endpoint_id": endpoint.id, "message": "Hello from Kameng"}
    delivery = _new_delivery(store, endpoint.id, TEST_EVENT, _body(TEST_EVENT, data, now))
    db.session.commit()
    return delivery


def resend(store: TenantRef, delivery: WebhookDelivery) -> None:
    """Send a message again now: same body and webhook-id, a new timestamp and signature; it is
    retried on the full schedule again if it fails. Commits."""
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    delivery.delivered_at = None
    _enqueue_attempt(store.id, delivery.message_id)
    db.session.commit()


# -- delivering ------------------------------------------------------------------------------------


def next_delay(attempt: int, retry_after_seconds: int | None = None) -> timedelta:
    """How long after failed attempt number `attempt` (1-based) to try again."""
    delay = RETRY_DELAYS[attempt - 1] * random.uniform(1.0, 1.1)
    if retry_after_seconds:
        delay = max(delay, min(timedelta(seconds=retry_after_seconds), MAX_RETRY_AFTER))
    return delay


def deliver(store: TenantRef, message_id: str) -> str:
    """Make one attempt of a due message and record how it went. Commits; safe to run twice
    (a message not due, or claimed by another worker, is left alone). Returns its status."""
    now = utcnow()
    found = db.session.execute(
        select(WebhookDelivery, WebhookEndpoint)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.message_id == message_id)
    ).first()
    if found is None:
        return "missing"
    delivery, endpoint = found
    if delivery.status != "pending" or (delivery.next_attempt_at or now) > now:
        return delivery.status
    if not endpoint.is_active:
        delivery.status, delivery.next_attempt_at = "failed", None
        delivery.last_error = "The endpoint is disabled."
        db.session.commit()
        return "failed"
    attempt = delivery.attempts + 1
    claimed = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery.id,
            WebhookDelivery.status == "pending",
            WebhookDelivery.attempts == delivery.attempts,
            or_(WebhookDelivery.next_attempt_at.is_(None), WebhookDelivery.next_attempt_at <= now),
        )
        .values(attempts=attempt, next_attempt_at=now + CLAIM, last_attempt_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        db.session.rollback()
        return "pending"
    delivery_id, url, body = delivery.id, endpoint.url, delivery.payload.encode()
    secret = endpoint_secret(store, endpoint)
    # Commit the claim: no transaction (or lock) stays open during the HTTP request.
    db.session.commit()

    answer, error = None, ""
    try:
        target = resolve(url, allow_private=private_targets_allowed())
        headers = signing.headers(secret, message_id, int(time.time()), body)
        answer = post(target, headers, body)
    except TargetError as refused:
        error = "Refused: " + (
            refused.message % refused.params if refused.params else refused.message
        )
    except SendError as failed:
        error = str(failed)
    return _record(delivery_id, attempt, answer, error)


def _record(delivery_id: int, attempt: int, answer, error: str) -> str:
    now = utcnow()
    delivery = db.session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None:  # the endpoint was deleted meanwhile
        db.session.rollback()
        return "missing"
    delivery.last_status_code = answer.status_code if answer else None
    delivery.last_response = answer.excerpt if answer else ""
    succeeded = answer is not None and 200 <= answer.status_code < 300
    if answer is not None and not succeeded:
        error = f"HTTP {answer.status_code}"
        if 300 <= answer.status_code < 400:
            error += " (redirects are not followed)"
    delivery.last_error = error[:1000]
    if delivery.attempts != attempt or delivery.status != "pending":
        db.session.commit()  # resent meanwhile: the newer attempt decides what happens next
        return delivery.status
    if succeeded:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "succeeded", now, None
    elif answer is not None and answer.status_code == 410:
        # 410 Gone: the receiver says this endpoint is no more (Standard Webhooks): disable it.
        delivery.status, delivery.next_attempt_at = "failed", None
        delivery.last_error = "HTTP 410 Gone: the endpoint was disabled."
        delivery.endpoint.is_active = False
    elif attempt >= MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = "failed", None
    else:
        retry_after = answer.retry_after_seconds if answer else None
        delivery.next_attempt_at = now + next_delay(attempt, retry_after)
    db.session.commit()
    return delivery.status


def enqueue_due(store: TenantRef, limit: int = SWEEP_BATCH) -> int:
    """The sweep's work for one store: enqueue an attempt for every message that is due."""
    if not _store_schema_reached(store.id, WEBHOOKS_REVISION):
        return 0
    due = db.session.scalars(
        select(WebhookDelivery.message_id)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= utcnow())
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    ).all()
    for message_id in due:
        _enqueue_attempt(store.id, message_id)
    return len(due)
