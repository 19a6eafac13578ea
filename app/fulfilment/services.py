"""The top-up lifecycle: queue at payment, submit to a supplier, learn the outcome, finish the
order — each step idempotent, so a job that runs twice (or a worker killed mid-call) does no harm.

    paid → queue_topups() → queued → submit() → submitted → place → success | failed | processing
    submitted → (no usable answer) → unknown → check(): query(reference) → …
    processing → a supplier callback, or check() → success | failed

Our reference (topup_no + attempt) is the supplier's idempotency key. An unknown outcome is
resolved by querying it, never by ordering again; a supplier that never received it (not_found)
gets the same reference again. A failed attempt moves on to the next supplier offer. When every
top-up of an order is final the order is delivered, partly refunded or failed and refunded, once.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.fulfilment.models import FINAL, Topup, TopupCall
from app.observability.metrics import TOPUP_SECONDS, TOPUPS
from app.orders.models import Order, OrderItem
from app.orders.services import attach_supplier_delivery, email_delivery, transition
from app.suppliers import services as suppliers
from app.suppliers.connectors.base import (
    FAILED,
    NOT_FOUND,
    PROCESSING,
    SUCCESS,
    PlaceRequest,
    SupplierResult,
    SupplierTransportError,
)
from app.web.urls import platform_url
from tenants.context import TenantRef, require_tenant

log = logging.getLogger(__name__)

# Seconds until the next query of an unknown or processing top-up, by number of checks so far.
CHECK_BACKOFF = (2, 5, 10, 20, 30, 60, 120, 300)
WAIT_FOR_SUPPLIERS = timedelta(seconds=30)  # every offer's breaker open: try again later


def _backoff(checks: int) -> timedelta:
    return timedelta(seconds=CHECK_BACKOFF[min(checks, len(CHECK_BACKOFF) - 1)])


def _enqueue(step: str, topup: Topup, slot: str = "") -> None:
    """One job per top-up and step at a time (a duplicate of a queued or running job is dropped);
    the sweeper adds a time slot so a job killed mid-run cannot block its step for long."""
    from workers.queue import enqueue

    enqueue(
        f"workers.jobs.fulfilment.{step}_topup",
        topup.topup_no,
        tenant_id=topup.tenant_id,
        queue="fulfilment",
        job_key=f"topup:{topup.topup_no}:{step}{slot}",
        timeout=120,
    )


def queue_topups(tenant: TenantRef, order: Order) -> list[Topup]:
    """At payment, in the payment's transaction: one top-up per direct-top-up item, the order
    moves to `fulfilling`, and the submit jobs go out once it commits."""
    deadline = utcnow() + timedelta(minutes=current_app.config["TOPUP_DEADLINE_MINUTES"])
    topups = []
    for item in order.items:
        if item.delivery_type != "direct_topup":
            continue
        topup = Topup(
            topup_no=f"T{order.order_no}{secrets.token_hex(3).upper()}",
            tenant_id=tenant.id,
            order_no=order.order_no,
            order_item_id=item.id,
            sku_id=item.sku_id,
            quantity=item.quantity,
            face_value_cents=_face_value(item),
            account_fields=dict(item.account_fields or {}),
            status="queued",
            deadline_at=deadline,
        )
        db.session.add(topup)
        topups.append(topup)
    if topups:
        transition(order, "fulfilling", note="sent for top-up")
        db.session.flush()
        for topup in topups:
            _enqueue("submit", topup)
    return topups


def _face_value(item: OrderItem) -> int:
    from app.catalog.models import Sku

    sku = db.session.get(Sku, item.sku_id)
    return sku.face_value_cents if sku else 0


def _locked(topup_no: str) -> Topup | None:
    return db.session.scalar(select(Topup).where(Topup.topup_no == topup_no).with_for_update())


def submit(topup_no: str) -> str:
    """Send a queued top-up to the best supplier that may take it."""
    topup = _locked(topup_no)
    if topup is None or topup.status != "queued":
        db.session.rollback()
        return "skipped"
    if utcnow() >= topup.deadline_at:
        return _finish_failed(topup, "no supplier fulfilled it before the deadline")
    offers = [o for o in suppliers.offers_for(topup.sku_id) if o.supplier_id not in topup.tried]
    offer = next((o for o in offers if suppliers.may_route_to(o.supplier_id)), None)
    if offer is None:
        if offers:  # suppliers exist but their breakers are open: wait, then try again
            topup.next_check_at = utcnow() + WAIT_FOR_SUPPLIERS
            topup.message = "waiting for a supplier to recover"
            db.session.commit()
            return "waiting"
        last = f" (last: {topup.message})" if topup.message else ""
        return _finish_failed(topup, f"no supplier left to try{last}")
    topup.attempt += 1
    topup.supplier_id = offer.supplier_id
    topup.tried_supplier_ids = [*topup.tried, offer.supplier_id]
    topup.reference = f"{topup.topup_no}-{topup.attempt}"
    topup.supplier_order_id = ""  # the new attempt's own, once its supplier names it
    topup.status, topup.submitted_at = "submitted", utcnow()
    supplier_sku_code = offer.supplier_sku_code
    db.session.commit()  # from here on, a crash is recovered by querying the reference
    return _place(topup_no, supplier_sku_code)


def _place(topup_no: str, supplier_sku_code: str, *, repeat: bool = False) -> str:
    topup = db.session.scalar(select(Topup).where(Topup.topup_no == topup_no))
    request = PlaceRequest(
        reference=topup.reference,
        supplier_sku_code=supplier_sku_code,
        quantity=topup.quantity,
        account_fields=topup.account_fields,
        face_value_cents=topup.face_value_cents,
        callback_url=platform_url(f"/suppliers/callback/{topup.supplier_id}"),
        repeat=repeat,
    )
    supplier_id, reference = topup.supplier_id, topup.reference
    db.session.commit()  # no transaction stays open while we wait for the supplier
    return _call(topup_no, supplier_id, reference, "place", lambda c: c.place(request))


def check(topup_no: str) -> str:
    """Ask the supplier what became of our reference (unknown, processing, or a lost submit)."""
    topup = db.session.scalar(select(Topup).where(Topup.topup_no == topup_no))
    if topup is None or topup.status in FINAL:
        return "skipped"
    if topup.status == "queued":  # never sent, or waiting for a supplier to recover
        db.session.commit()
        return submit(topup_no)
    supplier_id, reference, order_id = topup.supplier_id, topup.reference, topup.supplier_order_id
    db.session.commit()
    return _call(
        topup_no, supplier_id, reference, "query", lambda c: c.query(reference, order_id or "")
    )


def _call(topup_no: str, supplier_id: int, reference: str, action: str, call) -> str:
    started = time.perf_counter()
    try:
        result = call(suppliers.connector_for(supplier_id))
    except SupplierTransportError as error:
        result, outcome = None, str(error)
    latency_ms = int((time.perf_counter() - started) * 1000)
    topup = _locked(topup_no)
    db.session.add(
        TopupCall(
            topup_id=topup.id,
            supplier_id=supplier_id,
            action=action,
            reference=reference,
            outcome=result.state if result else "transport_error",
            latency_ms=latency_ms,
            request_log=(result.request_log if result else "")[:4000],
            response_log=(result.response_log if result else outcome)[:4000],
        )
    )
    if topup.reference != reference or topup.status in FINAL:
        db.session.commit()  # a later attempt or a callback got there first
        return "stale"
    if result is None:
        suppliers.record_failure(supplier_id)  # the details are in the call's log
        return _wait(topup, "unknown", "no usable answer from the supplier")
    return _apply(topup, result)


def apply_callback(result: SupplierResult) -> str:
    """A supplier's verified notification about one of our references (bound to its store)."""
    topup = db.session.scalar(
        select(Topup).where(Topup.reference == result.reference).with_for_update()
    )
    if topup is None:
        raise LookupError("unknown reference")
    db.session.add(
        TopupCall(
            topup_id=topup.id, supplier_id=topup.supplier_id, action="callback",
            reference=result.reference, outcome=result.state,
            request_log=result.request_log[:4000], response_log=result.response_log[:4000],
        )
    )  # fmt: skip
    if topup.status in FINAL:
        db.session.commit()
        return "duplicate"
    return _apply(topup, result)


