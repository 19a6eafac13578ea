"""The review queues of held orders: hold at payment, list, approve (deliver) or reject (refund).

A held order is paid (the ledger posted the payment) and keeps its card keys reserved. Approving
delivers it exactly as an unheld payment would; rejecting refunds it through the normal refund
path, gives the keys back to stock and may blacklist the buyer. The platform decides its own
queue (anti-money-laundering and platform rules) and each store its own; neither sees the other's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from app.audit.services import Actor, record
from app.db import utcnow
from app.extensions import db
from app.i18n import N_
from app.inventory import services as inventory
from app.orders.models import Order
from app.orders.services import email_delivery, order_ref, transition
from app.risk import blacklist
from app.risk.engine import BLOCK, PLATFORM, STORE, Assessment
from app.risk.models import BlacklistEntry, RiskReview
from tenants.context import TenantRef

QUEUES = (PLATFORM, STORE)


class ReviewRefused(ValueError):
    def __init__(self, message: str, **params):
        super().__init__(message)
        self.message = message
        self.params = params


def hold_for_review(tenant: TenantRef, order: Order, assessment: Assessment) -> RiskReview:
    """Move a paid order to review and queue it (in the payment's transaction). A payment that
    the checkout rules would now block (blacklisted since) is held as well: the
    money is in, so a person decides (the store, when only its own list matched)."""
    queue = assessment.queue
    if queue is None:  # would have been blocked: the owner of the blocking rules decides
        blocking = [r for r in assessment.reasons if r.action == BLOCK]
        queue = STORE if blocking and all(r.queue == STORE for r in blocking) else PLATFORM
    transition(order, "review", note=", ".join(r.code for r in assessment.reasons))
    review = RiskReview(
        tenant_id=tenant.id,
        order_no=order.order_no,
        queue=queue,
        score=assessment.score,
        reasons=[r.as_dict() for r in assessment.reasons],
        amount_cents=order.total_cents,
        currency=order.currency,
        status="waiting",
        created_at=utcnow(),
    )
    db.session.add(review)
    return review


def decide_by(review: RiskReview) -> datetime:
    """When a decision on this held order is due (RISK_REVIEW_SLA_MINUTES after it was held)."""
    from flask import current_app

    return review.created_at + timedelta(minutes=current_app.config["RISK_REVIEW_SLA_MINUTES"])


def waiting(queue: str, tenant_id: int | None = None) -> list[RiskReview]:
    """The waiting reviews of one queue, oldest first (a store's: only its own)."""
    query = select(RiskReview).where(RiskReview.status == "waiting", RiskReview.queue == queue)
    if tenant_id is not None:
        query = query.where(RiskReview.tenant_id == tenant_id)
    return list(db.session.scalars(query.order_by(RiskReview.created_at, RiskReview.id)))


def platform_backlog() -> tuple[int, datetime | None]:
    """For app.platform.reviews: how many orders wait for the platform, since when."""
    count, oldest = db.session.execute(
        select(func.count(), func.min(RiskReview.created_at)).where(
            RiskReview.status == "waiting", RiskReview.queue == PLATFORM
        )
    ).one()
    return count, oldest


def find(review_id: int, *, queue: str, tenant_id: int | None = None) -> RiskReview | None:
    """A review of this queue (and this store, for a store): None for anyone else's."""
    review = db.session.get(RiskReview, review_id)
    if review is None or review.queue != queue:
        return None
    if tenant_id is not None and review.tenant_id != tenant_id:
        return None
    return review


def of_order(tenant_id: int, order_no: str) -> RiskReview | None:
    """The order's review, if it was ever held (for the order pages)."""
    return db.session.scalar(
        select(RiskReview).where(RiskReview.tenant_id == tenant_id, RiskReview.order_no == order_no)
    )


def customer_history(order: Order, limit: int = 20) -> list[Order]:
    """The buyer's other orders in the order's store (bound): same e-mail, phone or account."""
    conditions = []
    if order.contact_email:
        conditions.append(Order.contact_email == order.contact_email)
    if order.contact_phone:
        conditions.append(Order.contact_phone == order.contact_phone)
    if order.customer_id:
        conditions.append(Order.customer_id == order.customer_id)
    if not conditions:
        return []
    return list(
        db.session.scalars(
            select(Order)
            .where(or_(*conditions), Order.order_no != order.order_no)
            .order_by(Order.created_at.desc())
            .limit(limit)
        )
    )


def _locked(tenant: TenantRef, review_id: int, queue: str) -> tuple[RiskReview, Order]:
    review = db.session.scalar(
        select(RiskReview)
        .where(
            RiskReview.id == review_id,
            RiskReview.tenant_id == tenant.id,
            RiskReview.queue == queue,
        )
        .with_for_update()
    )
    if review is None:
        raise LookupError(review_id)
    order = db.session.scalar(
        select(Order).where(Order.order_no == review.order_no).with_for_update()
    )
    if review.status != "waiting" or order is None or order.status != "review":
        raise ReviewRefused(N_("This order has already been decided."))
    return review, order


def approve(tenant: TenantRef, review_id: int, *, queue: str, actor: Actor, note: str = "") -> str:
    """Release the order: delivered exactly as an unheld payment (the ledger was posted at
    payment). Commits; returns the order's outcome (delivered / fulfilling / paid)."""
    from app.payments.services import deliver_paid

    review, order = _locked(tenant, review_id, queue)
    actor_name = actor.email or actor.kind
    outcome = deliver_paid(tenant, order)
    _decided(review, "approved", actor_name, note)
    record(
        "risk.review_approved",
        actor=actor,
        tenant_id=tenant.id,
        target=order.order_no,
        before={"status": "review"},
        after={"status": order.status, "queue": queue, "note": note},
    )
    db.session.commit()
    if outcome == "delivered":
        email_delivery(tenant, order.order_no)
    return outcome


def reject(
    tenant: TenantRef,
    review_id: int,
    *,
    queue: str,
    actor: Actor,
    note: str = "",
    blacklist_kinds: tuple[str, ...] = (),
) -> str:
    """Refuse the order: refunded in full through the normal refund path, its keys back in
    stock, and (if asked) the buyer's e-mail / phone / IP on the deciding queue's blacklist
    (the platform's list for the platform, the store's own for a store). Commits."""
    from app.payments.refunds import decide_refund, schedule_refund

    review, order = _locked(tenant, review_id, queue)
    actor_name = actor.email or actor.kind
    refund = decide_refund(
        tenant, order, actor=actor_name, reason=f"rejected in risk review: {note}".strip(": ")
    )
    inventory.release_keys(order_ref(tenant.id, order.order_no))
    listed = []
    for kind in blacklist_kinds:
        value = {"email": order.contact_email, "phone": order.contact_phone}.get(
            kind, order.client_ip if kind == "ip" else ""
        )
        if value and add_entry(
            tenant.id if queue == STORE else None, kind, value, actor=actor, note=order.order_no
        ):
            listed.append(kind)
    _decided(review, "rejected", actor_name, note)
    record(
        "risk.review_rejected",
        actor=actor,
        tenant_id=tenant.id,
        target=order.order_no,
        before={"status": "review"},
        after={"status": order.status, "queue": queue, "note": note, "blacklisted": listed},
    )
    schedule_refund(refund)
    db.session.commit()
    for sku_id in {i.sku_id for i in order.items if i.delivery_type == "card_key"}:
        inventory.after_stock_change(sku_id)
    return refund.refund_no


def _decided(review: RiskReview, status: str, actor_name: str, note: str) -> None:
    review.status, review.decided_at = status, utcnow()
    review.decided_by, review.decision_note = actor_name[:254], (note or "")[:2000]


# -- blacklists --------------------------------------------------------------------------------


def entries(tenant_id: int | None) -> list[BlacklistEntry]:
    """One list: the platform's (None) or a store's own."""
    owner = (
        BlacklistEntry.tenant_id.is_(None)
        if tenant_id is None
        else BlacklistEntry.tenant_id == tenant_id
    )
    return list(
        db.session.scalars(
            select(BlacklistEntry).where(owner).order_by(BlacklistEntry.kind, BlacklistEntry.value)
        )
    )


def add_entry(
    tenant_id: int | None, kind: str, value: str, *, actor: Actor, note: str = ""
) -> BlacklistEntry | None:
    """Add to a list (caller commits); None if it is already there. Raises ReviewRefused for a
    value that cannot match anything."""
    if kind not in blacklist.KINDS:
        raise ReviewRefused(N_("Choose what to block: IP, e-mail, phone or customer."))
    try:
        value = blacklist.normalise(kind, value)
    except blacklist.InvalidEntry:
        raise ReviewRefused(N_("This is not a valid %(kind)s entry."), kind=kind) from None
    owner = (
        BlacklistEntry.tenant_id.is_(None)
        if tenant_id is None
        else BlacklistEntry.tenant_id == tenant_id
    )
    existing = db.session.scalar(
        select(BlacklistEntry).where(
            owner, BlacklistEntry.kind == kind, BlacklistEntry.value == value
        )
    )
    if existing is not None:
        return None
    entry = BlacklistEntry(
        tenant_id=tenant_id,
        kind=kind,
        value=value,
        note=(note or "")[:200],
        created_by=(actor.email or actor.kind)[:254],
        created_at=utcnow(),
    )
    db.session.add(entry)
    record(
        "risk.blacklist_added",
        actor=actor,
        tenant_id=tenant_id,
        target=f"{kind}:{value}",
        after={"note": entry.note},
    )
    return entry


def remove_entry(tenant_id: int | None, entry_id: int, *, actor: Actor) -> bool:
    """Remove an entry of this list (caller commits); False if it is not on this list."""
    entry = db.session.get(BlacklistEntry, entry_id)
    if entry is None or entry.tenant_id != tenant_id:
        return False
    record(
        "risk.blacklist_removed",
        actor=actor,
        tenant_id=tenant_id,
        target=f"{entry.kind}:{entry.value}",
        before={"note": entry.note},
    )
    db.session.delete(entry)
    return True
