"""Privacy rules of a store: its policy settings, a customer's data export, deletion requests
and anonymisation, and the retention periods applied by a periodic job.

Anonymising a customer keeps every order (the books need them) but leaves nothing that names
the person: the account's e-mail, name, phone, password, tags, notes and invite codes; the
contacts, IP address, query password and top-up accounts of their orders; the contact of their
tickets and coupon uses; their address in the audit log and the key-access log. The ledger is
not touched. Every step by staff, by the customer or by the retention job is audited."""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update

from app.audit.services import SYSTEM, Actor, changes, record
from app.customers.models import Customer
from app.db import utcnow
from app.extensions import db
from app.i18n import N_
from app.masking import mask_contact
from app.orders.models import Order
from app.privacy.models import DeletionRequest, PrivacySettings
from tenants.context import TenantRef

SETTINGS_ROW_ID = 1
MAX_POLICY_LENGTH = 20_000
# (lowest, highest, default): contacts of unpaid orders, in days; inactive customers, in months.
UNPAID_CONTACT_DAYS = (1, 365, 30)
INACTIVE_CUSTOMER_MONTHS = (12, 120, 36)
# Orders that were never paid, whose contacts the retention period erases.
UNPAID_ENDED = ("expired", "cancelled")
# Orders not finished yet: a customer with one of these is not anonymised until it is.
IN_PROGRESS = ("pending_payment", "paid", "review", "fulfilling")
ANONYMOUS_DOMAIN = "anonymised.invalid"
RETENTION_BATCH = 500
EXPORT_FORMAT_VERSION = 1


class PrivacyError(ValueError):
    def __init__(self, field: str, message: str, **params):
        super().__init__(message)
        self.field = field
        self.message = message
        self.params = params


# -- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrivacyView:
    policy_html: str = ""
    unpaid_contact_days: int = UNPAID_CONTACT_DAYS[2]
    inactive_customer_months: int = INACTIVE_CUSTOMER_MONTHS[2]


def get_settings() -> PrivacyView:
    """The bound store's privacy settings (the defaults when it never saved any)."""
    row = db.session.get(PrivacySettings, SETTINGS_ROW_ID)
    if row is None:
        return PrivacyView()
    return PrivacyView(
        row.policy_html or "",
        _within(row.unpaid_contact_days, UNPAID_CONTACT_DAYS),
        _within(row.inactive_customer_months, INACTIVE_CUSTOMER_MONTHS),
    )


def sanitised(html: str) -> str:
    """Stored policy text is sanitised when saved; again when shown, in case the rules grew."""
    from app.theming.services import sanitise_html

    return sanitise_html(html or "")


def _within(value: int | None, bounds: tuple[int, int, int]) -> int:
    low, high, default = bounds
    return default if value is None else min(max(int(value), low), high)


def update_settings(
    *,
    policy_html: str,
    unpaid_contact_days: int,
    inactive_customer_months: int,
    actor: Actor,
    tenant_id: int,
) -> PrivacyView:
    """Save the store's policy text (sanitised like all rich text) and retention periods.
    Audited; caller commits."""
    from app.theming.services import sanitise_html

    policy_html = sanitise_html(policy_html or "")
    if len(policy_html) > MAX_POLICY_LENGTH:
        raise PrivacyError("policy_html", N_("At most %(limit)s characters."), limit=20000)
    for field, value, (low, high, _) in (
        ("unpaid_contact_days", unpaid_contact_days, UNPAID_CONTACT_DAYS),
        ("inactive_customer_months", inactive_customer_months, INACTIVE_CUSTOMER_MONTHS),
    ):
        if value is None or not low <= value <= high:
            raise PrivacyError(
                field, N_("Enter a number from %(low)s to %(high)s."), low=low, high=high
            )
    current = get_settings()
    row = db.session.get(PrivacySettings, SETTINGS_ROW_ID, with_for_update=True)
    if row is None:
        row = PrivacySettings(id=SETTINGS_ROW_ID)
        db.session.add(row)
    row.policy_html = policy_html
    row.unpaid_contact_days = unpaid_contact_days
    row.inactive_customer_months = inactive_customer_months
    saved = PrivacyView(policy_html, unpaid_contact_days, inactive_customer_months)
    before, after = changes(current.__dict__, saved.__dict__)
    if after:
        record(
            "privacy.settings_save",
            actor=actor,
            tenant_id=tenant_id,
            target="privacy_settings",
            before=before,
            after=after,
        )
    return saved


