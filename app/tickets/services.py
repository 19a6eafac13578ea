"""Tickets: open from an order, converse, escalate to the platform, resolve.

A resolution changes money in one transaction with the ticket: a replacement key is sold to the
order from the same SKU's stock (the faulty one voided), paid for by whoever is at fault; a
refund goes through the ordinary refund decision, and when someone is at fault they also pay the
others' lost shares (a supplier at fault is charged back; if it has nothing available the
platform fronts it and the supplier owes it). Services take an audit Actor; callers commit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from app import private_files
from app.audit import services as audit
from app.db import utcnow
from app.extensions import db
from app.i18n import N_
from app.images import ImageRefused
from app.inventory import services as inventory
from app.inventory.models import CardKey
from app.ledger.models import LedgerTransaction
from app.ledger.parties import Party
from app.ledger.services import charge, post
from app.orders.models import Order, OrderEvent
from app.orders.services import order_ref
from app.payments.refunds import RefundError, decide_refund, paid_ledger_key
from app.tickets.models import CLOSED, FAULTS, Ticket, TicketEscalation, TicketMessage
from tenants.context import TenantRef

# Orders a buyer can report a problem with: paid, in any later state.
TICKETABLE = (
    "paid",
    "review",
    "fulfilling",
    "delivered",
    "partially_refunded",
    "failed",
    "refunded",
)
MAX_BODY = 5000


class TicketRefused(ValueError):
    def __init__(self, field: str, message: str, **params):
        super().__init__(message)
        self.field, self.message, self.params = field, message, params


@dataclass(frozen=True)
class Note:
    """One message: words and, optionally, an image."""

    body: str
    image: bytes | None = None


def _ticket_no() -> str:
    return f"T{utcnow():%y%m%d}{secrets.randbelow(10**10):010d}"


def _attach(tenant: TenantRef, ticket_no: str, image: bytes | None) -> str | None:
    if not image:
        return None
    try:
        return private_files.store_image(
            "tickets",
            f"ticket:{tenant.id}:{ticket_no}",
            image,
            max_bytes=current_app.config["TICKET_ATTACHMENT_MAX_BYTES"],
        )
    except ImageRefused as refused:
        raise TicketRefused(
            "image",
            N_("The picture is too large (at most %(mb)s MB).")
            if refused.reason == "size"
            else N_("Attach a PNG, JPEG or WebP picture."),
            mb=current_app.config["TICKET_ATTACHMENT_MAX_BYTES"] // (1024 * 1024),
        ) from None


def attachment(tenant: TenantRef, ticket: Ticket, name: str) -> tuple[bytes, str] | None:
    """A message's picture in clear, for those allowed to see the ticket."""
    if name not in {m.attachment for m in ticket.messages}:
        return None
    return private_files.read_image("tickets", f"ticket:{tenant.id}:{ticket.ticket_no}", name)


def _check_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise TicketRefused("body", N_("Describe the problem."))
    if len(body) > MAX_BODY:
        raise TicketRefused("body", N_("Keep the message under 5,000 characters."))
    return body


def open_ticket(
    tenant: TenantRef, order: Order, subject: str, note: Note, *, contact: str, actor: audit.Actor
) -> Ticket:
    """A buyer's ticket about their order; one unresolved ticket per order."""
    if order.status not in TICKETABLE:
        raise TicketRefused("subject", N_("Only paid orders can have a ticket."))
    subject = (subject or "").strip()
    if not 2 <= len(subject) <= 200:
        raise TicketRefused("subject", N_("Give the ticket a short title (2 to 200 characters)."))
    body = _check_body(note.body)
    if find_open(order.order_no) is not None:
        raise TicketRefused("subject", N_("This order already has an open ticket."))
    now = utcnow()
    ticket = Ticket(
        ticket_no=_ticket_no(),
        order_no=order.order_no,
        customer_id=order.customer_id,
        contact=contact or order.contact_email or order.contact_phone,
        subject=subject,
        first_response_due_at=now
        + timedelta(minutes=current_app.config["TICKET_FIRST_RESPONSE_MINUTES"]),
    )
    ticket.messages.append(
        TicketMessage(
            author_kind="customer",
            author=ticket.contact,
            body=body,
            attachment=_attach(tenant, ticket.ticket_no, note.image),
        )
    )
    db.session.add(ticket)
    db.session.flush()
    audit.record(
        "ticket.open", actor=actor, tenant_id=tenant.id, target=f"ticket:{ticket.ticket_no}"
    )
    return ticket


