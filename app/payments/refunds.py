"""Refunds: decided in the order's transaction, executed at the gateway, then booked.

request_refund() is the decision: it moves the order (refunded / partially_refunded) and opens a
Refund row in one transaction, so an order is never both delivered-and-kept and refunded.
execute_refund() then asks the gateway, idempotent on refund_no, and only when the gateway says
yes posts the ledger reversal and marks the payment. A gateway failure leaves the refund `failed`
with the error, to be retried (same refund_no: never paid out twice).
"""

from __future__ import annotations

import logging
import secrets

from sqlalchemy import select

from app.customers import levels
from app.customers.balance import BALANCE, source_in, spare_referrer_balances
from app.db import utcnow
from app.extensions import db
from app.i18n import N_
from app.ledger.models import LedgerTransaction
from app.ledger.services import post
from app.orders.models import Order
from app.orders.services import transition
from app.payments.models import Payment, Refund
from app.payments.providers import (
    ProviderError,
    ProviderUnavailable,
    RefundRequest,
    RefundResult,
)
from tenants.context import TenantRef

log = logging.getLogger(__name__)

REFUNDABLE = frozenset(
    {"paid", "review", "fulfilling", "delivered", "failed", "partially_refunded"}
)
PARTIALLY_REFUNDABLE = frozenset({"fulfilling", "delivered", "partially_refunded"})


class RefundError(ValueError):
    def __init__(self, message: str, **params):
        super().__init__(message)
        self.message = message
        self.params = params


def paid_ledger_key(tenant_id: int, order_no: str) -> str:
    return f"order:{tenant_id}:{order_no}:paid"


def order_ledger_reference(tenant_id: int, order_no: str) -> str:
    """What an order's ledger transactions (payment, refunds) are held and settled under."""
    return f"order:{tenant_id}:{order_no}"


def unmatched_ledger_key(payment_no: str) -> str:
    """A payment for an order that was already paid: held until it is refunded in full."""
    return f"payment:{payment_no}:unmatched"


def refundable_cents(payment: Payment) -> int:
    return payment.amount_cents - sum(r.amount_cents for r in payment.refunds)


def open_refund(payment: Payment, amount_cents: int, *, actor: str, reason: str) -> Refund:
    """A pending refund for `payment` (caller commits, then enqueues or runs execute_refund)."""
    refund = Refund(
        refund_no=f"R{payment.payment_no[1:21]}{secrets.token_hex(3).upper()}",
        payment=payment,
        tenant_id=payment.tenant_id,
        order_no=payment.order_no,
        amount_cents=amount_cents,
        status="pending",
        actor=actor,
        reason=reason,
    )
    db.session.add(refund)
    return refund


def order_payment(order: Order, *, lock: bool = False) -> Payment | None:
    """The payment that paid this order."""
    if not order.payment_no:
        return None
    query = select(Payment).where(Payment.payment_no == order.payment_no)
    return db.session.scalar(query.with_for_update() if lock else query)


def request_refund(
    tenant: TenantRef,
    order_no: str,
    *,
    amount_cents: int | None = None,
    actor: str,
    reason: str,
) -> Refund:
    """Decide a refund of a paid order (the whole remaining amount unless given). Commits."""
    order = db.session.scalar(select(Order).where(Order.order_no == order_no).with_for_update())
    if order is None:
        raise RefundError(N_("No such order."))
    refund = decide_refund(tenant, order, amount_cents=amount_cents, actor=actor, reason=reason)
    db.session.commit()
    return refund


def decide_refund(
    tenant: TenantRef, order: Order, *, amount_cents: int | None = None, actor: str, reason: str
) -> Refund:
    """The decision on a locked order, in the caller's transaction: check what may be refunded,
    move the order to refunded / partially_refunded, open the Refund (caller commits)."""
    if order.status not in REFUNDABLE:
        raise RefundError(N_("This order cannot be refunded in its current state."))
    payment = order_payment(order, lock=True)
    if payment is None or payment.tenant_id != tenant.id:
        raise RefundError(N_("This order has no payment to refund."))
    remaining = refundable_cents(payment)
    amount = remaining if amount_cents is None else amount_cents
    if not 0 < amount <= remaining:
        raise RefundError(N_("Refund between 0.01 and %(max)s."), max=remaining)
    full = amount == remaining
    if not full and order.status not in PARTIALLY_REFUNDABLE:
        raise RefundError(N_("Only delivered orders can be refunded in part."))
    transition(
        order,
        "refunded" if full else "partially_refunded",
        actor=actor,
        note=f"refund {amount / 100:.2f} {order.currency}: {reason}".strip(),
    )
    refund = open_refund(payment, amount, actor=actor, reason=reason)
    levels.refresh_spend(order.customer_id)
    return refund


