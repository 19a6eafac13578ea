"""Starting payments and acting on confirmed ones: verify, lock, record, deliver, post — once.

handle_event() runs bound to the order's store. It locks the order row, checks the amount and
currency against what was asked, records the provider's transaction id (unique), moves the order
and delivers card keys, and posts the ledger transaction — all in one database transaction.
A repeated or concurrent notification finds the work done and returns without doing it again.
"""

from __future__ import annotations

import logging
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.billing.entitlements import entitlement
from app.catalog.models import Sku
from app.customers import balance, levels
from app.customers import referral as customer_referral
from app.db import utcnow
from app.extensions import db
from app.fulfilment.services import queue_topups
from app.inventory import services as inventory
from app.ledger import holds
from app.ledger.parties import store as store_party
from app.ledger.services import order_paid_entries, post
from app.observability.metrics import PAYMENTS
from app.orders.models import Order, OrderEvent
from app.orders.services import email_delivery, order_ref, transition
from app.payments.models import Payment
from app.payments.providers import (
    CallbackEvent,
    InvalidCallback,
    Notification,
    PaymentRequest,
    ProviderError,
    ProviderUnavailable,
)
from app.payments.refunds import (
    open_refund,
    order_ledger_reference,
    paid_ledger_key,
    schedule_refund,
    unmatched_ledger_key,
)
from app.referrals import services as referrals
from app.risk.engine import ALLOW
from app.risk.reviews import hold_for_review
from app.risk.services import check_payment
from app.web.urls import platform_url
from tenants.context import TenantRef

log = logging.getLogger(__name__)


def start_payment(
    tenant: TenantRef,
    order: Order,
    provider_name: str,
    *,
    return_url: str,
    client_ip: str = "",
    mobile: bool = False,
) -> Payment:
    """Open a payment for an unpaid order at one of the providers this store offers; the
    returned payment says where to send the buyer (checkout_kind / checkout_payload)."""
    if order.status != "pending_payment":
        raise ProviderError("this order is not awaiting payment")
    return open_payment(
        tenant,
        provider_name,
        subject_no=order.order_no,
        amount_cents=order.total_cents,
        currency=order.currency,
        description=_description(order),
        return_url=return_url,
        client_ip=client_ip,
        mobile=mobile,
    )


def open_payment(
    tenant: TenantRef,
    provider_name: str,
    *,
    subject_no: str,
    amount_cents: int,
    currency: str,
    description: str,
    return_url: str,
    client_ip: str = "",
    mobile: bool = False,
) -> Payment:
    """A payment at a provider this store offers for what `subject_no` names (an order, or a
    customer's balance top-up). Commits."""
    from app.payments.config import load_provider

    if provider_name not in offered_providers(tenant):
        raise ProviderUnavailable(f"{provider_name} is not offered by this store")
    gateway = load_provider(provider_name)
    if currency not in gateway.currencies:
        raise ProviderUnavailable(f"{provider_name} does not take {currency}")
    payment = Payment(
        payment_no=f"P{subject_no}{secrets.token_hex(3).upper()}",
        tenant_id=tenant.id,
        order_no=subject_no,
        provider=provider_name,
        amount_cents=amount_cents,
        currency=currency,
    )
    checkout = gateway.create(
        PaymentRequest(
            payment_no=payment.payment_no,
            amount_cents=payment.amount_cents,
            currency=payment.currency,
            description=description,
            return_url=return_url,
            notify_url=platform_url(f"/payments/callback/{provider_name}"),
            client_ip=client_ip,
            mobile=mobile,
        )
    )
    payment.checkout_kind, payment.checkout_payload = checkout.kind, checkout.payload
    db.session.add(payment)
    db.session.commit()
    return payment


def _description(order: Order) -> str:
    first = order.items[0]
    name = f"{first.product_name} {first.sku_name} x{first.quantity}"
    return f"{name} ({order.order_no})"[:120]


def offered_providers(tenant: TenantRef) -> list[str]:
    """The enabled providers this store offers, in the platform's order (store schema read)."""
    from app.merchant.models import StoreSettings
    from app.payments.config import enabled_providers

    enabled = enabled_providers()
    settings = db.session.get(StoreSettings, 1)
    chosen = (settings.payment_providers if settings else None) or []
    return [name for name in enabled if not chosen or name in chosen]


