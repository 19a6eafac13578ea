"""A customer's balance: topped up once per payment, spent on orders atomically, refunded into,
never overdrawn, and always in a ledger that verifies."""

import random
import threading

import pytest
from sqlalchemy import func, select

from app.customers import balance
from app.customers.models import BalanceTopup, Customer
from app.extensions import db
from app.ledger.models import LedgerTransaction
from app.ledger.parties import store as store_party
from app.ledger.services import verify
from app.payments.models import Payment
from tenants.context import tenant_context
from tests.support.customer_money import (
    balance_of,
    customer_email,
    customer_order,
    new_customer,
    notify,
    order_status,
    pay_by_balance,
    start_topup,
    topped_up,
)
from tests.support.money import card_sku, owed_to, refund, settle, with_markup
from tests.test_customers import login, shop, text


def test_a_topup_is_credited_once_under_50_duplicate_callbacks(app, backend, make_store):
    store = make_store()
    customer = new_customer(app, store)
    topup_no, params = start_topup(app, store, customer, 5000)
    assert balance_of(app, store, customer) == 0  # nothing until the gateway says so
    outcomes = [notify(app, params) for _ in range(25)]
    if backend.is_postgres:  # and 25 more at the same moment
        barrier = threading.Barrier(25)

        def duplicate():
            barrier.wait()
            outcomes.append(notify(app, params))

        threads = [threading.Thread(target=duplicate) for _ in range(25)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        outcomes += [notify(app, params) for _ in range(25)]
    assert outcomes.count("credited") == 1
    assert outcomes.count("duplicate") == 49
    assert balance_of(app, store, customer) == 5000
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(LedgerTransaction)
                .where(LedgerTransaction.idempotency_key == f"topup:{store.id}:{topup_no}:paid")
            )
            == 1
        )
        assert verify() == []
    with app.app_context(), tenant_context(store):
        topup = db.session.scalar(select(BalanceTopup).where(BalanceTopup.topup_no == topup_no))
        assert (topup.status, topup.amount_cents) == ("paid", 5000)


def test_a_declined_topup_credits_nothing(app, make_store):
    store = make_store()
    customer = new_customer(app, store)
    topup_no, params = start_topup(app, store, customer, 3000)
    declined = dict(params, status="DECLINED")
    from app.payments.config import load_provider

    with app.app_context():
        declined["sign"] = load_provider("sandbox").sign(declined)
    assert notify(app, declined) == "declined"
    assert balance_of(app, store, customer) == 0


def test_topup_amounts_out_of_range_are_refused(app, make_store):
    store = make_store()
    customer = new_customer(app, store)
    with app.app_context(), tenant_context(store):
        from app.customers.models import Customer

        for cents in (0, 99, balance.MAX_TOPUP_CENTS + 1):
            with pytest.raises(balance.BalanceError):
                balance.start_topup(
                    store, db.session.get(Customer, customer), cents, "sandbox", return_url="/"
                )
        assert db.session.scalar(select(func.count()).select_from(BalanceTopup)) == 0


def figures(app):
    from app.ledger.statements import overview

    with app.app_context():
        return overview()


def test_an_order_paid_with_the_balance_is_delivered_and_booked(app, make_store):
    store = with_markup(app, make_store())  # wholesale 10.00 + 20% = 12.00
    customer = new_customer(app, store)
    before = figures(app)
    topped_up(app, store, customer, 3000)
    order_no, total = customer_order(app, store, card_sku(app), customer)
    assert total == 1200
    assert pay_by_balance(app, store, order_no, customer) == "delivered"
    after = figures(app)  # the platform's finance view: money received once, balances held
    assert after.gmv_cents - before.gmv_cents == 3000
    assert after.customer_balances_cents - before.customer_balances_cents == 1800
    assert balance_of(app, store, customer) == 1800
    assert order_status(app, store, order_no) == "delivered"
    assert 0 < owed_to(app, store_party(store.id))["pending"] <= 200  # less the plan's fee
    with app.app_context():
        payment = db.session.scalar(select(Payment).where(Payment.order_no == order_no))
        assert (payment.provider, payment.status) == ("balance", "succeeded")
        assert verify() == []
    # Paying again changes nothing.
    with pytest.raises(balance.BalanceError):
        pay_by_balance(app, store, order_no, customer)
    assert balance_of(app, store, customer) == 1800


