"""Risk control end to end: blocked checkouts create nothing, held orders wait for review with
the payment booked, approve delivers and reject refunds (ledger verified), velocity counters hold
under concurrency, and one store never sees or decides another's reviews."""

import threading
import time
import uuid

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.audit.services import Actor
from app.extensions import db
from app.inventory.models import CardKey
from app.ledger.models import LedgerTransaction
from app.ledger.services import verify
from app.merchant.models import StoreSettings
from app.orders.models import Order, OrderIndex
from app.orders.services import OrderError, create_order, order_ref
from app.payments.models import Refund
from app.payments.refunds import execute_refund
from app.risk import reviews
from app.risk.models import BlacklistEntry, RiskReview
from app.risk.services import _increment, _increment_in_database
from tenants.context import tenant_context
from tests.support.money import card_sku, with_markup
from tests.test_refunds import balance, notify, open_payment, order_of

PLATFORM_ACTOR = Actor("platform", 1, "reviewer@example.com")
STORE_ACTOR = Actor("store", 1, "owner@example.com")


def store_setting(app, store, **values):
    with app.app_context(), tenant_context(store):
        row = db.session.get(StoreSettings, 1)
        for name, value in values.items():
            setattr(row, name, value)
        db.session.commit()


def list_entry(app, tenant_id, kind, value):
    with app.app_context():
        reviews.add_entry(tenant_id, kind, value, actor=PLATFORM_ACTOR)
        db.session.commit()


def counts(app, store, sku):
    with app.app_context(), tenant_context(store):
        return (
            db.session.scalar(select(func.count()).select_from(Order)),
            db.session.scalar(
                select(func.count()).select_from(OrderIndex).where(OrderIndex.tenant_id == store.id)
            ),
            db.session.scalar(
                select(func.count())
                .select_from(CardKey)
                .where(CardKey.sku_id == sku, CardKey.status == "available")
            ),
        )


def checkout(app, store, sku, **contact):
    contact.setdefault("contact_email", f"b-{uuid.uuid4().hex[:8]}@example.com")
    with app.app_context(), tenant_context(store):
        return create_order(store, sku_id=sku, quantity=1, **contact).order_no


def review_of(app, store, order_no) -> RiskReview:
    with app.app_context():
        review = db.session.scalar(
            select(RiskReview).where(
                RiskReview.tenant_id == store.id, RiskReview.order_no == order_no
            )
        )
        db.session.expunge_all()
        return review


def key_statuses(app, store, order_no):
    with app.app_context():
        return sorted(
            db.session.scalars(
                select(CardKey.status).where(CardKey.order_ref == order_ref(store.id, order_no))
            )
        )


def paid_transactions(app, store, order_no):
    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(LedgerTransaction)
            .where(LedgerTransaction.idempotency_key == f"order:{store.id}:{order_no}:paid")
        )


@pytest.mark.parametrize(
    "kind, entry, contact",
    [
        ("email", "*@spam.example", {"contact_email": "bot7@spam.example"}),
        ("phone", "139 0000 1111", {"contact_email": "", "contact_phone": "13900001111"}),
        ("ip", "203.0.113.0/24", {"client_ip": "203.0.113.77"}),
    ],
)
def test_a_blacklisted_buyer_is_blocked_and_nothing_is_created(
    app, make_store, kind, entry, contact
):
    store = make_store()
    sku = card_sku(app, keys=3)
    list_entry(app, None, kind, entry)  # the platform's list reaches every store
    before = counts(app, store, sku)
    with pytest.raises(OrderError) as refused:
        checkout(app, store, sku, **contact)
    assert refused.value.field == "sku_id"
    assert counts(app, store, sku) == before
    with app.app_context():
        db.session.execute(db.delete(BlacklistEntry).where(BlacklistEntry.tenant_id.is_(None)))
        db.session.commit()


def test_a_store_list_applies_to_that_store_only(app, make_store):
    store_a, store_b = make_store(), make_store()
    sku = card_sku(app, keys=3)
    list_entry(app, store_a.id, "email", "*@blocked-a.example")
    with pytest.raises(OrderError):
        checkout(app, store_a, sku, contact_email="x@blocked-a.example")
    assert checkout(app, store_b, sku, contact_email="x@blocked-a.example")