def handle_event(tenant: TenantRef, provider_name: str, event: CallbackEvent) -> str:
    """Apply a verified notification; returns what happened (for logs and tests)."""
    payment = db.session.scalar(
        select(Payment).where(Payment.payment_no == event.payment_no).with_for_update()
    )
    if payment is None or payment.tenant_id != tenant.id or payment.provider != provider_name:
        raise InvalidCallback("unknown payment")
    if (event.amount_cents, event.currency) != (payment.amount_cents, payment.currency):
        raise InvalidCallback("amount or currency does not match the payment")
    if balance.is_topup_no(payment.order_no):
        return balance.credit_topup(tenant, payment, event)
    order = db.session.scalar(
        select(Order).where(Order.order_no == payment.order_no).with_for_update()
    )
    if order is None:
        raise InvalidCallback("the payment's order is not in this store")
    if payment.status not in ("pending", "failed"):
        db.session.rollback()
        return "duplicate"
    if not event.succeeded:
        payment.status = "failed"
        db.session.commit()
        return "declined"
    payment.status, payment.succeeded_at = "succeeded", utcnow()
    payment.provider_txn_id = f"{provider_name}:{event.provider_txn_id}"[:80]
    # Stock the storefront shows moves only if a late payment re-reserves keys (reserved → sold
    # does not change what is available).
    stock_moved = order.status == "expired"
    if order.status in ("pending_payment", "expired"):
        outcome = settle_order_payment(tenant, order, payment)
    else:
        outcome = _refund_surplus_payment(tenant, order, payment)
    try:
        db.session.commit()
    except IntegrityError:  # the gateway transaction id was already used by another payment
        db.session.rollback()
        raise InvalidCallback("transaction id already recorded for another payment") from None
    for item in order.items:
        if stock_moved and item.delivery_type == "card_key":
            inventory.after_stock_change(item.sku_id)
    if outcome == "delivered":
        email_delivery(tenant, order.order_no)
    return outcome


def settle_order_payment(
    tenant: TenantRef, order: Order, payment: Payment, *, refresh_level: bool = True
) -> str:
    """The money is in (a gateway's, or the customer's balance): record it, check the risk
    rules again, then deliver what can be delivered right now (or hold the order for review).
    Runs on the locked order in the caller's transaction. A caller paying many orders of one
    customer at once (a batch) passes `refresh_level=False` and refreshes the level once."""
    ref = order_ref(tenant.id, order.order_no)
    order.payment_no, order.payment_provider = payment.payment_no, payment.provider
    if order.status == "expired":
        # Paid after the window closed: deliver if stock can still be had, else refund.
        try:
            for item in order.items:
                if item.delivery_type == "card_key":
                    inventory.reserve_keys(item.sku_id, item.quantity, ref, None)
        except inventory.InventoryError:
            transition(order, "paid", note=f"late payment {payment.payment_no}")
            order.paid_at = utcnow()
            _post_paid(tenant, order, payment)
            transition(order, "refunded", note="sold out after the payment window; refunded")
            schedule_refund(
                open_refund(payment, payment.amount_cents, actor="system", reason="sold out")
            )
            return "refunded"
    if order.coupon_code:  # not for a late payment refunded above: its use stays released
        from app.coupons.services import redeem

        redeem(order.order_no)
    transition(order, "paid", note=f"payment {payment.payment_no}")
    order.paid_at = utcnow()
    _post_paid(tenant, order, payment)
    if refresh_level:
        levels.refresh_spend(order.customer_id)
    assessment = check_payment(tenant.id, order)
    if assessment.outcome != ALLOW:
        hold_for_review(tenant, order, assessment)  # the keys stay reserved for the order
        return "review"
    return deliver_paid(tenant, order)


def deliver_paid(tenant: TenantRef, order: Order) -> str:
    """Deliver a paid order (or one released from review) as far as can be done right now:
    card keys at once, top-ups queued for the workers, manual items to the store's queue."""
    ref = order_ref(tenant.id, order.order_no)
    if all(item.delivery_type == "card_key" for item in order.items):
        inventory.sell_keys(ref)
        transition(order, "delivered", note="card keys delivered")
        order.delivered_at = utcnow()
        return "delivered"
    if any(item.delivery_type == "direct_topup" for item in order.items):
        queue_topups(tenant, order)  # the order moves to fulfilling; workers take it from here
        return "fulfilling"
    if order.status == "review":
        transition(order, "paid", note="released from review")
    return "paid"  # manual items: the store's delivery queue


def _refund_surplus_payment(tenant: TenantRef, order: Order, payment: Payment) -> str:
    """A second payment for an order already paid (or cancelled): hold it, refund it whole."""
    post(
        unmatched_ledger_key(payment.payment_no),
        "payment_unmatched",
        [(f"clearing:{payment.provider}", payment.amount_cents),
         ("platform:refunds_due", -payment.amount_cents)],
        currency=payment.currency,
        tenant_id=tenant.id,
        description=f"payment {payment.payment_no} for order {order.order_no} ({order.status})",
    )  # fmt: skip
    order.events.append(
        OrderEvent(
            from_status=order.status,
            to_status=order.status,
            note=f"extra payment {payment.payment_no} received; refunding it",
        )
    )
    schedule_refund(
        open_refund(payment, payment.amount_cents, actor="system", reason="order already settled")
    )
    return "refunded"


