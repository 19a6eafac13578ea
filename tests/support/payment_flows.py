"""A card-key order paid through a real provider, and what an auditor checks afterwards."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

from sqlalchemy import func, select

from app.extensions import db
from app.inventory.services import stock_counts
from app.ledger.models import LedgerTransaction
from app.orders.models import Order
from app.orders.services import create_order
from app.payments.models import Payment, Refund
from app.payments.refunds import execute_refund, request_refund
from app.payments.services import start_payment
from tenants.context import tenant_context
from tests.support.catalog import add_keys, make_product


def unpaid_order(app, store) -> SimpleNamespace:
    """An unpaid order for one card key (the store holds two)."""
    item = make_product(app, skus=[(1000, 800)])
    sku_id = item["sku_ids"][0]
    add_keys(app, sku_id, [f"K-{uuid.uuid4().hex}" for _ in range(2)])
    with app.app_context(), tenant_context(store):
        order = create_order(store, sku_id=sku_id, quantity=1, contact_email="buyer@example.com")
        return SimpleNamespace(order_no=order.order_no, sku_id=sku_id)


def pay_with(app, store, order_no: str, provider: str) -> SimpleNamespace:
    """start_payment() as the checkout calls it; the payment as the buyer is sent on with."""
    with app.app_context(), tenant_context(store):
        order = db.session.scalar(select(Order).where(Order.order_no == order_no))
        payment = start_payment(store, order, provider, return_url="http://x/")
        return SimpleNamespace(
            payment_no=payment.payment_no,
            amount_cents=payment.amount_cents,
            currency=payment.currency,
            checkout_kind=payment.checkout_kind,
            checkout_payload=payment.checkout_payload,
        )


def state(app, store, order) -> dict:
    """Everything a callback could change: order, payments, keys sold, ledger transactions."""
    with app.app_context(), tenant_context(store):
        status = db.session.scalar(select(Order.status).where(Order.order_no == order.order_no))
    with app.app_context():
        payments = db.session.execute(
            select(Payment.payment_no, Payment.status, Payment.provider_txn_id)
            .where(Payment.order_no == order.order_no, Payment.tenant_id == store.id)
            .order_by(Payment.id)
        ).all()
        paid_transactions = db.session.scalar(
            select(func.count())
            .select_from(LedgerTransaction)
            .where(LedgerTransaction.idempotency_key.like(f"order:{store.id}:{order.order_no}:%"))
        )
        return {
            "order": status,
            "payments": [tuple(p) for p in payments],
            "sold": stock_counts([order.sku_id])[order.sku_id]["sold"],
            "paid_transactions": paid_transactions,
        }


def refund_whole_order(app, store, order_no: str) -> str:
    """The merchant refunds the order (the decision); returns the refund_no to execute."""
    with app.app_context(), tenant_context(store):
        return request_refund(store, order_no, actor="test", reason="x").refund_no


def execute(app, refund_no: str) -> SimpleNamespace:
    """Run the refund at the gateway (as the job does) and read back what was recorded."""
    with app.app_context():
        execute_refund(refund_no)
        db.session.remove()
        refund = db.session.scalar(select(Refund).where(Refund.refund_no == refund_no))
        return SimpleNamespace(
            status=refund.status,
            error=refund.error,
            provider_refund_id=refund.provider_refund_id,
            payment_status=refund.payment.status,
        )
