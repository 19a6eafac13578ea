"""Refunds, manual delivery, double payments, the expiry race, and the ledger under random load."""

import random
import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.db import utcnow
from app.extensions import db
from app.inventory.models import CardKey
from app.ledger.models import LedgerAccount, LedgerTransaction
from app.ledger.services import verify
from app.orders.models import Order
from app.orders.services import (
    OrderError,
    create_order,
    deliver_manually,
    expire_due_orders,
    order_ref,
)
from app.payments.config import load_provider
from app.payments.models import Payment, Refund
from app.payments.providers import Notification
from app.payments.refunds import RefundError, execute_refund, request_refund
from app.payments.services import process_notification, start_payment
from tenants.context import tenant_context
from tests.support.catalog import add_keys, make_product
from tests.test_jobs import outbox_messages, wait_for_jobs

APEX = "kameng.test"


def open_payment(app, store, sku_id, quantity=1, email=None):
    email = email or f"buyer-{uuid.uuid4().hex[:8]}@example.com"
    with app.app_context(), tenant_context(store):
        order = create_order(store, sku_id=sku_id, quantity=quantity, contact_email=email)
        payment = start_payment(store, order, "sandbox", return_url="http://example.invalid/")
        return order.order_no, payment.payment_no


def notify(app, payment_no, approve=True):
    with app.app_context():
        payment = db.session.scalar(select(Payment).where(Payment.payment_no == payment_no))
        params = load_provider("sandbox").notification(
            payment, approve=approve, txn_id=f"T{payment_no}"
        )
        db.session.remove()
        return process_notification("sandbox", Notification("POST", {}, b"", params))[0]


def order_of(app, store, order_no):
    with app.app_context(), tenant_context(store):
        order = db.session.scalar(select(Order).where(Order.order_no == order_no))
        db.session.expunge(order)
        return order


def balance(app, code):
    with app.app_context():
        return db.session.scalar(
            select(func.coalesce(func.sum(LedgerAccount.balance_cents), 0)).where(
                LedgerAccount.code == code
            )
        )


def refund(app, store, order_no, amount=None):
    with app.app_context(), tenant_context(store):
        made = request_refund(store, order_no, amount_cents=amount, actor="test", reason="test")
        refund_no = made.refund_no
    with app.app_context():
        return execute_refund(refund_no).status


def test_full_and_partial_refunds_book_the_exact_reversal(app, make_store):
    store = make_store()
    item = make_product(app, skus=[(1000, 700)])
    sku = item["sku_ids"][0]
    add_keys(app, sku, [f"R-{uuid.uuid4().hex}" for _ in range(4)])
    pending = f"store:{store.id}:pending"

    order_no, _ = open_payment(app, store, sku, quantity=3)  # 30.00 at the store's price
    assert notify(app, _) == "delivered"
    assert balance(app, pending) == -(order_of(app, store, order_no).total_cents - 3000)
    assert refund(app, store, order_no, amount=1001) == "succeeded"
    assert order_of(app, store, order_no).status == "partially_refunded"
    with app.app_context(), tenant_context(store), pytest.raises(RefundError):
        request_refund(store, order_no, amount_cents=10**9, actor="test", reason="too much")
    assert refund(app, store, order_no) == "succeeded"  # the rest
    assert order_of(app, store, order_no).status == "refunded"
    assert balance(app, pending) == 0
    with app.app_context():
        payment = db.session.scalar(select(Payment).where(Payment.order_no == order_no))
        assert payment.status == "refunded" and payment.refunded_cents == payment.amount_cents
        assert verify() == []
    with app.app_context(), tenant_context(store), pytest.raises(RefundError):
        request_refund(store, order_no, actor="test", reason="again")  # nothing left


def test_a_refund_executed_twice_is_booked_once(app, make_store):
    store = make_store()
    item = make_product(app, skus=[(500, 400)])
    add_keys(app, item["sku_ids"][0], [f"T-{uuid.uuid4().hex}"])
    order_no, payment_no = open_payment(app, store, item["sku_ids"][0])
    notify(app, payment_no)
    with app.app_context(), tenant_context(store):
        refund_no = request_refund(store, order_no, actor="t", reason="x").refund_no
    with app.app_context():
        assert execute_refund(refund_no).status == "succeeded"
        assert execute_refund(refund_no).status == "succeeded"
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(LedgerTransaction)
                .where(LedgerTransaction.idempotency_key == f"refund:{refund_no}")
            )
            == 1
        )
        assert verify() == []


def test_a_second_payment_for_a_paid_order_is_refunded_whole(app, backend, make_store):
    store = make_store()
    item = make_product(app, skus=[(800, 600)])
    add_keys(app, item["sku_ids"][0], [f"2P-{uuid.uuid4().hex}" for _ in range(2)])
    order_no, first = open_payment(app, store, item["sku_ids"][0])
    with app.app_context(), tenant_context(store):
        order = db.session.scalar(select(Order).where(Order.order_no == order_no))
        second = start_payment(store, order, "sandbox", return_url="http://x/").payment_no
    assert notify(app, first) == "delivered"
    assert notify(app, second) == "refunded"
    with app.app_context():
        wait_for_jobs(app, backend)
    with app.app_context():
        refunds = db.session.scalars(
            select(Refund).join(Payment).where(Payment.payment_no == second)
        ).all()
        assert [r.status for r in refunds] == ["succeeded"]
        assert verify() == []
    assert balance(app, "platform:refunds_due") == 0
    with app.app_context():
        sold = db.session.scalar(
            select(func.count())
            .select_from(CardKey)
            .where(CardKey.order_ref == order_ref(store.id, order_no))
        )
    assert sold == 1 and order_of(app, store, order_no).status == "delivered"


