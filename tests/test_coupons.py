"""Coupons: every refusal is specific and changes nothing; the discount is exact and comes out of
the store's markup only; the ledger balances; uses are reserved with the order, released on
expiry, and never exceed the limits however many checkouts race."""

from __future__ import annotations

import csv
import io
import re
import threading
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, update

from app.audit.services import Actor
from app.catalog.models import Sku
from app.coupons import services as coupons
from app.coupons.models import Coupon, CouponCode, CouponRedemption
from app.db import utcnow
from app.extensions import db
from app.ledger.models import LedgerTransaction
from app.ledger.services import verify
from app.orders.models import Order
from app.orders.services import OrderError, cancel_order, create_order, expire_due_orders
from tenants.context import tenant_context
from tests.support.catalog import add_keys, make_product
from tests.support.money import card_sku, refund, with_markup

APEX = "kameng.test"
OWNER = Actor("store", 1, "owner@example.com")


def new_coupon(app, store, code: str | None = None, **terms) -> str:
    """A coupon with one typed code (random unless given); returns the code."""
    code = code or f"C{uuid.uuid4().hex[:10].upper()}"
    terms.setdefault("name", "Test coupon")
    terms.setdefault("kind", "fixed")
    terms.setdefault("value", 100)
    with app.app_context(), tenant_context(store):
        coupons.create_coupon(store, coupons.CouponTerms(**terms), code=code, actor=OWNER)
    return code


def order(app, store, sku_id, code, quantity=1, email=None, **kwargs) -> SimpleNamespace:
    with app.app_context(), tenant_context(store):
        made = create_order(
            store,
            sku_id=sku_id,
            quantity=quantity,
            contact_email=email if email is not None else f"b-{uuid.uuid4().hex[:8]}@example.com",
            coupon_code=code,
            **kwargs,
        )
        return SimpleNamespace(
            id=made.id,
            order_no=made.order_no,
            subtotal_cents=made.subtotal_cents,
            discount_cents=made.discount_cents,
            total_cents=made.total_cents,
            coupon_code=made.coupon_code,
        )


def refusal(app, store, sku_id, code, **kwargs) -> str:
    """The reason create_order refuses the code for (and that nothing was written)."""
    with app.app_context(), tenant_context(store):
        before = db.session.scalar(select(func.count()).select_from(Order))
        used = db.session.scalar(select(func.coalesce(func.sum(Coupon.used_count), 0)))
    with pytest.raises(OrderError) as refused:
        order(app, store, sku_id, code, **kwargs)
    assert refused.value.field == "coupon_code"
    with app.app_context(), tenant_context(store):
        assert db.session.scalar(select(func.count()).select_from(Order)) == before
        assert db.session.scalar(select(func.coalesce(func.sum(Coupon.used_count), 0))) == used
    return refused.value.__cause__.reason


def coupon_state(app, store, code) -> tuple[int, int, dict[str, int]]:
    """(coupon uses, code uses, redemptions by status)."""
    with app.app_context(), tenant_context(store):
        row = db.session.scalar(select(CouponCode).where(CouponCode.code == code))
        statuses = dict(
            db.session.execute(
                select(CouponRedemption.status, func.count())
                .where(CouponRedemption.coupon_id == row.coupon_id)
                .group_by(CouponRedemption.status)
            ).all()
        )
        return row.coupon.used_count, row.used_count, statuses


@pytest.fixture
def shop(app, make_store):
    """A store selling at wholesale + 20 %: one SKU at 12.00 (wholesale 10.00, cost 8.00)."""
    store = with_markup(app, make_store())
    return store, card_sku(app, wholesale=1000, cost=800, keys=30)


def test_the_discount_is_exact_to_the_cent_and_capped():
    # 15 % of 12.34 is 1.851: floored to 1.85 (the store never gives more than it said).
    assert coupons.discount_cents("percent", 1500, None, 1234, 10_000) == 185
    assert coupons.discount_cents("percent", 1500, 100, 1234, 10_000) == 100  # maximum discount
    assert coupons.discount_cents("fixed", 5000, None, 1234, 10_000) == 1234  # never below 0
    assert coupons.discount_cents("fixed", 300, None, 1200, 200) == 200  # the store's markup
    assert coupons.discount_cents("percent", 10_000, None, 1200, 0) == 0
    assert coupons.allocate(500, [200, 400, 100]) == [200, 300, 0]


