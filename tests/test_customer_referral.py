"""Customer referral: invite links remembered until sign-up, commissions out of the store's
profit into the referrer's balance, exact, reversed in proportion on refund, and no
self-referral or circles."""

import pytest
from sqlalchemy import select

from app.customers import referral
from app.customers.models import Customer
from app.extensions import db
from app.ledger.parties import store as store_party
from app.ledger.services import verify
from app.orders.models import Order
from app.payments.config import load_provider
from app.payments.models import Payment
from app.payments.services import start_payment
from tenants.context import tenant_context
from tests.support.customer_money import (
    balance_of,
    customer_order,
    new_customer,
    notify,
    pay_by_balance,
)
from tests.support.money import card_sku, owed_to, refund, with_markup
from tests.test_customers import new_email, register, shop

PROFIT = 200  # 12.00 retail on 10.00 wholesale


def set_rate(app, store, bp):
    with app.app_context(), tenant_context(store):
        referral.set_referral_bp(bp)
        db.session.commit()


def paid_by_gateway(app, store, sku, customer_id, quantity=1) -> str:
    order_no, _ = customer_order(app, store, sku, customer_id, quantity)
    with app.app_context(), tenant_context(store):
        order = db.session.scalar(select(Order).where(Order.order_no == order_no))
        payment_no = start_payment(store, order, "sandbox", return_url="http://x/").payment_no
    with app.app_context():
        payment = db.session.scalar(select(Payment).where(Payment.payment_no == payment_no))
        params = load_provider("sandbox").notification(payment, approve=True, txn_id=payment_no)
    assert notify(app, params) == "delivered"
    return order_no


def test_the_referrer_earns_the_store_set_share_of_an_invitees_paid_order(app, make_store):
    store = with_markup(app, make_store())
    set_rate(app, store, 500)  # 5 %
    referrer = new_customer(app, store)
    invitee = new_customer(app, store, referrer_id=referrer)
    pending_before = owed_to(app, store_party(store.id))["pending"]
    paid_by_gateway(app, store, card_sku(app), invitee, quantity=2)  # 24.00
    assert balance_of(app, store, referrer) == 120  # 5 % of 24.00, exactly
    store_gain = owed_to(app, store_party(store.id))["pending"] - pending_before
    assert store_gain == 2 * PROFIT - 120 - (2 * PROFIT) // 100  # less commission, less plan fee
    assert balance_of(app, store, invitee) == 0
    with app.app_context():
        assert verify() == []


def test_the_commission_never_exceeds_the_stores_profit(app, make_store):
    store = with_markup(app, make_store())
    set_rate(app, store, 3000)  # 30 % of 12.00 = 3.60, but the store only makes 2.00
    referrer = new_customer(app, store)
    invitee = new_customer(app, store, referrer_id=referrer)
    paid_by_gateway(app, store, card_sku(app), invitee)
    store_share = PROFIT - PROFIT // 100
    assert balance_of(app, store, referrer) == store_share
    assert owed_to(app, store_party(store.id))["pending"] == 0


def test_no_commission_when_off_for_guests_or_uninvited_customers(app, make_store):
    store = with_markup(app, make_store())
    referrer = new_customer(app, store)
    invitee = new_customer(app, store, referrer_id=referrer)
    sku = card_sku(app)
    paid_by_gateway(app, store, sku, invitee)  # rate 0: off
    set_rate(app, store, 1000)
    paid_by_gateway(app, store, sku, new_customer(app, store))  # not invited
    assert balance_of(app, store, referrer) == 0


def test_a_refund_reverses_the_commission_in_proportion(app, make_store):
    store = with_markup(app, make_store())
    set_rate(app, store, 1000)  # 10 %
    referrer = new_customer(app, store)
    invitee = new_customer(app, store, referrer_id=referrer)
    order_no = paid_by_gateway(app, store, card_sku(app), invitee, quantity=2)  # 24.00 → 2.40
    assert balance_of(app, store, referrer) == 240
    assert refund(app, store, order_no, amount=600) == "succeeded"  # a quarter
    assert balance_of(app, store, referrer) == 180
    assert refund(app, store, order_no) == "succeeded"
    assert balance_of(app, store, referrer) == 0
    assert owed_to(app, store_party(store.id))["pending"] == 0
    with app.app_context():
        assert verify() == []


def test_a_refund_never_takes_the_referrers_balance_below_zero(app, make_store):
    store = with_markup(app, make_store())
    set_rate(app, store, 3000)
    referrer = new_customer(app, store)
    invitee = new_customer(app, store, referrer_id=referrer)
    sku = card_sku(app, wholesale=100, cost=50)  # a 1.20 key the commission can buy
    big = paid_by_gateway(app, store, card_sku(app), invitee, quantity=5)  # commission: 9.90
    earned = balance_of(app, store, referrer)
    assert earned == 5 * PROFIT - (5 * PROFIT) // 100
    spend_no, spend_total = customer_order(app, store, sku, referrer, quantity=8)  # 9.60
    pay_by_balance(app, store, spend_no, referrer)
    left = earned - spend_total
    assert refund(app, store, big) == "succeeded"
    assert balance_of(app, store, referrer) == 0  # took what was left, not more
    assert left > 0
    with app.app_context():
        assert verify() == []


def test_self_referral_and_circles_are_refused(app, make_store):
    store = make_store()
    a = new_customer(app, store)
    b = new_customer(app, store, referrer_id=a)
    c = new_customer(app, store, referrer_id=b)
    with app.app_context(), tenant_context(store):
        first, last = db.session.get(Customer, a), db.session.get(Customer, c)
        with pytest.raises(referral.ReferralError):
            referral.set_referrer(first, first)
        with pytest.raises(referral.ReferralError):
            referral.set_referrer(first, last)  # a ← b ← c ← a
        db.session.rollback()
        assert db.session.get(Customer, a).referrer_id is None


def test_an_invite_link_is_remembered_until_sign_up(app, make_store, site):
    store = make_store()
    referrer = new_customer(app, store)
    with app.app_context(), tenant_context(store):
        code = referral.invite_code(db.session.get(Customer, referrer))
        db.session.commit()
    visitor = shop(site, store)
    assert visitor.get(f"/?ref={code}").status_code == 200
    email = new_email("invited")
    assert register(visitor, email).status_code == 302
    stranger = shop(site, store)
    stranger.get("/?ref=NOSUCHCODE")
    other = new_email("uninvited")
    assert register(stranger, other).status_code == 302
    with app.app_context(), tenant_context(store):
        invited = db.session.scalar(select(Customer).where(Customer.email == email))
        assert invited.referrer_id == referrer
        assert (
            db.session.scalar(select(Customer).where(Customer.email == other)).referrer_id is None
        )


def test_the_account_page_shows_the_invite_link(app, make_store, site):
    from tests.support.customer_money import customer_email
    from tests.test_customers import login, text

    store = make_store()
    customer = new_customer(app, store)
    visitor = shop(site, store)
    login(visitor, customer_email(app, store, customer))
    html = text(visitor.get("/account/balance"))
    with app.app_context(), tenant_context(store):
        code = db.session.get(Customer, customer).invite_code
    assert code and f"/account/register?ref={code}" in html