def find_open(order_no: str) -> Ticket | None:
    return db.session.scalar(
        select(Ticket).where(
            Ticket.order_no == order_no, Ticket.status.not_in(("resolved", "rejected"))
        )
    )


def find(ticket_no: str, *, lock: bool = False) -> Ticket | None:
    query = select(Ticket).where(Ticket.ticket_no == ticket_no)
    return db.session.scalar(query.with_for_update() if lock else query)


LIST_FILTERS = ("open", "answered", "escalated", "closed", "all")


def listing(which: str = "open", limit: int = 200) -> list[Ticket]:
    """The store's tickets for its back-office: those waiting first (soonest due first)."""
    query = select(Ticket)
    if which == "open":
        query = query.where(Ticket.status == "open").order_by(Ticket.first_response_due_at)
    elif which == "answered":
        query = query.where(Ticket.status == "answered").order_by(Ticket.updated_at.desc())
    elif which == "escalated":
        query = query.where(
            Ticket.escalated_at.is_not(None), Ticket.status.not_in(CLOSED)
        ).order_by(Ticket.escalated_at)
    elif which == "closed":
        query = query.where(Ticket.status.in_(CLOSED)).order_by(Ticket.resolved_at.desc())
    else:
        query = query.order_by(Ticket.id.desc())
    return list(db.session.scalars(query.limit(limit)))


def due_count(now: datetime | None = None) -> tuple[int, int]:
    """(tickets waiting for a first answer, of which overdue), for dashboards."""
    now = now or utcnow()
    waiting = (
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.status == "open", Ticket.first_responded_at.is_(None))
    )
    return (
        db.session.scalar(waiting) or 0,
        db.session.scalar(waiting.where(Ticket.first_response_due_at < now)) or 0,
    )


def tickets_of_order(order_no: str) -> list[Ticket]:
    return list(
        db.session.scalars(
            select(Ticket).where(Ticket.order_no == order_no).order_by(Ticket.id.desc())
        )
    )


def reply(
    tenant: TenantRef, ticket: Ticket, author_kind: str, note: Note, *, actor: audit.Actor
) -> TicketMessage:
    """A message from the buyer, the store or the platform; answers stop the SLA clock."""
    if ticket.is_closed:
        raise TicketRefused("body", N_("This ticket is closed."))
    message = TicketMessage(
        author_kind=author_kind,
        author=actor.email,
        body=_check_body(note.body),
        attachment=_attach(tenant, ticket.ticket_no, note.image),
    )
    ticket.messages.append(message)
    if author_kind == "customer":
        ticket.status = "open"
    else:
        ticket.status = "answered"
        ticket.first_responded_at = ticket.first_responded_at or utcnow()
    ticket.updated_at = utcnow()
    if author_kind != "customer":
        audit.record(
            "ticket.reply", actor=actor, tenant_id=tenant.id, target=f"ticket:{ticket.ticket_no}"
        )
    return message


def escalate(tenant: TenantRef, ticket: Ticket, by: str, *, actor: audit.Actor) -> None:
    """Hand the ticket to the platform too (the buyer, once the first answer is overdue or
    after an answer; the store at any time)."""
    if ticket.is_closed:
        raise TicketRefused("body", N_("This ticket is closed."))
    if ticket.escalated_at is not None:
        raise TicketRefused("body", N_("The platform is already looking at this ticket."))
    if by == "customer" and ticket.status == "open" and utcnow() < ticket.first_response_due_at:
        raise TicketRefused(
            "body", N_("The store has until its answer is due; escalate after that if needed.")
        )
    now = utcnow()
    ticket.escalated_at = now
    ticket.messages.append(
        TicketMessage(author_kind="system", body="escalated to the platform", author=by)
    )
    db.session.add(
        TicketEscalation(
            tenant_id=tenant.id,
            ticket_no=ticket.ticket_no,
            order_no=ticket.order_no,
            subject=ticket.subject,
            escalated_by=by,
            escalated_at=now,
        )
    )
    audit.record(
        "ticket.escalate", actor=actor, tenant_id=tenant.id, target=f"ticket:{ticket.ticket_no}"
    )