def test_a_balance_that_does_not_cover_the_order_pays_nothing(app, make_store):
    store = with_markup(app, make_store())
    customer = new_customer(app, store)
    topped_up(app, store, customer, 1000)
    order_no, _ = customer_order(app, store, card_sku(app), customer)
    with pytest.raises(balance.BalanceError):
        pay_by_balance(app, store, order_no, customer)
    assert balance_of(app, store, customer) == 1000
    assert order_status(app, store, order_no) == "pending_payment"


def test_only_the_orders_customer_can_pay_it_with_their_balance(app, make_store):
    store = with_markup(app, make_store())
    owner, other = new_customer(app, store), new_customer(app, store)
    topped_up(app, store, other, 5000)
    order_no, _ = customer_order(app, store, card_sku(app), owner)
    with pytest.raises(balance.BalanceError):
        pay_by_balance(app, store, order_no, other)
    assert balance_of(app, store, other) == 5000
    assert order_status(app, store, order_no) == "pending_payment"


def race(calls):
    """Run the calls at the same moment; their results (or the BalanceError raised), in order."""
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except balance.BalanceError:
            results[index] = "refused"

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_orders_racing_on_one_balance_never_overdraw_it(app, backend, make_store):
    if not backend.is_postgres:
        pytest.skip("row locks are what this proves")
    store = with_markup(app, make_store())
    customer = new_customer(app, store)
    topped_up(app, store, customer, 3000)  # covers two 12.00 orders, not three
    sku = card_sku(app)
    orders = [customer_order(app, store, sku, customer)[0] for _ in range(6)]
    results = race([lambda no=no: pay_by_balance(app, store, no, customer) for no in orders])
    assert sorted(results) == ["delivered"] * 2 + ["refused"] * 4
    assert balance_of(app, store, customer) == 600
    with app.app_context(), tenant_context(store):  # both payments count towards the level
        assert db.session.get(Customer, customer).paid_spend_cents == 2400
    statuses = sorted(order_status(app, store, no) for no in orders)
    assert statuses == ["delivered"] * 2 + ["pending_payment"] * 4
    with app.app_context():
        assert verify() == []


def test_a_referrer_paying_with_balance_while_an_invitee_pays_never_deadlocks(
    app, backend, make_store
):
    if not backend.is_postgres:
        pytest.skip("lock order is what this proves")
    from app.customers.referral import set_referral_bp

    store = with_markup(app, make_store())
    with app.app_context(), tenant_context(store):
        set_referral_bp(1000)
        db.session.commit()
    referrer = new_customer(app, store)
    invitees = [new_customer(app, store, referrer_id=referrer) for _ in range(3)]
    sku = card_sku(app, keys=40)
    for invitee in invitees:
        topped_up(app, store, invitee, 5000)
    topped_up(app, store, referrer, 5000)
    calls = []
    for invitee in invitees:
        order_no, _ = customer_order(app, store, sku, invitee)
        calls.append(lambda no=order_no, who=invitee: pay_by_balance(app, store, no, who))
        own, _ = customer_order(app, store, sku, referrer)
        calls.append(lambda no=own: pay_by_balance(app, store, no, referrer))
    assert race(calls) == ["delivered"] * 6
    assert balance_of(app, store, referrer) == 5000 - 3 * 1200 + 3 * 120
    with app.app_context(), tenant_context(store):
        assert db.session.get(Customer, referrer).paid_spend_cents == 3 * 1200
    with app.app_context():
        assert verify() == []