def test_a_manual_order_waits_in_the_queue_until_staff_deliver_it(app, backend, make_store, site):
    store = make_store(password="owner-pass-1")
    item = make_product(app, delivery_type="manual", skus=[(2000, 1500)])
    email = f"m-{uuid.uuid4().hex[:6]}@example.com"
    order_no, payment_no = open_payment(app, store, item["sku_ids"][0], email=email)
    assert notify(app, payment_no) == "paid"

    admin = site(f"{store.slug}.{APEX}")
    admin.login_store(f"owner@{store.slug}.example.com", "owner-pass-1")
    queue = admin.get("/admin/orders?status=awaiting_delivery").get_data(as_text=True)
    assert order_no in queue
    token = admin.csrf_token(f"/admin/orders/{order_no}")
    refused = admin.post(f"/admin/orders/{order_no}/deliver", data={"csrf_token": token})
    assert refused.status_code == 302 and order_of(app, store, order_no).status == "paid"
    content = "account: vip-<b>42</b> / password: hunter2"
    admin.post(f"/admin/orders/{order_no}/deliver", data={"csrf_token": token, "content": content})
    assert order_of(app, store, order_no).status == "delivered"
    assert order_no not in admin.get("/admin/orders?status=awaiting_delivery").get_data(
        as_text=True
    )
    with app.app_context(), tenant_context(store):
        raw = db.session.scalar(select(Order).where(Order.order_no == order_no)).items[0]
        assert "hunter2" not in (raw.manual_delivery_sealed or "")  # encrypted at rest
        with pytest.raises(OrderError):  # delivering twice is refused
            deliver_manually(store, order_no, "again", actor="t")
        db.session.rollback()
    with app.app_context():
        from app.storefront.access import order_page_url

        with tenant_context(store):
            url = order_page_url(store, order_no)
    page = site(f"{store.slug}.{APEX}").get(url.split(APEX, 1)[1]).get_data(as_text=True)
    assert "vip-&lt;b&gt;42&lt;/b&gt;" in page  # shown, escaped
    with app.app_context():
        wait_for_jobs(app, backend)
    assert any("hunter2" in message for message in outbox_messages(app, email))


def test_staff_refund_from_the_back_office_and_only_owners_or_admins_may(app, make_store, site):
    store = make_store(password="owner-pass-1")
    item = make_product(app, skus=[(1000, 800)])
    add_keys(app, item["sku_ids"][0], [f"BO-{uuid.uuid4().hex}"])
    order_no, payment_no = open_payment(app, store, item["sku_ids"][0])
    notify(app, payment_no)
    admin = site(f"{store.slug}.{APEX}")
    admin.login_store(f"owner@{store.slug}.example.com", "owner-pass-1")
    token = admin.csrf_token(f"/admin/orders/{order_no}")
    bad = admin.post(
        f"/admin/orders/{order_no}/refund",
        data={"csrf_token": token, "amount": "abc", "reason": "x"},
    )
    assert bad.status_code == 302 and order_of(app, store, order_no).status == "delivered"
    admin.post(
        f"/admin/orders/{order_no}/refund",
        data={"csrf_token": token, "amount": "1.00", "reason": "one key was bad"},
    )
    assert order_of(app, store, order_no).status == "partially_refunded"
    detail = admin.get(f"/admin/orders/{order_no}").get_data(as_text=True)
    assert "one key was bad" in detail
    with app.app_context():
        assert verify() == []


def test_order_filters_by_date_product_and_provider(app, make_store, site):
    store = make_store(password="owner-pass-1")
    first = make_product(app, name="Filter Alpha", skus=[(1000, 800)])
    second = make_product(app, name="Filter Beta", skus=[(1000, 800)])
    add_keys(app, first["sku_ids"][0], [f"FA-{uuid.uuid4().hex}"])
    add_keys(app, second["sku_ids"][0], [f"FB-{uuid.uuid4().hex}"])
    alpha, alpha_payment = open_payment(app, store, first["sku_ids"][0])
    beta, _ = open_payment(app, store, second["sku_ids"][0])
    notify(app, alpha_payment)
    with app.app_context(), tenant_context(store):
        db.session.execute(
            update(Order)
            .where(Order.order_no == beta)
            .values(created_at=utcnow() - timedelta(days=10))
        )
        db.session.commit()
    admin = site(f"{store.slug}.{APEX}")
    admin.login_store(f"owner@{store.slug}.example.com", "owner-pass-1")

    def listed(query):
        page = admin.get(f"/admin/orders?{query}").get_data(as_text=True)
        return {no for no in (alpha, beta) if no in page}

    today = utcnow().date()
    assert listed(f"product={first['product_id']}") == {alpha}
    assert listed("provider=sandbox") == {alpha}
    assert listed(f"from={(today - timedelta(days=3)).isoformat()}") == {alpha}
    assert listed(f"to={(today - timedelta(days=5)).isoformat()}") == {beta}
    assert listed("from=not-a-date") == {alpha, beta}