def escalations(limit: int = 200) -> list[TicketEscalation]:
    """Open escalations across stores, oldest first (the platform's queue)."""
    return list(
        db.session.scalars(
            select(TicketEscalation)
            .where(TicketEscalation.closed_at.is_(None))
            .order_by(TicketEscalation.id)
            .limit(limit)
        )
    )


def escalations_backlog() -> tuple[int, datetime | None]:
    count, oldest = db.session.execute(
        select(func.count(), func.min(TicketEscalation.escalated_at)).where(
            TicketEscalation.closed_at.is_(None)
        )
    ).one()
    return int(count), oldest


# -- resolutions ----------------------------------------------------------------------------------


def _close(tenant: TenantRef, ticket: Ticket, resolution: str, fault, note: str, actor) -> None:
    now = utcnow()
    ticket.status = "rejected" if resolution == "rejected" else "resolved"
    ticket.resolution, ticket.fault = resolution, fault
    ticket.resolution_note = note.strip()[:2000]
    ticket.resolved_by, ticket.resolved_at = actor.email, now
    ticket.first_responded_at = ticket.first_responded_at or now
    ticket.messages.append(
        TicketMessage(
            author_kind="system", author=actor.email, body=f"{resolution}: {note}".strip()
        )
    )
    db.session.execute(
        update(TicketEscalation)
        .where(
            TicketEscalation.tenant_id == tenant.id,
            TicketEscalation.ticket_no == ticket.ticket_no,
            TicketEscalation.closed_at.is_(None),
        )
        .values(closed_at=now)
    )
    audit.record(
        f"ticket.{resolution}",
        actor=actor,
        tenant_id=tenant.id,
        target=f"ticket:{ticket.ticket_no}",
        after={"fault": fault, "note": ticket.resolution_note},
    )


def _open_ticket_and_order(ticket_no: str) -> tuple[Ticket, Order]:
    ticket = find(ticket_no, lock=True)
    if ticket is None:
        raise TicketRefused("resolution", N_("No such ticket."))
    if ticket.is_closed:
        raise TicketRefused("resolution", N_("This ticket is closed."))
    order = db.session.scalar(
        select(Order).where(Order.order_no == ticket.order_no).with_for_update()
    )
    return ticket, order


def reject(tenant: TenantRef, ticket_no: str, note: str, *, actor: audit.Actor) -> Ticket:
    ticket, _ = _open_ticket_and_order(ticket_no)
    if not note.strip():
        raise TicketRefused("note", N_("Tell the buyer why."))
    _close(tenant, ticket, "rejected", None, note, actor)
    return ticket


def sold_keys(tenant: TenantRef, order: Order) -> list[CardKey]:
    return list(
        db.session.scalars(
            select(CardKey)
            .where(
                CardKey.order_ref == order_ref(tenant.id, order.order_no), CardKey.status == "sold"
            )
            .order_by(CardKey.id)
        )
    )


def replace_keys(
    tenant: TenantRef,
    ticket_no: str,
    key_ids: list[int],
    *,
    fault: str,
    note: str = "",
    actor: audit.Actor,
) -> list[CardKey]:
    """Void the chosen keys of the order and sell it as many fresh ones of the same SKU."""
    if fault not in ("supplier", "store", "platform"):
        raise TicketRefused("fault", N_("Choose who pays for the replacement."))
    ticket, order = _open_ticket_and_order(ticket_no)
    ref = order_ref(tenant.id, order.order_no)
    faulty = db.session.scalars(
        select(CardKey)
        .where(CardKey.id.in_(key_ids or [0]), CardKey.order_ref == ref, CardKey.status == "sold")
        .with_for_update()
    ).all()
    if not faulty or len(faulty) != len(set(key_ids)):
        raise TicketRefused("keys", N_("Choose the faulty keys of this order."))
    item = next(i for i in order.items if i.sku_id == faulty[0].sku_id)
    if any(key.sku_id != item.sku_id for key in faulty):
        raise TicketRefused("keys", N_("Choose the faulty keys of this order."))
    try:
        inventory.reserve_keys(item.sku_id, len(faulty), ref, utcnow())
    except inventory.InventoryError:
        raise TicketRefused("keys", N_("Not enough keys in stock for a replacement.")) from None
    for key in faulty:
        key.status = "void"
    fresh = inventory.sell_keys(ref)
    count = len(fresh)
    order.events.append(
        OrderEvent(
            from_status=order.status,
            to_status=order.status,
            actor=f"{actor.kind}:{actor.email}",
            note=f"{count} replacement key(s) for ticket {ticket.ticket_no}",
        )
    )
    _pay_for_replacement(tenant, ticket, item, count, fault, order.currency)
    _close(tenant, ticket, "replacement", fault, note, actor)
    return fresh