def test_single_order_maximum_of_the_store_at_its_boundary(app, make_store):
    store = make_store()
    sku = card_sku(app, wholesale=1000, keys=3)
    store_setting(app, store, risk_order_max_cents=1000)
    assert checkout(app, store, sku)  # exactly the maximum
    store_setting(app, store, risk_order_max_cents=999)
    before = counts(app, store, sku)
    with pytest.raises(OrderError) as refused:
        checkout(app, store, sku)
    assert refused.value.params == {"max": "9.99"}
    assert counts(app, store, sku) == before


def test_daily_maximum_per_contact_counts_the_last_24_hours(app, make_store):
    store = make_store()
    sku = card_sku(app, wholesale=1000, keys=5)
    store_setting(app, store, risk_daily_max_cents=2000)
    email = f"daily-{uuid.uuid4().hex[:6]}@example.com"
    checkout(app, store, sku, contact_email=email)
    checkout(app, store, sku, contact_email=email)  # 20.00: exactly the maximum
    with pytest.raises(OrderError):
        checkout(app, store, sku, contact_email=email)
    assert checkout(app, store, sku)  # someone else is not affected


def test_velocity_per_contact_per_minute(app, make_store):
    store = make_store()
    sku = card_sku(app, wholesale=100, keys=6)
    store_setting(app, store, risk_per_minute=2)
    if time.time() % 60 > 55:  # keep the attempts in one minute slot
        time.sleep(6)
    email = f"fast-{uuid.uuid4().hex[:6]}@example.com"
    checkout(app, store, sku, contact_email=email)
    checkout(app, store, sku, contact_email=email)
    with pytest.raises(OrderError) as refused:
        checkout(app, store, sku, contact_email=email)
    assert refused.value.params == {"count": 3, "max": 2}


def hold_with_aml(app, monkeypatch, store, sku, **payment):
    """An order at exactly the AML threshold: paid, then held for the platform."""
    with app.app_context(), tenant_context(store):
        order = create_order(store, sku_id=sku, quantity=1, contact_email="aml@example.com")
        total = order.total_cents
        db.session.rollback()
    monkeypatch.setitem(app.config, "RISK_AML_ORDER_CENTS", total)
    order_no, payment_no = open_payment(app, store, sku, email=f"{uuid.uuid4().hex[:8]}@x.example")
    assert notify(app, payment_no) == "review"
    return order_no, total


def test_review_holds_delivery_and_approval_delivers_once(app, make_store, monkeypatch):
    store = with_markup(app, make_store())
    sku = card_sku(app, keys=3)
    order_no, total = hold_with_aml(app, monkeypatch, store, sku)
    assert order_of(app, store, order_no).status == "review"
    assert key_statuses(app, store, order_no) == ["reserved"]
    review = review_of(app, store, order_no)
    assert (review.queue, review.status, review.amount_cents) == ("platform", "waiting", total)
    assert [r["code"] for r in review.reasons] == ["aml_order"]
    assert paid_transactions(app, store, order_no) == 1  # the money is booked at payment
    with app.app_context():
        assert reviews.platform_backlog()[0] >= 1
        assert verify() == []

    with app.app_context(), tenant_context(store):
        with pytest.raises(LookupError):  # not the store's queue
            reviews.approve(store, review.id, queue="store", actor=STORE_ACTOR)
        db.session.rollback()
        assert reviews.approve(store, review.id, queue="platform", actor=PLATFORM_ACTOR) == (
            "delivered"
        )
        with pytest.raises(reviews.ReviewRefused):
            reviews.approve(store, review.id, queue="platform", actor=PLATFORM_ACTOR)
        db.session.rollback()
    assert order_of(app, store, order_no).status == "delivered"
    assert key_statuses(app, store, order_no) == ["sold"]
    assert paid_transactions(app, store, order_no) == 1
    assert review_of(app, store, order_no).status == "approved"
    with app.app_context():
        assert verify() == []
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "risk.review_approved", AuditEvent.target == order_no)
            )
            == 1
        )