# -- the customer's data ----------------------------------------------------------------------


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def customer_data(tenant: TenantRef, customer: Customer) -> dict:
    """Everything the store keeps about the customer, as plain JSON-ready data: the profile,
    their orders, the balance statement and top-ups, their tickets with every message."""
    from app.customers import balance, levels
    from app.tickets.models import Ticket

    level = levels.customer_level(customer)
    orders = db.session.scalars(
        select(Order).where(Order.customer_id == customer.id).order_by(Order.id)
    ).all()
    tickets = db.session.scalars(
        select(Ticket).where(Ticket.customer_id == customer.id).order_by(Ticket.id)
    ).all()
    return {
        "format": EXPORT_FORMAT_VERSION,
        "store": {"name": tenant.name, "address": tenant.primary_host},
        "exported_at": utcnow().isoformat(),
        "profile": {
            "email": customer.email,
            "name": customer.name,
            "phone": customer.phone,
            "created_at": _iso(customer.created_at),
            "last_login_at": _iso(customer.last_login_at),
            "level": level.code,
            "paid_spend": f"{customer.paid_spend_cents / 100:.2f}",
            "invite_code": customer.invite_code,
            "invited_by_a_customer": customer.referrer_id is not None,
        },
        "orders": [
            {
                "order_no": order.order_no,
                "status": order.status,
                "created_at": _iso(order.created_at),
                "paid_at": _iso(order.paid_at),
                "delivered_at": _iso(order.delivered_at),
                "total": f"{order.total_cents / 100:.2f}",
                "currency": order.currency,
                "coupon_code": order.coupon_code,
                "payment_provider": order.payment_provider,
                "contact_email": order.contact_email,
                "contact_phone": order.contact_phone,
                "client_ip": order.client_ip,
                "items": [
                    {
                        "product": item.product_name,
                        "sku": item.sku_name,
                        "quantity": item.quantity,
                        "unit_price": f"{item.unit_price_cents / 100:.2f}",
                        "account_fields": item.account_fields or {},
                    }
                    for item in order.items
                ],
            }
            for order in orders
        ],
        "balance": {
            "balance": f"{balance.balance_cents(tenant.id, customer.id) / 100:.2f}",
            "statement": [
                {
                    "at": _iso(line.at),
                    "kind": line.kind,
                    "description": line.description,
                    "amount": f"{line.amount_cents / 100:.2f}",
                    "balance_after": f"{line.balance_cents / 100:.2f}",
                }
                for line in balance.statement(tenant.id, customer.id)
            ],
            "topups": [
                {
                    "topup_no": topup.topup_no,
                    "amount": f"{topup.amount_cents / 100:.2f}",
                    "currency": topup.currency,
                    "status": topup.status,
                    "created_at": _iso(topup.created_at),
                    "paid_at": _iso(topup.paid_at),
                }
                for topup in balance.topups_of(customer.id, limit=100_000)
            ],
        },
        "tickets": [
            {
                "ticket_no": ticket.ticket_no,
                "order_no": ticket.order_no,
                "subject": ticket.subject,
                "status": ticket.status,
                "contact": ticket.contact,
                "created_at": _iso(ticket.created_at),
                "messages": [
                    {
                        "from": message.author_kind,
                        "at": _iso(message.created_at),
                        "text": message.body,
                        "has_picture": bool(message.attachment),
                    }
                    for message in ticket.messages
                ],
            }
            for ticket in tickets
        ],
    }


def export_zip(tenant: TenantRef, customer: Customer, *, actor: Actor) -> bytes:
    """The customer's data as a ZIP of JSON files (one per part, and all of it in one);
    the download is audited (caller commits)."""
    data = customer_data(tenant, customer)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:

        def put(name: str, value) -> None:
            archive.writestr(name, json.dumps(value, ensure_ascii=False, indent=2))

        put("profile.json", data["profile"])
        put("orders.json", data["orders"])
        put("balance.json", data["balance"])
        put("tickets.json", data["tickets"])
        put("all.json", data)
    record(
        "privacy.exported",
        actor=actor,
        tenant_id=tenant.id,
        target=f"customer:{customer.id}",
        after={"orders": len(data["orders"]), "tickets": len(data["tickets"])},
    )
    return buffer.getvalue()


# -- deletion requests ------------------------------------------------------------------------


def open_request(customer_id: int) -> DeletionRequest | None:
    """The customer's deletion request still waiting for the store, if any."""
    return db.session.scalar(
        select(DeletionRequest)
        .where(DeletionRequest.customer_id == customer_id, DeletionRequest.status == "pending")
        .order_by(DeletionRequest.id.desc())
        .limit(1)
    )