def test_a_refund_of_a_balance_paid_order_goes_back_to_the_balance(app, make_store):
    store = with_markup(app, make_store())
    customer = new_customer(app, store)
    topped_up(app, store, customer, 3000)
    order_no, total = customer_order(app, store, card_sku(app), customer, quantity=2)
    pay_by_balance(app, store, order_no, customer)
    assert balance_of(app, store, customer) == 3000 - total
    assert refund(app, store, order_no, amount=500) == "succeeded"
    assert balance_of(app, store, customer) == 3000 - total + 500
    assert refund(app, store, order_no) == "succeeded"
    assert balance_of(app, store, customer) == 3000
    assert owed_to(app, store_party(store.id))["pending"] == 0
    with app.app_context():
        assert verify() == []


def test_the_ledger_verifies_after_a_random_sequence(app, make_store):
    store = with_markup(app, make_store())
    rng = random.Random(7)
    customers = [new_customer(app, store) for _ in range(3)]
    sku = card_sku(app, keys=40)
    paid = []
    for _ in range(18):
        customer = rng.choice(customers)
        action = rng.choice(["topup", "pay", "refund", "settle"])
        if action == "topup":
            topped_up(app, store, customer, rng.randint(1, 40) * 100)
        elif action == "pay":
            order_no, total = customer_order(app, store, sku, customer, rng.randint(1, 2))
            if balance_of(app, store, customer) >= total:
                pay_by_balance(app, store, order_no, customer)
                paid.append(order_no)
        elif action == "refund" and paid:
            refund(app, store, paid.pop(rng.randrange(len(paid))), amount=None)
        else:
            settle(app)
        assert all(balance_of(app, store, c) >= 0 for c in customers)
    with app.app_context():
        assert verify() == []


def test_the_account_page_shows_the_balance_and_its_statement(app, make_store, site):
    store = with_markup(app, make_store())
    customer = new_customer(app, store)
    topped_up(app, store, customer, 3000)
    order_no, total = customer_order(app, store, card_sku(app), customer)
    pay_by_balance(app, store, order_no, customer)
    visitor = shop(site, store)
    login(visitor, customer_email(app, store, customer))
    page = visitor.get("/account/balance")
    assert page.status_code == 200
    html = text(page)
    assert 'id="balance" data-cents="1800"' in html
    assert 'data-amount="-1200" data-balance="1800"' in html
    assert 'data-amount="3000" data-balance="3000"' in html
    assert 'data-cents="1800"' in text(visitor.get("/account"))
    assert visitor.get("/account/balance", base_url="http://x").status_code in (302, 404)


def test_a_signed_in_customer_tops_up_and_pays_at_checkout(app, make_store, site, apex):
    store = with_markup(app, make_store())
    customer = new_customer(app, store)
    visitor = shop(site, store)
    login(visitor, customer_email(app, store, customer))
    response = visitor.submit("/account/balance", {"amount": "20", "provider": "sandbox"})
    assert response.status_code == 302 and "/pay/sandbox/P" in response.location
    refused = visitor.submit("/account/balance", {"amount": "abc", "provider": "sandbox"})
    assert refused.status_code == 400
    # The sandbox gateway's page: approve, and back to the balance, credited.
    pay_path = response.location.split("kameng.test", 1)[1]
    approved = apex.submit(pay_path, {"decision": "approve"})
    assert approved.location == f"http://{store.slug}.kameng.test/account/balance"
    assert balance_of(app, store, customer) == 2000
    assert 'data-status="paid"' in text(visitor.get("/account/balance"))
    sku = card_sku(app)
    path = f"/checkout?sku={sku}&quantity=1"
    response = visitor.submit(path, {"provider": "balance"})
    assert response.status_code == 302
    assert balance_of(app, store, customer) == 800
    with app.app_context(), tenant_context(store):
        from app.orders.models import Order

        order = db.session.scalar(select(Order).where(Order.customer_id == customer))
        assert (order.status, order.payment_provider) == ("delivered", "balance")
    # Not enough left for a second one: refused on the form, nothing ordered.
    assert visitor.submit(path, {"provider": "balance"}).status_code == 400
    assert balance_of(app, store, customer) == 800