def test_rejection_refunds_returns_the_keys_and_blacklists_the_buyer(app, make_store, monkeypatch):
    store = with_markup(app, make_store())
    sku = card_sku(app, keys=3)
    order_no, total = hold_with_aml(app, monkeypatch, store, sku)
    buyer = order_of(app, store, order_no).contact_email
    review = review_of(app, store, order_no)
    pending = f"store:{store.id}:pending"
    assert balance(app, pending) != 0
    with app.app_context(), tenant_context(store):
        refund_no = reviews.reject(
            store,
            review.id,
            queue="platform",
            actor=PLATFORM_ACTOR,
            note="mule account",
            blacklist_kinds=("email",),
        )
    assert order_of(app, store, order_no).status == "refunded"
    assert key_statuses(app, store, order_no) == []  # back in stock, no longer the order's
    with app.app_context():
        assert execute_refund(refund_no).status == "succeeded"
        refund = db.session.scalar(select(Refund).where(Refund.refund_no == refund_no))
        assert refund.amount_cents == total
        assert verify() == []
    assert balance(app, pending) == 0
    assert review_of(app, store, order_no).status == "rejected"
    monkeypatch.setitem(app.config, "RISK_AML_ORDER_CENTS", 10**9)
    other_store = make_store()
    with pytest.raises(OrderError):  # the platform's list: every store
        checkout(app, other_store, sku, contact_email=buyer)
    with app.app_context():
        db.session.execute(db.delete(BlacklistEntry).where(BlacklistEntry.tenant_id.is_(None)))
        db.session.commit()


def test_the_store_threshold_sends_orders_to_the_store_queue_only(app, make_store, monkeypatch):
    store = make_store()
    sku = card_sku(app, wholesale=1000, keys=3)
    store_setting(app, store, risk_review_over_cents=999)
    order_no, payment_no = open_payment(app, store, sku)
    assert notify(app, payment_no) == "review"
    review = review_of(app, store, order_no)
    assert review.queue == "store"
    with app.app_context():
        assert review.id not in [r.id for r in reviews.waiting("platform")]
        assert review.id in [r.id for r in reviews.waiting("store", store.id)]
        assert reviews.find(review.id, queue="store", tenant_id=store.id + 10**6) is None
    with app.app_context(), tenant_context(store):
        assert reviews.approve(store, review.id, queue="store", actor=STORE_ACTOR) == "delivered"
    with app.app_context():
        assert verify() == []


def test_velocity_counters_are_exact_under_concurrency(app, backend):
    if backend.name != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")
    for increment in (_increment, _increment_in_database):  # Redis, and the database fallback
        key = f"risk:test:{uuid.uuid4().hex}"
        seen, barrier = [], threading.Barrier(12)

        def hit(increment=increment, key=key, seen=seen, barrier=barrier):
            with app.app_context():
                barrier.wait()
                seen.append(increment(key, 60))

        threads = [threading.Thread(target=hit) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(seen) == list(range(1, 13))


def test_concurrent_checkouts_respect_the_per_minute_limit(app, backend, make_store):
    """On PostgreSQL + Redis, and in the embedded mode (SQLite, counted in the database)."""
    store = make_store()
    sku = card_sku(app, wholesale=100, keys=20)
    store_setting(app, store, risk_per_minute=3)
    if time.time() % 60 > 50:
        time.sleep(11)
    made, refused, barrier = [], [], threading.Barrier(10)

    def buy():
        with app.app_context(), tenant_context(store):
            barrier.wait()
            try:
                made.append(
                    create_order(
                        store,
                        sku_id=sku,
                        quantity=1,
                        contact_email=f"{uuid.uuid4().hex}@x.cn",
                        client_ip="198.51.100.9",
                    ).order_no
                )
            except OrderError:
                refused.append(1)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=buy) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(made), len(refused)) == (3, 7)


def test_an_approved_manual_order_goes_to_the_stores_delivery_queue(app, make_store):
    from tests.support.catalog import make_product

    store = make_store()
    sku = make_product(app, delivery_type="manual", skus=[(1000, 800)])["sku_ids"][0]
    store_setting(app, store, risk_review_over_cents=999)
    order_no, payment_no = open_payment(app, store, sku)
    assert notify(app, payment_no) == "review"
    review = review_of(app, store, order_no)
    with app.app_context(), tenant_context(store):
        assert reviews.approve(store, review.id, queue="store", actor=STORE_ACTOR) == "paid"
    assert order_of(app, store, order_no).status == "paid"
    with app.app_context():
        assert verify() == []