def latest_request(customer_id: int) -> DeletionRequest | None:
    return db.session.scalar(
        select(DeletionRequest)
        .where(DeletionRequest.customer_id == customer_id)
        .order_by(DeletionRequest.id.desc())
        .limit(1)
    )


def pending_requests() -> list[tuple[DeletionRequest, Customer]]:
    return list(
        db.session.execute(
            select(DeletionRequest, Customer)
            .join(Customer, Customer.id == DeletionRequest.customer_id)
            .where(DeletionRequest.status == "pending")
            .order_by(DeletionRequest.requested_at)
        ).tuples()
    )


def decided_requests(limit: int = 50) -> list[tuple[DeletionRequest, Customer]]:
    return list(
        db.session.execute(
            select(DeletionRequest, Customer)
            .join(Customer, Customer.id == DeletionRequest.customer_id)
            .where(DeletionRequest.status != "pending")
            .order_by(DeletionRequest.decided_at.desc(), DeletionRequest.id.desc())
            .limit(limit)
        ).tuples()
    )


def request_deletion(
    tenant: TenantRef, customer: Customer, *, note: str, actor: Actor
) -> DeletionRequest:
    """The customer asks for their data to be deleted; the store decides. One request waits
    at a time (asking again returns it). Audited; caller commits."""
    existing = open_request(customer.id)
    if existing is not None:
        return existing
    request = DeletionRequest(
        customer_id=customer.id, source="account", status="pending", note=(note or "")[:2000]
    )
    db.session.add(request)
    db.session.flush()
    record(
        "privacy.deletion_requested",
        actor=actor,
        tenant_id=tenant.id,
        target=f"customer:{customer.id}",
        after={"request": request.id},
    )
    return request


def blockers(tenant: TenantRef, customer: Customer) -> list[tuple[str, dict]]:
    """Why the customer cannot be anonymised yet, as (message id, params): money left on the
    balance (it would be lost), orders not finished, tickets still open."""
    from app.customers.balance import balance_cents
    from app.money import format_money
    from app.tickets.models import CLOSED, Ticket

    found: list[tuple[str, dict]] = []
    left = balance_cents(tenant.id, customer.id)
    if left:
        found.append(
            (
                N_(
                    "The balance is %(amount)s: it must be spent, or paid back and adjusted "
                    "to zero, first."
                ),
                {"amount": format_money(left)},
            )
        )
    busy = db.session.scalar(
        select(func.count())
        .select_from(Order)
        .where(Order.customer_id == customer.id, Order.status.in_(IN_PROGRESS))
    )
    if busy:
        found.append((N_("%(count)s orders are not finished yet."), {"count": busy}))
    open_tickets = db.session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.customer_id == customer.id, Ticket.status.not_in(CLOSED))
    )
    if open_tickets:
        found.append((N_("%(count)s tickets are still open."), {"count": open_tickets}))
    return found


def _refuse_if_blocked(tenant: TenantRef, customer: Customer) -> None:
    if customer.anonymised_at is not None:
        raise PrivacyError("customer", N_("This customer's data was already deleted."))
    found = blockers(tenant, customer)
    if found:
        message, params = found[0]
        raise PrivacyError("customer", message, **params)


def approve(tenant: TenantRef, request_id: int, *, actor: Actor) -> DeletionRequest:
    """Carry out a waiting request: the customer is anonymised. Audited; caller commits."""
    request = _waiting(request_id)
    customer = db.session.get(Customer, request.customer_id, with_for_update=True)
    _refuse_if_blocked(tenant, customer)
    request.status, request.decided_at, request.decided_by = "completed", utcnow(), actor.email
    anonymise_customer(tenant, customer, actor=actor, source="account", request_id=request.id)
    return request


def reject(tenant: TenantRef, request_id: int, *, reason: str, actor: Actor) -> DeletionRequest:
    """Refuse a waiting request with a reason the customer sees (e.g. a dispute under way).
    Audited; caller commits."""
    reason = (reason or "").strip()
    if not reason:
        raise PrivacyError("reason", N_("Give the reason the customer will see."))
    request = _waiting(request_id)
    request.status, request.decided_at, request.decided_by = "rejected", utcnow(), actor.email
    request.reason = reason[:2000]
    record(
        "privacy.deletion_rejected",
        actor=actor,
        tenant_id=tenant.id,
        target=f"customer:{request.customer_id}",
        after={"request": request.id, "reason": request.reason},
    )
    return request


