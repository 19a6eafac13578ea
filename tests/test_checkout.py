"""A customer buys a card key end to end with the sandbox gateway; callbacks are hostile-proof."""

import re
import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.db import utcnow
from app.extensions import db
from app.ledger.models import LedgerTransaction
from app.ledger.services import verify
from app.orders.models import Order
from app.payments.config import load_provider
from app.payments.models import Payment
from tenants.context import tenant_context
from tests.support.catalog import add_keys, make_product

APEX = "kameng.test"


def open_order(app, site, store, sku_id, quantity=1, email="buyer@example.com"):
    """Steps 1–2 in the browser; returns (payment page path, buyer client)."""
    shop = site(f"{store.slug}.{APEX}")
    page = f"/checkout?sku={sku_id}&quantity={quantity}"
    sent = shop.submit(page, {"contact_email": email, "query_password": "lookup-1"}, action=page)
    assert sent.status_code == 302, sent.get_data(as_text=True)[:500]
    assert sent.headers["Location"].startswith(f"http://{APEX}/pay/sandbox/P")
    return sent.headers["Location"].split(APEX, 1)[1], shop


def test_a_guest_buys_a_card_key_and_sees_it_at_once(app, make_store, site, apex):
    store = make_store(name="Key Shop")
    item = make_product(app, skus=[(1000, 800)])
    secret = f"KEY-{uuid.uuid4().hex}"
    add_keys(app, item["sku_ids"][0], [secret])
    product_page = (
        site(f"{store.slug}.{APEX}").get(f"/p/{item['product_id']}").get_data(as_text=True)
    )
    assert 'action="/checkout"' in product_page

    pay_path, shop = open_order(app, site, store, item["sku_ids"][0])
    assert "¥10.00" in apex.get(pay_path).get_data(as_text=True)
    approved = apex.submit(pay_path, {"decision": "approve"})
    assert approved.status_code == 302
    order_url = approved.headers["Location"]
    assert order_url.startswith(f"http://{store.slug}.{APEX}/order/")
    page = shop.get(order_url.split(APEX, 1)[1]).get_data(as_text=True)
    assert secret in page and "已发货" in page

    # Without the signed link the order page does not exist, even with the right number.
    order_no = re.search(r"/order/(\d+)", order_url).group(1)
    assert shop.get(f"/order/{order_no}").status_code == 404
    assert shop.get(f"/order/{order_no}?t=forged").status_code == 404
    with app.app_context():
        assert verify() == []
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(LedgerTransaction)
                .where(LedgerTransaction.idempotency_key == f"order:{store.id}:{order_no}:paid")
            )
            == 1
        )


def notification(app, pay_path, **changes):
    payment_no = pay_path.rsplit("/", 1)[1]
    with app.app_context():
        payment = db.session.scalar(select(Payment).where(Payment.payment_no == payment_no))
        params = load_provider("sandbox").notification(
            payment, approve=True, txn_id="T" + payment_no
        )
        if changes:
            params.update(changes)
        return params, payment.order_no


def order_status(app, store, order_no):
    with app.app_context(), tenant_context(store):
        return db.session.scalar(select(Order.status).where(Order.order_no == order_no))


def test_forged_wrong_and_unknown_callbacks_change_nothing(app, make_store, site, apex):
    store = make_store()
    item = make_product(app, skus=[(1000, 800)])
    add_keys(app, item["sku_ids"][0], [f"F-{uuid.uuid4().hex}"])
    pay_path, _ = open_order(app, site, store, item["sku_ids"][0])
    good, order_no = notification(app, pay_path)
    forged = dict(good, sign="0" * 64)
    cheap, _ = notification(app, pay_path, amount="1")  # re-signed below would be our key…
    with app.app_context():
        cheap["sign"] = load_provider("sandbox").sign(
            {k: v for k, v in cheap.items() if k != "sign"}
        )
        dollars = dict(good, currency="USD")
        dollars["sign"] = load_provider("sandbox").sign(
            {k: v for k, v in dollars.items() if k != "sign"}
        )
        unknown = dict(good, payment_no="P999")
        unknown["sign"] = load_provider("sandbox").sign(
            {k: v for k, v in unknown.items() if k != "sign"}
        )
    for params in (forged, cheap, dollars, unknown, {"junk": "1"}):
        refused = apex.post("/payments/callback/sandbox", data=params)
        assert refused.status_code == 400 and refused.get_data(as_text=True) == "fail"
    assert apex.post("/payments/callback/nosuch", data=good).status_code == 404
    assert order_status(app, store, order_no) == "pending_payment"
    assert apex.post("/payments/callback/sandbox", data=good).get_data(as_text=True) == "success"
    assert order_status(app, store, order_no) == "delivered"