def test_a_partly_failed_top_up_refunds_what_was_paid_for_the_missing_units():
    from app.orders.models import OrderItem

    line = OrderItem(unit_price_cents=1200, quantity=3, discount_cents=500)
    assert [line.paid_for(n) for n in (0, 1, 2, 3)] == [0, 1033, 2066, 3100]


def test_a_discounted_order_stores_code_discount_and_price_before_it(app, shop):
    store, sku = shop
    percent = new_coupon(app, store, kind="percent", value=1000)  # 10 %
    made = order(app, store, sku, percent.lower(), quantity=3)  # codes are not case-sensitive
    assert (made.subtotal_cents, made.discount_cents, made.total_cents) == (3600, 360, 3240)
    assert made.coupon_code == percent
    capped = new_coupon(app, store, kind="percent", value=5000, max_discount_cents=250)
    assert order(app, store, sku, capped, quantity=2).total_cents == 2400 - 250
    # 50 % of 36.00 would be 18.00, but the store's markup on 3 units is 6.00: the price stops
    # at the wholesale price the store pays the platform.
    deep = new_coupon(app, store, kind="percent", value=5000)
    assert order(app, store, sku, deep, quantity=3).total_cents == 3000
    fixed = new_coupon(app, store, kind="fixed", value=150)
    assert order(app, store, sku, fixed).total_cents == 1050
    assert order(app, store, sku, "").total_cents == 1200  # no coupon, nothing taken off


def test_each_refusal_has_its_own_reason_and_changes_nothing(app, shop):
    store, sku = shop
    now = utcnow()
    other = make_product(app, skus=[(1000, 800)])
    add_keys(app, other["sku_ids"][0], [f"O-{uuid.uuid4().hex}" for _ in range(3)])
    assert refusal(app, store, sku, "NO-SUCH-CODE") == "unknown"
    later = new_coupon(app, store, starts_at=now + timedelta(days=1))
    assert refusal(app, store, sku, later) == "not_started"
    over = new_coupon(app, store, ends_at=now - timedelta(seconds=1))
    assert refusal(app, store, sku, over) == "expired"
    big_spend = new_coupon(app, store, min_spend_cents=5000)
    assert refusal(app, store, sku, big_spend) == "minimum_not_met"
    assert order(app, store, sku, big_spend, quantity=5).discount_cents == 100  # 60.00 ≥ 50.00
    product_only = new_coupon(app, store, scope="product", target_id=other["product_id"])
    assert refusal(app, store, sku, product_only) == "not_applicable"
    category_only = new_coupon(app, store, scope="category", target_id=other["category_id"])
    assert refusal(app, store, sku, category_only) == "not_applicable"

    once = new_coupon(app, store, total_limit=1)
    order(app, store, sku, once)
    assert refusal(app, store, sku, once) == "used_up"
    mine = new_coupon(app, store, per_customer_limit=1)
    order(app, store, sku, mine, email="repeat@example.com")
    assert refusal(app, store, sku, mine, email="repeat@example.com") == "already_used"
    assert order(app, store, sku, mine, email="new@example.com").discount_cents == 100
    # A guest is one contact: the same phone with another e-mail is still the same buyer.
    order(app, store, sku, mine, email="", contact_phone="13800000000")
    assert refusal(app, store, sku, mine, email="x@example.com", contact_phone="13800000000") == (
        "already_used"
    )

    first = new_coupon(app, store, is_first_order_only=True)
    buyer = f"loyal-{uuid.uuid4().hex[:6]}@example.com"
    assert order(app, store, sku, first, email=buyer).discount_cents == 100  # no paid order yet
    with app.app_context(), tenant_context(store):
        db.session.execute(update(Order).where(Order.contact_email == buyer).values(paid_at=now))
        db.session.commit()
    assert refusal(app, store, sku, first, email=buyer) == "first_order_only"

    disabled = new_coupon(app, store)
    with app.app_context(), tenant_context(store):
        coupon = db.session.scalar(select(CouponCode).where(CouponCode.code == disabled)).coupon
        coupons.set_active(store, coupon, False, actor=OWNER)
    assert refusal(app, store, sku, disabled) == "unknown"


def test_a_store_at_wholesale_cannot_fund_a_coupon(app, make_store):
    store = make_store()  # no markup: it sells at the wholesale price
    sku = card_sku(app, keys=2)
    code = new_coupon(app, store, kind="percent", value=1000)
    assert refusal(app, store, sku, code) == "no_discount"