def _waiting(request_id: int) -> DeletionRequest:
    request = db.session.get(DeletionRequest, request_id, with_for_update=True)
    if request is None or request.status != "pending":
        raise PrivacyError("request", N_("This request was already settled."))
    return request


def anonymise_on_request_by_email(
    tenant: TenantRef, customer: Customer, *, reference: str, actor: Actor
) -> DeletionRequest:
    """Staff received the customer's request some other way (e-mail): record it with its
    reference and carry it out now. Audited; caller commits."""
    reference = (reference or "").strip()
    if not reference:
        raise PrivacyError(
            "reference", N_("Say which message asked for it (sender, date, subject).")
        )
    customer = db.session.get(Customer, customer.id, with_for_update=True)
    _refuse_if_blocked(tenant, customer)
    # A request the customer also made in their account is the same request, settled now.
    request = open_request(customer.id)
    if request is None:
        request = DeletionRequest(customer_id=customer.id, source="email", note=reference[:2000])
        db.session.add(request)
    request.status, request.decided_at, request.decided_by = "completed", utcnow(), actor.email
    db.session.flush()
    anonymise_customer(
        tenant, customer, actor=actor, source="email", request_id=request.id, reference=reference
    )
    return request


# -- anonymisation ----------------------------------------------------------------------------


def _masked_fields(fields: dict | None) -> dict:
    return {name: mask_contact(str(value)) for name, value in (fields or {}).items()}


def _erase_order_contacts(tenant: TenantRef, orders: list[Order]) -> None:
    """The orders stay, with their money and lines; who placed them is gone."""
    from app.coupons.models import CouponRedemption
    from app.inventory.models import KeyAccessLog

    if not orders:
        return
    emailed = [
        (f"email:{order.contact_email}", f"order {tenant.id}:{order.order_no} e-mailed")
        for order in orders
        if order.contact_email
    ]
    for actor, detail in emailed:
        db.session.execute(
            update(KeyAccessLog)
            .where(KeyAccessLog.actor == actor, KeyAccessLog.detail == detail)
            .values(actor="email:")
        )
    numbers = [order.order_no for order in orders]
    db.session.execute(
        update(CouponRedemption)
        .where(CouponRedemption.order_no.in_(numbers))
        .values(contact_email="", contact_phone="")
    )
    for order in orders:
        order.contact_email = ""
        order.contact_phone = ""
        order.client_ip = ""
        order.query_password_hash = None
        for item in order.items:
            if item.account_fields:
                item.account_fields = _masked_fields(item.account_fields)


def anonymise_customer(
    tenant: TenantRef,
    customer: Customer,
    *,
    actor: Actor,
    source: str,
    request_id: int | None = None,
    reference: str = "",
) -> dict:
    """Delete the customer's personal data, keeping their orders (anonymised) for the books.
    Returns what was changed (counts). Audited; caller commits. Callers check blockers()."""
    from werkzeug.security import generate_password_hash

    from app.api.models import ApiKey
    from app.audit.models import AuditEvent
    from app.tickets.models import Ticket, TicketMessage
    from app.webhooks.models import WebhookDelivery, WebhookEndpoint

    orders = db.session.scalars(select(Order).where(Order.customer_id == customer.id)).all()
    numbers = [order.order_no for order in orders]
    contacts = {customer.email, customer.phone} | {
        value for order in orders for value in (order.contact_email, order.contact_phone)
    }
    mine = Ticket.customer_id == customer.id
    tickets = db.session.scalars(
        select(Ticket).where(or_(mine, Ticket.order_no.in_(numbers)) if numbers else mine)
    ).all()
    for ticket in tickets:
        contacts.add(ticket.contact)
        ticket.contact = ""
    if tickets:
        db.session.execute(
            update(TicketMessage)
            .where(
                TicketMessage.ticket_id.in_([t.id for t in tickets]),
                TicketMessage.author_kind == "customer",
            )
            .values(author="")
        )
    _erase_order_contacts(tenant, orders)
    contacts.discard("")
    if contacts:
        # The buyer's own steps (tickets, data requests) were recorded under their contact and
        # address; the events stay (what happened, when), without who.
        db.session.execute(
            update(AuditEvent)
            .where(
                AuditEvent.tenant_id == tenant.id,
                AuditEvent.actor_kind == "customer",
                or_(AuditEvent.actor_email.in_(contacts), AuditEvent.actor_id == customer.id),
            )
            .values(actor_email="", ip="")
        )
    # Those they invited earn them nothing more: commissions to a closed account would be lost.
    db.session.execute(
        update(Customer).where(Customer.referrer_id == customer.id).values(referrer_id=None)
    )
    customer.email = f"anonymised-{customer.id}@{ANONYMOUS_DOMAIN}"
    customer.name = ""
    customer.phone = ""
    customer.tags = ""
    customer.notes = ""
    customer.invite_code = None
    customer.referrer_id = None
    # A password nobody knows, and the account closed: every signed-in session of the customer
    # ends at its next request (app.auth.accounts.load_account), reset links stop working.
    customer.password_hash = generate_password_hash(secrets.token_urlsafe(32))
    customer.is_active = False
    customer.anonymised_at = utcnow()
    # Their API keys stop working and their webhook goes (its URL may name them).
    keys = db.session.execute(
        update(ApiKey)
        .where(ApiKey.customer_id == customer.id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow(), name="")
    ).rowcount
    hooks = select(WebhookEndpoint.id).where(WebhookEndpoint.customer_id == customer.id)
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id.in_(hooks)))
    db.session.execute(delete(WebhookEndpoint).where(WebhookEndpoint.customer_id == customer.id))
    done = {"orders": len(orders), "tickets": len(tickets), "source": source, "api_keys": keys}
    if request_id is not None:
        done["request"] = request_id
    if reference:
        done["reference"] = reference[:200]
    record(
        "privacy.customer_anonymised",
        actor=actor,
        tenant_id=tenant.id,
        target=f"customer:{customer.id}",
        after=done,
    )
    return done