def schedule_refund(refund: Refund) -> None:
    """Execute the refund in a job once the caller's transaction commits."""
    from workers.queue import enqueue

    enqueue(
        "workers.jobs.payments.execute_refund",
        refund.refund_no,
        job_key=f"refund:{refund.refund_no}",
    )


def execute_refund(refund_no: str) -> Refund:
    """Refund at the gateway and book it (shared tables only; safe to repeat)."""
    from app.payments.config import load_provider

    refund = db.session.scalar(select(Refund).where(Refund.refund_no == refund_no))
    if refund is None:
        raise LookupError(f"no refund {refund_no}")
    if refund.status == "succeeded":
        return refund
    payment = refund.payment
    request = RefundRequest(
        refund_no=refund.refund_no,
        payment_no=payment.payment_no,
        provider_txn_id=(payment.provider_txn_id or "").partition(":")[2],
        amount_cents=refund.amount_cents,
        payment_amount_cents=payment.amount_cents,
        currency=payment.currency,
        reason=refund.reason,
    )
    refund.attempts += 1
    db.session.commit()
    try:
        if payment.provider == BALANCE:  # back to the customer's balance: no gateway to ask
            result = RefundResult(provider_refund_id=f"{BALANCE}:{refund.refund_no}")
        else:
            result = load_provider(payment.provider, require_enabled=False).refund(request)
    except (ProviderError, ProviderUnavailable) as error:
        refund = db.session.scalar(
            select(Refund).where(Refund.refund_no == refund_no).with_for_update()
        )
        if refund.status != "succeeded":
            refund.status, refund.error = "failed", str(error)[:2000]
        db.session.commit()
        log.warning("refund %s failed at %s: %s", refund_no, payment.provider, error)
        return refund
    return _book(refund_no, result.provider_refund_id)


def _book(refund_no: str, provider_refund_id: str) -> Refund:
    payment_id = db.session.scalar(select(Refund.payment_id).where(Refund.refund_no == refund_no))
    payment = db.session.scalar(select(Payment).where(Payment.id == payment_id).with_for_update())
    refund = db.session.scalar(
        select(Refund).where(Refund.refund_no == refund_no).with_for_update()
    )
    if refund.status == "succeeded":
        db.session.rollback()
        return refund
    post(
        f"refund:{refund.refund_no}",
        "refund",
        _reversal(payment, refund),
        currency=payment.currency,
        tenant_id=payment.tenant_id,
        description=f"refund {refund.refund_no} of {payment.payment_no}",
        reference=order_ledger_reference(payment.tenant_id, payment.order_no),
    )
    refund.status, refund.error = "succeeded", ""
    refund.provider_refund_id = provider_refund_id[:80]
    refund.completed_at = utcnow()
    payment.refunded_cents += refund.amount_cents
    payment.status = (
        "refunded" if payment.refunded_cents >= payment.amount_cents else "partially_refunded"
    )
    db.session.commit()
    return refund


def _ledger_entries(key: str) -> list[tuple[str, int]]:
    transaction = db.session.scalar(
        select(LedgerTransaction).where(LedgerTransaction.idempotency_key == key)
    )
    if transaction is None:
        return []
    return [(entry.account.code, entry.amount_cents) for entry in transaction.entries]


def _reversal(payment: Payment, refund: Refund) -> list[tuple[str, int]]:
    """Entries that give `refund.amount_cents` back: the remaining share of the payment's
    transaction, in proportion (the store's pending profit takes the rounding)."""
    original = _ledger_entries(unmatched_ledger_key(payment.payment_no)) or _ledger_entries(
        paid_ledger_key(payment.tenant_id, payment.order_no)
    )
    remaining: dict[str, int] = {}
    for code, amount in original:
        remaining[code] = remaining.get(code, 0) + amount
    for earlier in payment.refunds:
        if earlier.status == "succeeded" and earlier.id != refund.id:
            for code, amount in _ledger_entries(f"refund:{earlier.refund_no}"):
                remaining[code] = remaining.get(code, 0) + amount
    clearing = source_in(payment, remaining)
    left = remaining.get(clearing, 0)
    absorber = f"store:{payment.tenant_id}:pending"
    if refund.amount_cents >= left:
        entries = {code: -amount for code, amount in remaining.items()}
    else:
        entries = {
            code: -(amount * refund.amount_cents // left) for code, amount in remaining.items()
        }
        entries[clearing] = -refund.amount_cents
        entries[absorber] = entries.get(absorber, 0) - sum(entries.values())
    entries = spare_referrer_balances(
        entries, source=clearing, absorber=absorber, currency=payment.currency
    )
    return [(code, amount) for code, amount in entries.items() if amount]