def paid_entries(app, store, order_no) -> dict[str, int]:
    with app.app_context():
        transaction = db.session.scalar(
            select(LedgerTransaction).where(
                LedgerTransaction.idempotency_key == f"order:{store.id}:{order_no}:paid"
            )
        )
        return {entry.account.code: entry.amount_cents for entry in transaction.entries}


def order_net(app, store, order_no) -> dict[str, int]:
    """Each account's net movement over the order's transactions (payment and refunds)."""
    with app.app_context():
        transactions = db.session.scalars(
            select(LedgerTransaction).where(
                LedgerTransaction.reference == f"order:{store.id}:{order_no}"
            )
        ).all()
        net: dict[str, int] = {}
        for transaction in transactions:
            for entry in transaction.entries:
                net[entry.account.code] = net.get(entry.account.code, 0) + entry.amount_cents
        return net


def test_a_paid_discounted_order_balances_and_pays_platform_and_supplier_in_full(app, shop):
    store, sku = shop
    code = new_coupon(app, store, kind="fixed", value=150)
    with app.app_context():
        supplier = f"supplier:{db.session.get(Sku, sku).supplier_id or 0}:payable"
    # paid_order() takes no coupon: pay an order with one the same way.
    order_no, total = paid_coupon_order(app, store, sku, code, quantity=2)
    assert total == 2400 - 150
    entries = paid_entries(app, store, order_no)
    assert sum(entries.values()) == 0
    assert entries["clearing:sandbox"] == total
    assert entries[supplier] == -1600  # cost, in full
    assert -entries["platform:revenue"] >= 400  # wholesale − cost, in full (plus any plan fee)
    store_share = -entries[f"store:{store.id}:pending"]
    assert store_share == total - 2000 - (-entries["platform:revenue"] - 400)
    assert coupon_state(app, store, code)[2] == {"redeemed": 1}
    with app.app_context():
        assert verify() == []

    # A partial refund gives back that share of what was paid, in proportion.
    assert refund(app, store, order_no, amount=1000) == "succeeded"
    net = order_net(app, store, order_no)
    assert net["clearing:sandbox"] == total - 1000
    assert abs(-net[supplier] - (1600 - 1600 * 1000 / total)) < 1  # to the cent
    assert refund(app, store, order_no) == "succeeded"
    assert all(amount == 0 for amount in order_net(app, store, order_no).values())
    with app.app_context():
        assert verify() == []
    # A refunded order keeps its use of the coupon (decisions.md).
    assert coupon_state(app, store, code)[2] == {"redeemed": 1}


def paid_coupon_order(app, store, sku_id, code, quantity=1) -> tuple[str, int]:
    from app.payments.config import load_provider
    from app.payments.models import Payment
    from app.payments.providers import Notification
    from app.payments.services import process_notification, start_payment

    with app.app_context(), tenant_context(store):
        made = create_order(
            store, sku_id=sku_id, quantity=quantity, contact_email="paid@example.com",
            coupon_code=code,
        )  # fmt: skip
        payment = start_payment(store, made, "sandbox", return_url="http://example.invalid/")
        order_no, payment_no, total = made.order_no, payment.payment_no, made.total_cents
        assert payment.amount_cents == total
    with app.app_context():
        payment = db.session.scalar(select(Payment).where(Payment.payment_no == payment_no))
        params = load_provider("sandbox").notification(payment, approve=True, txn_id=payment_no)
        db.session.remove()
        process_notification("sandbox", Notification("POST", {}, b"", params))
    return order_no, total