# -- retention --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionResult:
    orders_erased: int
    customers_anonymised: int
    customers_skipped: int


def erase_unpaid_contacts(tenant: TenantRef, now: datetime, days: int) -> int:
    """Contacts of orders never paid (expired, cancelled), placed more than `days` ago."""
    from sqlalchemy.orm import selectinload

    cutoff = now - timedelta(days=days)
    erased = 0
    while True:
        orders = db.session.scalars(
            select(Order)
            .options(selectinload(Order.items))
            .where(
                Order.status.in_(UNPAID_ENDED),
                Order.created_at < cutoff,
                or_(
                    Order.contact_email != "",
                    Order.contact_phone != "",
                    Order.client_ip != "",
                    Order.query_password_hash.is_not(None),
                ),
            )
            .order_by(Order.id)
            .limit(RETENTION_BATCH)
        ).all()
        if not orders:
            return erased
        _erase_order_contacts(tenant, orders)
        db.session.flush()
        erased += len(orders)


def inactive_customers(now: datetime, months: int, limit: int, after_id: int = 0) -> list[Customer]:
    """Customers not anonymised yet who have neither signed in nor ordered since the cutoff
    (a month counted as 30 days), by id after `after_id`."""
    cutoff = now - timedelta(days=30 * months)
    recent_order = (
        select(Order.id)
        .where(Order.customer_id == Customer.id, Order.created_at >= cutoff)
        .exists()
    )
    return list(
        db.session.scalars(
            select(Customer)
            .where(
                Customer.id > after_id,
                Customer.anonymised_at.is_(None),
                func.coalesce(Customer.last_login_at, Customer.created_at) < cutoff,
                ~recent_order,
            )
            .order_by(Customer.id)
            .limit(limit)
        )
    )


def apply_retention(tenant: TenantRef, now: datetime | None = None) -> RetentionResult:
    """The store's retention periods, applied once (safe to run again): contacts of old unpaid
    orders erased, long-inactive customers anonymised (unless money, orders or tickets of
    theirs are still open). Audited when anything changed; caller commits."""
    now = now or utcnow()
    policy = get_settings()
    erased = erase_unpaid_contacts(tenant, now, policy.unpaid_contact_days)
    anonymised = skipped = after_id = 0
    while batch := inactive_customers(
        now, policy.inactive_customer_months, RETENTION_BATCH, after_id
    ):
        for customer in batch:
            if blockers(tenant, customer):
                skipped += 1
                continue
            anonymise_customer(tenant, customer, actor=SYSTEM, source="retention")
            anonymised += 1
        after_id = batch[-1].id
        db.session.flush()
    if erased or anonymised:
        record(
            "privacy.retention_applied",
            actor=SYSTEM,
            tenant_id=tenant.id,
            target="privacy_settings",
            after={
                "orders_erased": erased,
                "customers_anonymised": anonymised,
                "unpaid_contact_days": policy.unpaid_contact_days,
                "inactive_customer_months": policy.inactive_customer_months,
            },
        )
    return RetentionResult(erased, anonymised, skipped)