def test_two_reviewers_deciding_at_once_deliver_or_refund_exactly_once(app, backend, make_store):
    if backend.name != "postgresql":
        pytest.skip("row locks are what this proves")
    store = make_store()
    sku = card_sku(app, wholesale=1000, keys=3)
    store_setting(app, store, risk_review_over_cents=999)
    order_no, payment_no = open_payment(app, store, sku)
    assert notify(app, payment_no) == "review"
    review_id = review_of(app, store, order_no).id
    results, barrier = [], threading.Barrier(4)

    def decide(index):
        with app.app_context(), tenant_context(store):
            barrier.wait()
            try:
                if index % 2:
                    reviews.reject(store, review_id, queue="store", actor=STORE_ACTOR)
                    results.append("rejected")
                else:
                    reviews.approve(store, review_id, queue="store", actor=STORE_ACTOR)
                    results.append("approved")
            except reviews.ReviewRefused:
                db.session.rollback()
                results.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results).count("refused") == 3
    decided = review_of(app, store, order_no).status
    assert order_of(app, store, order_no).status == (
        "delivered" if decided == "approved" else "refunded"
    )
    expected = ["sold"] if decided == "approved" else []
    assert key_statuses(app, store, order_no) == expected
    with app.app_context():
        refunds = db.session.scalar(
            select(func.count()).select_from(Refund).where(Refund.order_no == order_no)
        )
        assert refunds == (1 if decided == "rejected" else 0)
        assert verify() == []


def test_a_held_top_up_is_submitted_only_after_approval(app, backend, make_store, simulator):
    from app.fulfilment.models import Topup
    from app.payments.services import start_payment
    from tests.support.topups import simulated_supplier, topup_product
    from tests.test_jobs import wait_for_jobs

    store = make_store()
    supplier = simulated_supplier(app, simulator)
    sku = topup_product(app, [(supplier, "CM10")])["sku_ids"][0]
    store_setting(app, store, risk_review_over_cents=1)
    with app.app_context(), tenant_context(store):
        order = create_order(
            store, sku_id=sku, quantity=1, contact_email="topup@example.com",
            account_fields={"account": "13800138000"},
        )  # fmt: skip
        payment = start_payment(store, order, "sandbox", return_url="http://example.invalid/")
        order_no, payment_no = order.order_no, payment.payment_no
    assert notify(app, payment_no) == "review"

    def topups():
        with app.app_context():
            return db.session.scalars(select(Topup.status).where(Topup.order_no == order_no)).all()

    assert topups() == []  # nothing bought from the supplier while held
    review = review_of(app, store, order_no)
    with app.app_context(), tenant_context(store):
        assert reviews.approve(store, review.id, queue="store", actor=STORE_ACTOR) == ("fulfilling")
    with app.app_context():
        wait_for_jobs(app, backend)
    assert topups() == ["success"]
    assert order_of(app, store, order_no).status == "delivered"
    with app.app_context():
        assert verify() == []


@pytest.mark.parametrize("whose", ["store", "platform"])
def test_blacklisted_between_checkout_and_payment_is_held_for_the_lists_owner(
    app, make_store, whose
):
    store = make_store()
    sku = card_sku(app, wholesale=1000, keys=2)
    email = f"late-{uuid.uuid4().hex[:6]}@example.com"
    order_no, payment_no = open_payment(app, store, sku, email=email)
    list_entry(app, store.id if whose == "store" else None, "email", email)
    assert notify(app, payment_no) == "review"  # the money is in: a person decides
    review = review_of(app, store, order_no)
    assert review.queue == whose and [r["code"] for r in review.reasons] == ["blacklist_email"]
    assert key_statuses(app, store, order_no) == ["reserved"]
    with app.app_context():
        db.session.execute(db.delete(BlacklistEntry).where(BlacklistEntry.value == email))
        db.session.commit()