def test_expiry_and_cancellation_give_the_use_back(app, shop):
    store, sku = shop
    code = new_coupon(app, store, total_limit=1)
    first = order(app, store, sku, code)
    assert coupon_state(app, store, code) == (1, 1, {"reserved": 1})
    assert refusal(app, store, sku, code) == "used_up"
    with app.app_context(), tenant_context(store):
        db.session.execute(
            update(Order)
            .where(Order.order_no == first.order_no)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        assert expire_due_orders(store) == 1
    assert coupon_state(app, store, code) == (0, 0, {"released": 1})
    second = order(app, store, sku, code)
    assert coupon_state(app, store, code) == (1, 1, {"released": 1, "reserved": 1})
    with app.app_context(), tenant_context(store):
        cancel_order(store, db.session.get(Order, second.id), actor="test")
        db.session.commit()
    assert coupon_state(app, store, code) == (0, 0, {"released": 2})
    assert order(app, store, sku, code).discount_cents == 100


def test_a_payment_after_expiry_takes_the_released_use_back(app, shop):
    from app.payments.config import load_provider
    from app.payments.models import Payment
    from app.payments.providers import Notification
    from app.payments.services import process_notification, start_payment

    store, sku = shop
    code = new_coupon(app, store, total_limit=1)
    with app.app_context(), tenant_context(store):
        made = create_order(
            store, sku_id=sku, quantity=1, contact_email="l@x.test", coupon_code=code
        )
        payment_no = start_payment(store, made, "sandbox", return_url="http://x/").payment_no
        made.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert expire_due_orders(store) == 1
    assert coupon_state(app, store, code) == (0, 0, {"released": 1})
    with app.app_context():
        payment = db.session.scalar(select(Payment).where(Payment.payment_no == payment_no))
        assert payment.amount_cents == 1100
        params = load_provider("sandbox").notification(payment, approve=True, txn_id=payment_no)
        db.session.remove()
        assert process_notification("sandbox", Notification("POST", {}, b"", params))[0] == (
            "delivered"
        )
    assert coupon_state(app, store, code) == (1, 1, {"redeemed": 1})
    with app.app_context():
        assert verify() == []


def test_a_late_payment_refunded_for_lack_of_stock_leaves_the_use_released(app, make_store):
    from app.payments.config import load_provider
    from app.payments.models import Payment
    from app.payments.providers import Notification
    from app.payments.services import process_notification, start_payment

    store = with_markup(app, make_store())
    sku = card_sku(app, keys=1)
    code = new_coupon(app, store)
    with app.app_context(), tenant_context(store):
        made = create_order(
            store, sku_id=sku, quantity=1, contact_email="s@x.test", coupon_code=code
        )
        payment_no = start_payment(store, made, "sandbox", return_url="http://x/").payment_no
        made.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert expire_due_orders(store) == 1
    order(app, store, sku, "")  # someone else takes the only key
    with app.app_context():
        payment = db.session.scalar(select(Payment).where(Payment.payment_no == payment_no))
        params = load_provider("sandbox").notification(payment, approve=True, txn_id=payment_no)
        db.session.remove()
        assert process_notification("sandbox", Notification("POST", {}, b"", params))[0] == (
            "refunded"
        )
    assert coupon_state(app, store, code) == (0, 0, {"released": 1})


def test_generated_codes_are_unique_single_use_and_downloadable(app, shop, site):
    store, sku = shop
    with app.app_context(), tenant_context(store):
        coupon = coupons.create_coupon(
            store, coupons.CouponTerms(name="Batch", kind="fixed", value=100), actor=OWNER
        )
        made = coupons.generate_codes(store, coupon, 500, max_uses=1, actor=OWNER)
        more = coupons.generate_codes(store, coupon, 100, max_uses=1, actor=OWNER)
        coupon_id = coupon.id
        stored = db.session.scalars(
            select(CouponCode.code).where(CouponCode.coupon_id == coupon_id)
        ).all()
    assert len(made) == 500 and len(set(made) | set(more)) == 600 and len(set(stored)) == 600
    assert all(re.fullmatch(r"[A-Z2-9]{10}", code) for code in stored)
    assert order(app, store, sku, made[0]).discount_cents == 100
    assert refusal(app, store, sku, made[0]) == "used_up"  # single-use, coupon unlimited
    assert order(app, store, sku, made[1]).discount_cents == 100

    admin = site(f"{store.slug}.{APEX}")
    admin.login_store(f"owner@{store.slug}.example.com", "s3cret-pass")
    download = admin.get(f"/admin/coupons/{coupon_id}/codes.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    assert rows[0] == ["code", "max_uses", "used"] and len(rows) == 601
    used = {row[0]: row[2] for row in rows[1:]}
    assert used[made[0]] == "1" and used[made[2]] == "0"


def test_one_store_cannot_use_or_see_another_stores_coupon(app, make_store, site):
    store_a, store_b = with_markup(app, make_store()), with_markup(app, make_store())
    sku = card_sku(app, keys=4)
    code = new_coupon(app, store_a, code=f"AONLY{uuid.uuid4().hex[:6].upper()}")
    with app.app_context(), tenant_context(store_a):
        a_id = db.session.scalar(select(CouponCode.coupon_id).where(CouponCode.code == code))
    assert refusal(app, store_b, sku, code) == "unknown"
    assert order(app, store_a, sku, code).discount_cents == 100

    staff_b = site(f"{store_b.slug}.{APEX}")
    staff_b.login_store(f"owner@{store_b.slug}.example.com", "s3cret-pass")
    listing = staff_b.get("/admin/coupons")
    assert listing.status_code == 200 and code not in listing.get_data(as_text=True)
    assert staff_b.get(f"/admin/coupons/{a_id}").status_code == 404
    assert staff_b.get(f"/admin/coupons/{a_id}/codes.csv").status_code == 404
    token = staff_b.csrf_token("/admin/coupons")
    assert (
        staff_b.post(f"/admin/coupons/{a_id}/active", data={"csrf_token": token, "active": "0"})
    ).status_code == 404
    with app.app_context(), tenant_context(store_a):
        assert db.session.get(Coupon, a_id).is_active


def test_the_back_office_creates_a_coupon_and_a_buyer_uses_it_at_checkout(app, shop, site, apex):
    store, sku = shop
    admin = site(f"{store.slug}.{APEX}")
    admin.login_store(f"owner@{store.slug}.example.com", "s3cret-pass")
    code = f"SPRING{uuid.uuid4().hex[:6].upper()}"
    form = {
        "name": "Spring",
        "code": code.lower(),
        "kind": "percent",
        "value": "10",
        "max_discount": "",
        "applies_to": "store",
        "min_spend": "10",
        "total_limit": "100",
        "per_customer_limit": "1",
        "starts_at": "",
        "ends_at": "",
    }
    bad = admin.submit("/admin/coupons", dict(form, value="abc"))
    assert bad.status_code == 400
    assert admin.submit("/admin/coupons", dict(form, kind="percent", value="150")).status_code == (
        400
    )
    backwards = dict(form, starts_at="2030-01-02T00:00", ends_at="2030-01-01T00:00")
    assert admin.submit("/admin/coupons", backwards).status_code == 400
    with app.app_context(), tenant_context(store):
        assert db.session.scalar(select(func.count()).select_from(Coupon)) == 0
    created = admin.submit("/admin/coupons", form)
    assert created.status_code == 302
    coupon_path = created.headers["Location"].split(APEX, 1)[-1]
    assert code in admin.get(coupon_path).get_data(as_text=True)
    assert admin.submit("/admin/coupons", form).status_code == 400  # the code is taken

    # Step 2 of checkout: a wrong code is refused on its field and no order is made.
    buyer = site(f"{store.slug}.{APEX}")
    page = f"/checkout?sku={sku}&quantity=2"
    details = {"contact_email": "spring@example.com", "query_password": "lookup-1"}
    refused = buyer.submit(page, dict(details, coupon_code="NOPE"), action=page)
    assert refused.status_code == 400 and 'value="NOPE"' in refused.get_data(as_text=True)
    with app.app_context(), tenant_context(store):
        assert db.session.scalar(select(func.count()).select_from(Order)) == 0
    # "Apply" shows the discounted total and orders nothing.
    applied = buyer.submit(page, dict(details, coupon_code=code, apply_coupon="1"), action=page)
    assert applied.status_code == 200
    assert 'id="coupon-preview" data-discount-cents="240"' in applied.get_data(as_text=True)
    assert "¥21.60" in applied.get_data(as_text=True)
    wrong = buyer.submit(page, dict(details, coupon_code="NOPE", apply_coupon="1"), action=page)
    assert wrong.status_code == 400 and "coupon-preview" not in wrong.get_data(as_text=True)
    with app.app_context(), tenant_context(store):
        assert db.session.scalar(select(func.count()).select_from(Order)) == 0
    sent = buyer.submit(page, dict(details, coupon_code=code), action=page)
    assert sent.status_code == 302
    pay_path = sent.headers["Location"].split(APEX, 1)[1]
    assert "¥21.60" in apex.get(pay_path).get_data(as_text=True)  # 24.00 − 10 %
    approved = apex.submit(pay_path, {"decision": "approve"})
    order_url = approved.headers["Location"].split(APEX, 1)[1]
    order_no = re.search(r"/order/(\d+)", order_url).group(1)
    order_page = buyer.get(order_url).get_data(as_text=True)
    assert f'data-coupon-code="{code}"' in order_page and 'data-discount-cents="240"' in order_page
    # The same buyer again: already used (per-customer limit 1).
    again = buyer.submit(page, dict(details, coupon_code=code), action=page)
    assert again.status_code == 400
    again = buyer.submit(page, dict(details, coupon_code=code, apply_coupon="1"), action=page)
    assert again.status_code == 400

    back_office = admin.get(f"/admin/orders/{order_no}").get_data(as_text=True)
    assert (
        f'data-coupon-code="{code}"' in back_office and 'data-discount-cents="240"' in back_office
    )
    listing = admin.get("/admin/coupons").get_data(as_text=True)
    assert 'data-redeemed="1"' in listing
    coupon_id = int(coupon_path.rsplit("/", 1)[1])
    disabled = admin.submit(
        coupon_path, {"active": "0"}, action=f"/admin/coupons/{coupon_id}/active"
    )
    assert disabled.status_code == 302
    batch = admin.submit(coupon_path, {"count": "25", "max_uses": "1"},
                         action=f"/admin/coupons/{coupon_id}/codes")  # fmt: skip
    assert batch.status_code == 302
    none = admin.submit(coupon_path, {"count": "0"}, action=f"/admin/coupons/{coupon_id}/codes")
    assert none.status_code == 400
    with app.app_context(), tenant_context(store):
        coupon = db.session.get(Coupon, coupon_id)
        assert not coupon.is_active and len(coupon.codes) == 26
        assert coupons.code_summary([coupon_id])[coupon_id][0] == 26
        assert (coupon.used_count, coupon.min_spend_cents, coupon.value) == (1, 1000, 1000)
    # Without CSRF nothing is made.
    assert admin.post("/admin/coupons", data=form).status_code == 400


def race(app, store, sku, code, emails: list[str], customer_id=None) -> list[str]:
    """Everyone presses "pay" at once; returns the order numbers that got the coupon."""
    barrier, won, lock = threading.Barrier(len(emails)), [], threading.Lock()

    def buy(email):
        with app.app_context(), tenant_context(store):
            barrier.wait()
            try:
                made = create_order(
                    store, sku_id=sku, quantity=1, contact_email=email,
                    customer_id=customer_id, coupon_code=code,
                )  # fmt: skip
            except OrderError:
                db.session.rollback()
                return
            with lock:
                won.append(made.order_no)

    threads = [threading.Thread(target=buy, args=(email,)) for email in emails]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return won


@pytest.mark.postgres
def test_twenty_checkouts_racing_for_five_uses_get_five(app, make_store):
    store = with_markup(app, make_store())
    sku = card_sku(app, keys=40)
    code = new_coupon(app, store, total_limit=5, per_customer_limit=1)
    won = race(
        app, store, sku, code, [f"r{i}-{uuid.uuid4().hex[:6]}@example.com" for i in range(20)]
    )
    assert len(won) == 5
    assert coupon_state(app, store, code) == (5, 5, {"reserved": 5})

    # One customer in ten tabs at once: one use, however the limits of unpaid orders fall.
    mine = new_coupon(app, store, per_customer_limit=1)
    with app.app_context(), tenant_context(store):
        from app.customers.services import register_customer

        buyer = register_customer(
            email=f"tabs-{uuid.uuid4().hex[:6]}@example.com", password="pass-word1"
        )
        db.session.commit()
        buyer_id = buyer.id
    won = race(app, store, sku, mine, [""] * 10, customer_id=buyer_id)
    assert len(won) == 1
    assert coupon_state(app, store, mine) == (1, 1, {"reserved": 1})


def test_staff_see_coupons_but_only_owners_and_admins_change_them(app, shop, site):
    from app.merchant.models import StaffUser

    store, _ = shop
    code = new_coupon(app, store)
    with app.app_context(), tenant_context(store):
        clerk = StaffUser(email="clerk@example.com", name="Clerk", role="support")
        clerk.set_password("clerk-pass-1")
        db.session.add(clerk)
        db.session.commit()
        coupon_id = db.session.scalar(select(CouponCode.coupon_id).where(CouponCode.code == code))
    staff = site(f"{store.slug}.{APEX}")
    staff.login_store("clerk@example.com", "clerk-pass-1")
    assert code in staff.get("/admin/coupons").get_data(as_text=True)
    token = staff.csrf_token(f"/admin/coupons/{coupon_id}")
    form = {
        "csrf_token": token,
        "name": "Mine",
        "kind": "fixed",
        "value": "1",
        "applies_to": "store",
    }
    assert staff.post("/admin/coupons", data=form).status_code == 403
    assert staff.post(f"/admin/coupons/{coupon_id}/active", data=form).status_code == 403
    assert staff.post(f"/admin/coupons/{coupon_id}/codes", data=form).status_code == 403
    with app.app_context(), tenant_context(store):
        assert db.session.scalar(select(func.count()).select_from(Coupon)) == 1
        assert db.session.get(Coupon, coupon_id).is_active