def race(app, store, payment_no) -> dict:
    """The expiry job and the payment's callback, released at the same instant."""
    barrier, results = threading.Barrier(2), {}

    def expire():
        barrier.wait()
        with app.app_context(), tenant_context(store):
            results["expired"] = expire_due_orders(store)

    def pay():
        barrier.wait()
        results["callback"] = notify(app, payment_no)

    threads = [threading.Thread(target=expire), threading.Thread(target=pay)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.slow
def test_a_callback_racing_the_expiry_job_delivers_or_refunds_never_both(app, backend, make_store):
    if not backend.is_postgres:
        pytest.skip("a real race needs concurrent writers (PostgreSQL)")
    store = make_store()
    item = make_product(app, skus=[(1000, 800)])
    sku = item["sku_ids"][0]
    add_keys(app, sku, [f"X-{uuid.uuid4().hex}" for _ in range(40)])
    for _ in range(20):
        order_no, payment_no = open_payment(app, store, sku)
        with app.app_context(), tenant_context(store):
            db.session.execute(
                update(Order)
                .where(Order.order_no == order_no)
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
            db.session.commit()
        results = race(app, store, payment_no)
        order = order_of(app, store, order_no)
        assert results["callback"] in ("delivered", "refunded")
        assert order.status == "delivered"  # stock was there: paid late still delivers
        with app.app_context():
            keys = db.session.scalars(
                select(CardKey.status).where(CardKey.order_ref == order_ref(store.id, order_no))
            ).all()
        assert keys == ["sold"]
    with app.app_context():
        wait_for_jobs(app, backend)
    with app.app_context():
        assert verify() == []


@pytest.mark.slow
def test_a_late_payment_with_no_stock_left_is_refunded_not_delivered(app, backend, make_store):
    store = make_store()
    item = make_product(app, skus=[(1000, 800)])
    sku = item["sku_ids"][0]
    add_keys(app, sku, [f"L-{uuid.uuid4().hex}"])
    order_no, payment_no = open_payment(app, store, sku)
    with app.app_context(), tenant_context(store):
        db.session.execute(
            update(Order)
            .where(Order.order_no == order_no)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        assert expire_due_orders(store) == 1
    other_no, other_payment = open_payment(app, store, sku)  # someone else takes the last key
    assert notify(app, other_payment) == "delivered"
    assert notify(app, payment_no) == "refunded"
    with app.app_context():
        wait_for_jobs(app, backend)
    assert order_of(app, store, order_no).status == "refunded"
    with app.app_context():
        refunds = db.session.scalars(select(Refund).where(Refund.order_no == order_no)).all()
        assert [r.status for r in refunds] == ["succeeded"]
        assert verify() == []


@pytest.mark.slow
def test_500_random_orders_with_refunds_keep_the_ledger_balanced(app, backend, make_store):
    rng = random.Random(500)
    stores = [make_store() for _ in range(3)]
    items = [make_product(app, skus=[(rng.randint(100, 5000), 50)]) for _ in range(3)]
    manual = make_product(app, delivery_type="manual", skus=[(1500, 1000)])
    for item in items:
        add_keys(app, item["sku_ids"][0], [f"Z-{uuid.uuid4().hex}" for _ in range(400)])
    from app.merchant.services import update_checkout_settings

    for store in stores:
        with app.app_context(), tenant_context(store):
            update_checkout_settings(
                payment_providers=[], order_expiry_minutes=15,
                max_unpaid_per_ip=20, max_unpaid_per_contact=20,
            )  # fmt: skip
    paid = []
    for _ in range(500):
        store = rng.choice(stores)
        sku = rng.choice([*[i["sku_ids"][0] for i in items], manual["sku_ids"][0]])
        order_no, payment_no = open_payment(app, store, sku, quantity=rng.randint(1, 2))
        roll = rng.random()
        if roll < 0.85:
            notify(app, payment_no)
            paid.append((store, order_no))
        elif roll < 0.9:
            notify(app, payment_no, approve=False)
    for store, order_no in rng.sample(paid, 150):
        order = order_of(app, store, order_no)
        partial = order.status == "delivered" and rng.random() < 0.5
        amount = rng.randint(1, order.total_cents - 1) if partial else None
        assert refund(app, store, order_no, amount) == "succeeded"
    with app.app_context():
        assert verify() == []
        received = db.session.scalar(
            select(func.sum(Payment.amount_cents - Payment.refunded_cents)).where(
                Payment.tenant_id.in_([s.id for s in stores]),
                Payment.status.in_(("succeeded", "partially_refunded", "refunded")),
            )
        )
    assert (
        balance(app, "clearing:sandbox") >= received
    )  # other tests' money is in the same clearing account