def test_an_unpaid_order_is_paid_with_the_balance_from_its_page(app, make_store, site):
    store = with_markup(app, make_store())
    customer = new_customer(app, store)
    topped_up(app, store, customer, 1500)
    order_no, _ = customer_order(app, store, card_sku(app), customer)
    visitor = shop(site, store)
    login(visitor, customer_email(app, store, customer))
    with app.test_request_context(), tenant_context(store):
        from app.storefront.access import order_token

        token = order_token(store, order_no)
    page = f"/order/{order_no}?t={token}"
    assert 'value="balance"' in text(visitor.get(page))
    response = visitor.submit(page, {"provider": "balance"}, f"/order/{order_no}/pay?t={token}")
    assert response.status_code == 302
    assert order_status(app, store, order_no) == "delivered"
    assert balance_of(app, store, customer) == 300
    # A guest holding the link cannot spend anyone's balance.
    other_order, _ = customer_order(app, store, card_sku(app), customer)
    with app.test_request_context(), tenant_context(store):
        token = order_token(store, other_order)
    guest = shop(site, store)
    page = f"/order/{other_order}?t={token}"
    response = guest.submit(page, {"provider": "balance"}, f"/order/{other_order}/pay?t={token}")
    assert response.status_code == 403
    assert order_status(app, store, other_order) == "pending_payment"


def test_a_topup_through_a_real_gateway_is_credited_once(app, make_store, site, apex, fake_epay):
    """易支付 on a real socket: the wire format's notification, sent again and again."""
    from urllib.parse import urlencode

    import requests

    from app.payments.config import configure

    with app.app_context():
        configure("epay", fake_epay.credentials(), enabled=True)
    try:
        store = make_store()
        customer = new_customer(app, store)
        visitor = shop(site, store)
        login(visitor, customer_email(app, store, customer))
        response = visitor.submit("/account/balance", {"amount": "88.80", "provider": "epay"})
        assert response.status_code == 302
        requests.get(response.location, timeout=10).raise_for_status()  # the buyer pays
        with app.app_context(), tenant_context(store):
            topup = db.session.scalar(
                select(BalanceTopup).where(BalanceTopup.customer_id == customer)
            )
            payment_no = topup.payment_no
        params = fake_epay.notification(payment_no)
        answers = [apex.get(f"/payments/callback/epay?{urlencode(params)}") for _ in range(50)]
        assert {(a.status_code, a.get_data(as_text=True)) for a in answers} == {(200, "success")}
        assert balance_of(app, store, customer) == 8880
        with app.app_context():
            assert verify() == []
    finally:
        with app.app_context():
            configure("epay", {}, enabled=False)


def test_staff_refund_a_balance_paid_order_from_the_back_office(app, make_store, site):
    store = with_markup(app, make_store())
    customer = new_customer(app, store)
    topped_up(app, store, customer, 2000)
    order_no, _ = customer_order(app, store, card_sku(app), customer)
    pay_by_balance(app, store, order_no, customer)
    staff = site(f"{store.slug}.kameng.test")
    staff.login_store(f"owner@{store.slug}.example.com", "s3cret-pass")
    page = f"/admin/orders/{order_no}"
    assert staff.get(page).status_code == 200
    response = staff.submit(page, {"amount": "", "reason": "changed mind"}, f"{page}/refund")
    assert response.status_code == 302
    assert order_status(app, store, order_no) == "refunded"
    assert balance_of(app, store, customer) == 2000
    with app.app_context():
        payment = db.session.scalar(select(Payment).where(Payment.order_no == order_no))
        assert payment.status == "refunded" and payment.refunds[0].status == "succeeded"
        assert verify() == []