def _apply(topup: Topup, result: SupplierResult) -> str:
    """Act on what the supplier said about the current reference (topup row locked)."""
    previous_message = topup.message
    topup.supplier_order_id = result.supplier_order_id or topup.supplier_order_id
    topup.message = result.message[:2000]
    if result.state == SUCCESS:
        suppliers.record_success(topup.supplier_id)
        delivered = result.delivered_quantity
        topup.delivered_quantity = topup.quantity if delivered is None else delivered
        topup.status, topup.finished_at = "success", utcnow()
        if result.secrets:  # a card-type supplier: its buyer receives them
            attach_supplier_delivery(require_tenant(), topup.order_item_id, result.secrets)
        db.session.commit()
        _observe(topup)
        finish_order(topup.order_no)
        return "success"
    if result.state == PROCESSING:
        return _wait(topup, "processing", result.message)
    if result.state == NOT_FOUND:
        if topup.status in ("submitted", "unknown"):  # our order never reached the supplier
            topup.status = "submitted"
            code = next(
                (o.supplier_sku_code for o in suppliers.offers_for(topup.sku_id)
                 if o.supplier_id == topup.supplier_id), None,
            )  # fmt: skip
            topup_no = topup.topup_no
            db.session.commit()
            if code is None:
                return submit_next(topup_no, "the supplier's offer is gone")
            return _place(topup_no, code, repeat=True)
        # Keep what the supplier last said about it (e.g. why it cannot be looked up).
        return _wait(
            topup, topup.status, previous_message or "the supplier does not know this order yet"
        )
    if result.state == FAILED:
        suppliers.record_failure(topup.supplier_id)
        topup_no = topup.topup_no
        db.session.commit()
        return submit_next(topup_no, result.message or "the supplier could not top up")
    raise ValueError(f"unknown supplier state {result.state!r}")