@pytest.mark.slow
def test_a_thousand_callbacks_for_one_payment_deliver_once(app, backend, make_store, site, apex):
    """Duplicates, concurrent and replayed, with declines arriving out of order among them."""
    store = make_store()
    item = make_product(app, skus=[(1000, 800)])
    add_keys(app, item["sku_ids"][0], [f"D-{uuid.uuid4().hex}" for _ in range(3)])
    pay_path, _ = open_order(app, site, store, item["sku_ids"][0])
    good, order_no = notification(app, pay_path)
    declined, _ = notification(app, pay_path, status="DECLINED")
    with app.app_context():
        sandbox = load_provider("sandbox")
        declined["sign"] = sandbox.sign({k: v for k, v in declined.items() if k != "sign"})
    threads_count, each = (20, 50) if backend.is_postgres else (10, 10)
    barrier, answers = threading.Barrier(threads_count), []

    def notify(index):
        client = app.test_client()
        barrier.wait()
        for n in range(each):
            params = declined if (index + n) % 7 == 0 else good
            answers.append(
                client.post(
                    "/payments/callback/sandbox", data=params, base_url=f"http://{APEX}"
                ).get_data(as_text=True)
            )

    threads = [threading.Thread(target=notify, args=(i,)) for i in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers.count("success") == threads_count * each
    assert order_status(app, store, order_no) == "delivered"
    with app.app_context():
        from app.inventory.services import stock_counts

        assert stock_counts(item["sku_ids"])[item["sku_ids"][0]]["sold"] == 1
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(LedgerTransaction)
                .where(LedgerTransaction.idempotency_key.like(f"order:{store.id}:{order_no}:%"))
            )
            == 1
        )
        assert verify() == []


