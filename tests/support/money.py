"""Paid orders, settlement and verified parties for the money-flow tests."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from app.audit.services import Actor
from app.db import utcnow
from app.extensions import db
from app.kyc import services as kyc
from app.ledger.models import LedgerAccount
from app.ledger.parties import Party
from app.ledger.settlement import settle_due
from app.orders.models import Order
from app.orders.services import create_order
from app.payments.config import load_provider
from app.payments.models import Payment
from app.payments.providers import Notification
from app.payments.refunds import execute_refund, request_refund
from app.payments.services import process_notification, start_payment
from tenants.context import tenant_context
from tests.support.catalog import add_keys, make_product

REVIEWER = Actor("platform", 1, "reviewer@example.com")
# A valid mainland identity number (check character included) for test applicants.
ID_NUMBER = "11010519491231002X"


def with_markup(app, store, percent_bp=2000):
    """The store sells at wholesale + 20% (stores start at wholesale: no profit)."""
    from app.pricing.services import save_rule

    with app.app_context(), tenant_context(store):
        save_rule(store, "store", 0, "percent", percent_bp)
    return store


def card_sku(app, *, wholesale=1000, cost=800, keys=20) -> int:
    sku = make_product(app, skus=[(wholesale, cost)])["sku_ids"][0]
    add_keys(app, sku, [f"M-{uuid.uuid4().hex}" for _ in range(keys)])
    return sku


def paid_order(app, store, sku_id, quantity=1) -> tuple[str, int]:
    """An order paid through the sandbox provider; returns (order_no, total_cents)."""
    with app.app_context(), tenant_context(store):
        order = create_order(
            store,
            sku_id=sku_id,
            quantity=quantity,
            contact_email=f"b-{uuid.uuid4().hex[:8]}@example.com",
        )
        payment = start_payment(store, order, "sandbox", return_url="http://example.invalid/")
        order_no, payment_no, total = order.order_no, payment.payment_no, order.total_cents
    with app.app_context():
        payment = db.session.scalar(select(Payment).where(Payment.payment_no == payment_no))
        params = load_provider("sandbox").notification(payment, approve=True, txn_id=payment_no)
        db.session.remove()
        process_notification("sandbox", Notification("POST", {}, b"", params))
    return order_no, total


def refund(app, store, order_no, amount=None) -> str:
    with app.app_context(), tenant_context(store):
        refund_no = request_refund(
            store, order_no, amount_cents=amount, actor="test", reason="test"
        ).refund_no
    with app.app_context():
        return execute_refund(refund_no).status


def settle(app, *, days_ahead=2) -> int:
    with app.app_context():
        return settle_due(utcnow() + timedelta(days=days_ahead))


def balance(app, code) -> int:
    with app.app_context():
        return int(
            db.session.scalar(
                select(func.coalesce(func.sum(LedgerAccount.balance_cents), 0)).where(
                    LedgerAccount.code == code
                )
            )
        )


def owed_to(app, party: Party) -> dict[str, int]:
    """The party's four balances the right way round (owed: what it owes the platform)."""
    return {
        "pending": -balance(app, party.pending),
        "available": -balance(app, party.available),
        "withdrawing": -balance(app, party.withdrawing),
        "owed": balance(app, party.owed),
    }


def verified(app, party: Party) -> None:
    with app.app_context():
        application = kyc.Application("individual", "张三", ID_NUMBER)
        verification = kyc.submit(party.key, application, actor=Actor("store", 1, "o@x.test"))
        db.session.commit()
        kyc.review(verification.id, approve=True, actor=REVIEWER)
        db.session.commit()


def order_total(app, store, order_no) -> int:
    with app.app_context(), tenant_context(store):
        return db.session.scalar(select(Order.total_cents).where(Order.order_no == order_no))