def _pay_for_replacement(tenant, ticket, item, count: int, fault: str, currency: str) -> None:
    """The supplier's extra key is paid for by the store (at wholesale) or the platform (at
    cost); a supplier at fault replaces its own faulty key for nothing."""
    supplier_id = _supplier_of(item.sku_id)
    supplier = Party("supplier", supplier_id)
    cost, wholesale = item.unit_cost_cents * count, item.unit_wholesale_cents * count
    key = f"ticket:{tenant.id}:{ticket.ticket_no}:replacement"
    description = f"replacement for ticket {ticket.ticket_no} (order {ticket.order_no})"
    if fault == "store":
        charge(
            key,
            "ticket_replacement",
            Party("store", tenant.id),
            [(supplier.available, -cost), ("platform:revenue", -(wholesale - cost))],
            currency=currency,
            tenant_id=tenant.id,
            description=description,
        )
    elif fault == "platform" and cost:
        post(
            key,
            "ticket_replacement",
            [("platform:revenue", cost), (supplier.available, -cost)],
            currency=currency,
            tenant_id=tenant.id,
            description=description,
        )


def _supplier_of(sku_id: int) -> int:
    from app.catalog.models import Sku

    return db.session.get(Sku, sku_id).supplier_id or 0


def refund(
    tenant: TenantRef,
    ticket_no: str,
    amount_cents: int | None,
    *,
    fault: str,
    note: str = "",
    actor: audit.Actor,
):
    """Refund the buyer through the ordinary refund decision (executed at the gateway by a
    job once committed); with someone at fault, they also pay the others' lost shares."""
    if fault not in FAULTS:
        raise TicketRefused("fault", N_("Choose who bears the refund."))
    ticket, order = _open_ticket_and_order(ticket_no)
    try:
        decided = decide_refund(
            tenant,
            order,
            amount_cents=amount_cents,
            actor=f"{actor.kind}:{actor.email}",
            reason=f"ticket {ticket.ticket_no}",
        )
    except RefundError as refused:
        raise TicketRefused("amount", refused.message, **refused.params) from None
    if fault != "none":
        _compensate(tenant, ticket, order, decided.amount_cents, fault)
    _close(tenant, ticket, "refund", fault, note, actor)
    return decided


def lost_shares(paid_entries: list[tuple[str, int]], refunded: int, paid: int) -> dict[str, int]:
    """What each party gives back when `refunded` of `paid` is refunded in proportion: the
    store, platform and supplier lines of the payment (credits), as positive amounts."""
    shares: dict[str, int] = {}
    for code, amount in paid_entries:
        if amount < 0:
            shares[code] = shares.get(code, 0) + (-amount) * refunded // paid
    return shares


def _compensate(tenant, ticket, order: Order, refunded: int, fault: str) -> None:
    transaction = db.session.scalar(
        select(LedgerTransaction).where(
            LedgerTransaction.idempotency_key == paid_ledger_key(tenant.id, order.order_no)
        )
    )
    if transaction is None:
        return
    entries = [(entry.account.code, entry.amount_cents) for entry in transaction.entries]
    paid = sum(amount for _, amount in entries if amount > 0)
    payer_code = {
        "store": f"store:{tenant.id}:pending",
        "supplier": f"supplier:{_supplier_of(order.items[0].sku_id)}:payable",
        "platform": "platform:revenue",
    }[fault]
    credits = []
    for code, share in lost_shares(entries, refunded, paid).items():
        if code == payer_code or not share:
            continue
        party = Party.holding(code)
        credits.append((party.available if party else code, -share))
    if not credits:
        return
    key = f"ticket:{tenant.id}:{ticket.ticket_no}:compensation"
    description = f"{fault} bears the refund of ticket {ticket.ticket_no} (order {order.order_no})"
    payer = Party.holding(payer_code)
    if payer is not None:
        charge(key, "ticket_compensation", payer, credits, currency=order.currency,
               tenant_id=tenant.id, description=description)  # fmt: skip
    else:
        total = -sum(amount for _, amount in credits)
        post(key, "ticket_compensation", [(payer_code, total), *credits],
             currency=order.currency, tenant_id=tenant.id, description=description)  # fmt: skip