def submit_next(topup_no: str, reason: str) -> str:
    """The current attempt failed for good: the next offer, or the end."""
    topup = _locked(topup_no)
    if topup.status in FINAL:
        db.session.rollback()
        return "skipped"
    topup.status, topup.message = "queued", reason[:2000]
    db.session.commit()
    return submit(topup_no)


def _wait(topup: Topup, status: str, message: str) -> str:
    """Not finished: check again later (or fail at the deadline)."""
    if utcnow() >= topup.deadline_at:
        return _finish_failed(topup, f"deadline passed: {message}")
    topup.status, topup.message = status, (message or "")[:2000]
    topup.next_check_at = utcnow() + _backoff(topup.checks)
    topup.checks += 1
    db.session.commit()
    return status


def _observe(topup: Topup) -> None:
    TOPUPS.labels(topup.status).inc()
    if topup.status == "success":
        TOPUP_SECONDS.observe((topup.finished_at - topup.created_at).total_seconds())


def _finish_failed(topup: Topup, reason: str) -> str:
    topup.status, topup.message, topup.finished_at = "failed", reason[:2000], utcnow()
    order_no = topup.order_no
    db.session.commit()
    _observe(topup)
    finish_order(order_no)
    return "failed"


def finish_order(order_no: str) -> None:
    """When every top-up of the order is final: delivered, partly refunded, or failed and
    refunded — decided once, under the order's lock, in one transaction with the refund and the
    mark on its top-ups (so a worker dying half-way leaves it for the sweeper, never half done)."""
    from app.payments.refunds import decide_refund, schedule_refund

    tenant = require_tenant()
    order = db.session.scalar(select(Order).where(Order.order_no == order_no).with_for_update())
    topups = db.session.scalars(
        select(Topup).where(Topup.tenant_id == tenant.id, Topup.order_no == order_no)
    ).all()
    if order is None or any(t.status not in FINAL for t in topups):
        db.session.rollback()
        return
    now = utcnow()
    if order.status == "fulfilling":
        items = {item.id: item for item in order.items}
        # What was paid for the units not delivered (a coupon's discount taken off in proportion).
        short = sum(
            items[t.order_item_id].paid_for(t.quantity - t.delivered_quantity) for t in topups
        )
        if short < order.total_cents:
            transition(order, "delivered", note="topped up" if not short else "topped up in part")
            order.delivered_at = now
            email_delivery(tenant, order.order_no)
        else:
            transition(order, "failed", note=topups[0].message[:500])
        if short:
            reason = "part of the top-up failed" if short < order.total_cents else "top-up failed"
            refund = decide_refund(tenant, order, amount_cents=short, actor="system", reason=reason)
            schedule_refund(refund)
    for topup in topups:
        topup.order_settled_at = topup.order_settled_at or now
    db.session.commit()


def sweep(limit: int = 1000) -> int:
    """Periodic, across stores (top-ups are shared): re-drive top-ups whose job was lost or whose
    check is due — queued ones left behind, submitted ones never answered (a worker died
    mid-call), unknown and processing ones due for a query, and any past their deadline."""
    now = utcnow()
    stale = now - timedelta(seconds=60)
    due = db.session.scalars(
        select(Topup)
        .where(Topup.status.not_in(tuple(FINAL)))
        .where(
            (
                (Topup.status == "queued")
                & ((Topup.next_check_at <= now) | (Topup.created_at < stale))
            )
            | ((Topup.status == "submitted") & (Topup.submitted_at < stale))
            | (Topup.status.in_(("unknown", "processing")) & (Topup.next_check_at <= now))
            | (Topup.deadline_at <= now)
        )
        .order_by(Topup.next_check_at)
        .limit(limit)
    ).all()
    from workers.queue import enqueue

    slot = f":{now:%Y%m%d%H%M}"
    for topup in due:
        if topup.status == "queued":
            # The original job key: if that job is only waiting in a long queue, this is
            # dropped as a duplicate; if it was lost, it goes out again.
            _enqueue("submit", topup)
        else:
            _enqueue("check", topup, slot)
    unsettled = db.session.execute(
        select(Topup.tenant_id, Topup.order_no)
        .where(
            Topup.status.in_(tuple(FINAL)),
            Topup.order_settled_at.is_(None),
            Topup.finished_at < stale,
        )
        .distinct()
        .limit(limit)
    ).all()
    for tenant_id, order_no in unsettled:
        enqueue(
            "workers.jobs.fulfilment.finish_topup_order", order_no, tenant_id=tenant_id,
            queue="fulfilment", job_key=f"topup-order:{tenant_id}:{order_no}{slot}",
        )  # fmt: skip
    db.session.commit()
    return len(due) + len(unsettled)