def _paid_entries(tenant: TenantRef, order: Order, payment: Payment) -> dict[str, int]:
    """How the payment of `order` splits, by ledger account (what _post_paid posts)."""
    entries: dict[str, int] = {}
    for item in order.items:
        sku = db.session.get(Sku, item.sku_id)
        for code, amount in order_paid_entries(
            tenant_id=tenant.id,
            source=balance.payment_source(tenant.id, order.customer_id, payment),
            supplier_id=sku.supplier_id or 0,
            # What was paid for the line: a coupon comes out of the store's markup only.
            retail_cents=item.paid_for(item.quantity),
            wholesale_cents=item.unit_wholesale_cents * item.quantity,
            cost_cents=item.unit_cost_cents * item.quantity,
        ):
            entries[code] = entries.get(code, 0) + amount
    for code, amount in store_share_entries(tenant, entries):
        entries[code] = entries.get(code, 0) + amount
    # The inviting customer's commission comes out of what is left of the store's profit.
    for code, amount in customer_referral.commission_entries(
        tenant.id,
        order.customer_id,
        order.total_cents,
        store_share_cents=-entries.get(store_party(tenant.id).pending, 0),
    ):
        entries[code] = entries.get(code, 0) + amount
    return entries


def paid_accounts(tenant: TenantRef, order: Order, payment: Payment) -> set[str]:
    """Every ledger account that posting the payment of `order` locks, so a caller paying
    several orders in one transaction can lock them all first, in the ledger's order."""
    entries = _paid_entries(tenant, order, payment)
    reference = order_ledger_reference(tenant.id, order.order_no)
    return set(entries) | holds.routing_targets(entries.items(), reference)


def _post_paid(tenant: TenantRef, order: Order, payment: Payment):
    transaction, _ = post(
        paid_ledger_key(tenant.id, order.order_no),
        "order_paid",
        _paid_entries(tenant, order, payment).items(),
        currency=order.currency,
        tenant_id=tenant.id,
        description=f"payment {payment.payment_no}",
        reference=order_ledger_reference(tenant.id, order.order_no),
    )
    return transaction


def store_share_entries(tenant: TenantRef, entries: dict[str, int]) -> list[tuple[str, int]]:
    """On top of the basic split: the platform fee of the store's plan (basis points of the
    store's profit) and the commissions of the stores that referred this one."""
    pending = store_party(tenant.id).pending
    profit = -entries.get(pending, 0)
    fee = profit * int(entitlement(tenant, "platform_fee_bps") or 0) // 10000 if profit > 0 else 0
    lines = [(pending, fee), ("platform:revenue", -fee)] if fee else []
    return lines + referrals.commission_entries(
        tenant.id,
        store_share_cents=profit - fee,
        platform_share_cents=-entries.get("platform:revenue", 0) + fee,
    )


def delivered_keys(tenant: TenantRef, order: Order) -> list[tuple[str, str]]:
    """The order's card keys in clear, for its buyer only (callers log the reveal)."""
    from app.inventory.models import CardKey

    keys = db.session.scalars(
        select(CardKey)
        .where(CardKey.order_ref == order_ref(tenant.id, order.order_no), CardKey.status == "sold")
        .order_by(CardKey.id)
    ).all()
    return [inventory.reveal(key) for key in keys]


def payment_store(payment_no: str) -> TenantRef | None:
    """The store a payment belongs to, read without touching the request's session (which must
    stay free to be bound to that store)."""
    from tenants.engines import registry
    from tenants.resolver import tenant_by_id

    with registry().platform().connect() as conn:
        tenant_id = conn.execute(
            select(Payment.tenant_id).where(Payment.payment_no == payment_no)
        ).scalar()
    return tenant_by_id(tenant_id) if tenant_id is not None else None


def process_notification(
    provider_name: str, notification: Notification
) -> tuple[str, TenantRef | None]:
    """Verify a provider's notification and apply it in its store. Raises InvalidCallback."""
    from app.payments.config import load_provider
    from tenants.context import tenant_context

    try:
        gateway = load_provider(provider_name, require_enabled=False)
    except ProviderUnavailable as error:
        raise InvalidCallback(str(error)) from None
    event = gateway.verify_callback(notification)
    if event is None:
        return "ignored", None
    db.session.remove()  # reading the provider's settings used the platform; now the store
    tenant = payment_store(event.payment_no)
    if tenant is None:
        raise InvalidCallback("unknown payment")
    with tenant_context(tenant):
        try:
            outcome = handle_event(tenant, provider_name, event)
        except Exception:
            db.session.rollback()
            raise
        finally:
            db.session.remove()
    log.info("payment %s: %s", event.payment_no, outcome)
    PAYMENTS.labels(provider_name, outcome).inc()
    return outcome, tenant
