"""Store customers with money: sign-ups, balance top-ups through the sandbox, orders."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.customers import balance
from app.customers.models import Customer
from app.customers.services import register_customer
from app.extensions import db
from app.orders.models import Order
from app.orders.services import create_order
from app.payments.config import load_provider
from app.payments.models import Payment
from app.payments.providers import Notification
from app.payments.services import process_notification
from tenants.context import tenant_context

PASSWORD = "shop-pass-1"


def new_customer(app, store, *, referrer_id: int | None = None) -> int:
    with app.app_context(), tenant_context(store):
        customer = register_customer(
            email=f"c-{uuid.uuid4().hex[:8]}@example.com", password=PASSWORD
        )
        if referrer_id is not None:
            from app.customers.referral import set_referrer

            set_referrer(customer, db.session.get(Customer, referrer_id))
            db.session.commit()
        return customer.id


def customer_email(app, store, customer_id: int) -> str:
    with app.app_context(), tenant_context(store):
        return db.session.get(Customer, customer_id).email


def start_topup(app, store, customer_id: int, amount_cents: int) -> tuple[str, dict]:
    """A top-up through the sandbox: (topup_no, the signed approval the gateway would send)."""
    with app.app_context(), tenant_context(store):
        customer = db.session.get(Customer, customer_id)
        topup, payment = balance.start_topup(
            store, customer, amount_cents, "sandbox", return_url="http://example.invalid/"
        )
        topup_no, payment_no = topup.topup_no, payment.payment_no
    with app.app_context():
        payment = db.session.scalar(select(Payment).where(Payment.payment_no == payment_no))
        params = load_provider("sandbox").notification(payment, approve=True, txn_id=payment_no)
    return topup_no, params


def notify(app, params: dict) -> str:
    with app.app_context():
        return process_notification("sandbox", Notification("POST", {}, b"", params))[0]


def topped_up(app, store, customer_id: int, amount_cents: int) -> str:
    topup_no, params = start_topup(app, store, customer_id, amount_cents)
    assert notify(app, params) == "credited"
    return topup_no


def balance_of(app, store, customer_id: int) -> int:
    with app.app_context():
        return balance.balance_cents(store.id, customer_id)


def customer_order(app, store, sku_id: int, customer_id: int, quantity: int = 1) -> tuple[str, int]:
    with app.app_context(), tenant_context(store):
        order = create_order(store, sku_id=sku_id, quantity=quantity, customer_id=customer_id)
        return order.order_no, order.total_cents


def pay_by_balance(app, store, order_no: str, customer_id: int) -> str:
    with app.app_context(), tenant_context(store):
        return balance.pay_with_balance(store, order_no, customer_id)


def order_status(app, store, order_no: str) -> str:
    with app.app_context(), tenant_context(store):
        return db.session.scalar(select(Order.status).where(Order.order_no == order_no))