def test_a_payment_after_expiry_delivers_if_stock_remains_else_refunds(app, make_store, site, apex):
    store = make_store()
    item = make_product(app, skus=[(1000, 800)])
    sku_id = item["sku_ids"][0]
    add_keys(app, sku_id, [f"X-{uuid.uuid4().hex}"])
    late_ok, _ = open_order(app, site, store, sku_id, email="late1@example.com")
    params_ok, order_ok = notification(app, late_ok)
    with app.app_context(), tenant_context(store):
        from app.orders.services import expire_due_orders

        db.session.execute(update(Order).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert expire_due_orders(store) == 1  # its key went back to stock
    assert apex.post("/payments/callback/sandbox", data=params_ok).status_code == 200
    assert order_status(app, store, order_ok) == "delivered"  # the key was still there

    add_keys(app, sku_id, [f"Y-{uuid.uuid4().hex}"])
    late_refund, _ = open_order(app, site, store, sku_id, email="late2@example.com")
    params_refund, order_refund = notification(app, late_refund)
    with app.app_context(), tenant_context(store):
        db.session.execute(
            update(Order)
            .where(Order.order_no == order_refund)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        expire_due_orders(store)
    open_order(app, site, store, sku_id, email="someone-else@example.com")  # takes the last key
    assert apex.post("/payments/callback/sandbox", data=params_refund).status_code == 200
    assert order_status(app, store, order_refund) == "refunded"
    with app.app_context():
        assert verify() == []


def test_a_declined_payment_leaves_the_order_unpaid(app, make_store, site, apex):
    store = make_store()
    item = make_product(app, skus=[(1000, 800)])
    add_keys(app, item["sku_ids"][0], [f"N-{uuid.uuid4().hex}"])
    pay_path, shop = open_order(app, site, store, item["sku_ids"][0])
    declined = apex.submit(pay_path, {"decision": "decline"})
    assert declined.status_code == 302
    order_no = re.search(r"/order/(\d+)", declined.headers["Location"]).group(1)
    assert order_status(app, store, order_no) == "pending_payment"


def test_the_buyer_is_emailed_the_keys_once(app, backend, make_store, site, apex):
    from tests.test_jobs import outbox_messages, wait_for_jobs
    from workers.runner import execute

    store = make_store(name="Mail Shop")
    item = make_product(app, skus=[(1000, 800)])
    secret = f"MAIL-{uuid.uuid4().hex}"
    add_keys(app, item["sku_ids"][0], [secret])
    email = f"mail-{uuid.uuid4().hex[:6]}@example.com"
    pay_path, _ = open_order(app, site, store, item["sku_ids"][0], email=email)
    apex.submit(pay_path, {"decision": "approve"})
    with app.app_context():
        wait_for_jobs(app, backend)
    messages = outbox_messages(app, email)
    assert len(messages) == 1 and secret in messages[0] and "/order/" in messages[0]
    order_no = pay_path.rsplit("/", 1)[1][1:19]
    execute(app, "workers.jobs.orders.send_delivery_email", store.id, [order_no])
    assert len(outbox_messages(app, email)) == 1


def test_guests_look_orders_up_with_their_query_password_only(app, backend, make_store, site, apex):
    from tests.test_jobs import outbox_messages, wait_for_jobs

    store = make_store()
    item = make_product(app, skus=[(1000, 800)])
    add_keys(app, item["sku_ids"][0], [f"L-{uuid.uuid4().hex}"])
    email = f"look-{uuid.uuid4().hex[:6]}@example.com"
    pay_path, shop = open_order(app, site, store, item["sku_ids"][0], email=email)
    order_no = pay_path.rsplit("/", 1)[1][1:19]
    visitor = site(f"{store.slug}.{APEX}")
    found = visitor.submit("/lookup", {"needle": email, "query_password": "lookup-1"})
    assert order_no in found.get_data(as_text=True) and "/order/" in found.get_data(as_text=True)
    by_number = visitor.submit("/lookup", {"needle": order_no, "query_password": "lookup-1"})
    assert f"/order/{order_no}?t=" in by_number.get_data(as_text=True)
    wrong = visitor.submit("/lookup", {"needle": email, "query_password": "guess-123"})
    nobody = visitor.submit(
        "/lookup", {"needle": "nobody@example.com", "query_password": "guess-123"}
    )
    assert order_no not in wrong.get_data(as_text=True)
    assert (
        wrong.get_data(as_text=True).count("没有匹配")
        == nobody.get_data(as_text=True).count("没有匹配")
        == 1
    )
    # Only the contact: the links go to that address, and the page says the same either way.
    mailed = visitor.submit("/lookup", {"needle": email, "query_password": ""}).get_data(
        as_text=True
    )
    silent = visitor.submit("/lookup", {"needle": "nobody@example.com", "query_password": ""})
    assert order_no not in mailed
    assert "已通过邮件发送" in mailed and "已通过邮件发送" in silent.get_data(as_text=True)
    with app.app_context():
        wait_for_jobs(app, backend)
    messages = outbox_messages(app, email)
    assert any(f"/order/{order_no}?t=" in m for m in messages)
    assert outbox_messages(app, "nobody@example.com") == []


def test_store_staff_see_their_orders_masked_and_cancel_unpaid_ones(app, make_store, site, apex):
    store = make_store(password="owner-pass-1")
    other = make_store(password="owner-pass-1")
    item = make_product(app, skus=[(1000, 800)])
    secret = f"ADM-{uuid.uuid4().hex}"
    add_keys(app, item["sku_ids"][0], [secret, f"ADM-{uuid.uuid4().hex}"])
    paid_path, _ = open_order(app, site, store, item["sku_ids"][0], email="alice@example.com")
    apex.submit(paid_path, {"decision": "approve"})
    unpaid_path, _ = open_order(app, site, store, item["sku_ids"][0], email="bob@example.com")
    paid_no, unpaid_no = paid_path.rsplit("/", 1)[1][1:19], unpaid_path.rsplit("/", 1)[1][1:19]

    admin = site(f"{store.slug}.{APEX}")
    admin.login_store(f"owner@{store.slug}.example.com", "owner-pass-1")
    listing = admin.get("/admin/orders").get_data(as_text=True)
    assert paid_no in listing and unpaid_no in listing
    assert "a***@example.com" in listing and "alice@example.com" not in listing
    assert paid_no in admin.get("/admin/orders?status=delivered").get_data(as_text=True)
    assert unpaid_no not in admin.get("/admin/orders?status=delivered").get_data(as_text=True)
    detail = admin.get(f"/admin/orders/{paid_no}").get_data(as_text=True)
    assert secret not in detail and f"{secret[:4]}****{secret[-4:]}" in detail

    token = admin.csrf_token(f"/admin/orders/{unpaid_no}")
    admin.post(f"/admin/orders/{unpaid_no}/cancel", data={"csrf_token": token})
    assert order_status(app, store, unpaid_no) == "cancelled"
    admin.post(f"/admin/orders/{paid_no}/cancel", data={"csrf_token": token})
    assert order_status(app, store, paid_no) == "delivered"  # paid orders cannot be cancelled

    stranger = site(f"{other.slug}.{APEX}")
    stranger.login_store(f"owner@{other.slug}.example.com", "owner-pass-1")
    assert stranger.get(f"/admin/orders/{paid_no}").status_code == 404
