"""Orders: numbers, the state machine, reservation at creation, expiry — and no oversell."""

import re
import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.db import utcnow
from app.extensions import db
from app.inventory.models import CardKey
from app.orders import services as orders
from app.orders.models import Order, OrderIndex
from tenants.context import tenant_context
from tests.support.catalog import add_keys, make_product


def stock(app, sku_id):
    from app.inventory.services import stock_counts

    with app.app_context():
        return stock_counts([sku_id])[sku_id]


def buy(app, store, sku_id, quantity=1, **kwargs):
    kwargs.setdefault("contact_email", f"buyer-{uuid.uuid4().hex[:6]}@example.com")
    with app.app_context(), tenant_context(store):
        order = orders.create_order(store, sku_id=sku_id, quantity=quantity, **kwargs)
        return order.order_no


def test_order_numbers_are_unique_and_not_sequential():
    numbers = [orders.new_order_no() for _ in range(2000)]
    assert len(set(numbers)) == 2000
    assert all(re.fullmatch(r"\d{18}", n) for n in numbers)
    assert sorted(numbers) != numbers


def test_creating_an_order_prices_it_on_the_server_and_reserves_keys(app, make_store):
    from app.pricing.services import save_rule

    store = make_store()
    item = make_product(app, skus=[(1000, 800)])
    sku_id = item["sku_ids"][0]
    add_keys(app, sku_id, [f"R{uuid.uuid4().hex}" for _ in range(5)])
    with app.app_context(), tenant_context(store):
        save_rule(store, "store", 0, "percent", 2000)
    order_no = buy(app, store, sku_id, quantity=2)
    with app.app_context(), tenant_context(store):
        order = db.session.scalar(select(Order).where(Order.order_no == order_no))
        assert (order.status, order.total_cents) == ("pending_payment", 2400)
        line = order.items[0]
        assert (line.unit_price_cents, line.unit_wholesale_cents, line.unit_cost_cents) == (
            1200,
            1000,
            800,
        )
        assert [e.to_status for e in order.events] == ["pending_payment"]
        assert db.session.get(OrderIndex, order_no).tenant_id == store.id
    assert stock(app, sku_id)["reserved"] == 2 and stock(app, sku_id)["available"] == 3


def test_bad_orders_are_refused_and_reserve_nothing(app, make_store):
    store, other = make_store(), make_store()
    item = make_product(app, skus=[(1000, 800)])
    sku_id = item["sku_ids"][0]
    add_keys(app, sku_id, [f"B{uuid.uuid4().hex}" for _ in range(3)])
    hidden = make_product(app, published=False)
    cases = [
        ({"sku_id": hidden["sku_ids"][0], "quantity": 1}, "sku_id"),
        ({"sku_id": 10**9, "quantity": 1}, "sku_id"),
        ({"sku_id": sku_id, "quantity": 0}, "quantity"),
        ({"sku_id": sku_id, "quantity": 101}, "quantity"),
        ({"sku_id": sku_id, "quantity": 4}, "quantity"),  # only 3 in stock
        ({"sku_id": sku_id, "quantity": 1, "contact_email": ""}, "contact_email"),
    ]
    for kwargs, field in cases:
        kwargs.setdefault("contact_email", "a@example.com")
        with app.app_context(), tenant_context(store), pytest.raises(orders.OrderError) as error:
            orders.create_order(store, **kwargs)
        assert error.value.field == field
    assert stock(app, sku_id)["available"] == 3
    with app.app_context(), tenant_context(store):
        assert db.session.scalar(select(func.count()).select_from(Order)) == 0
    with app.app_context(), tenant_context(other):
        assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_too_many_unpaid_orders_from_one_ip_are_refused(app, make_store):
    store = make_store()
    item = make_product(app, delivery_type="manual")
    for _ in range(3):  # the default limit
        buy(app, store, item["sku_ids"][0], client_ip="203.0.113.9")
    with pytest.raises(orders.OrderError):
        buy(app, store, item["sku_ids"][0], client_ip="203.0.113.9")
    buy(app, store, item["sku_ids"][0], client_ip="203.0.113.10")  # someone else is fine


def test_each_store_sets_its_own_payment_window_and_unpaid_limits(app, make_store):
    from app.merchant.services import SettingsError, update_checkout_settings

    store, other = make_store(), make_store()
    item = make_product(app, delivery_type="manual")
    with app.app_context(), tenant_context(store):
        with pytest.raises(SettingsError):
            update_checkout_settings(
                payment_providers=["nosuch"], order_expiry_minutes=30,
                max_unpaid_per_ip=1, max_unpaid_per_contact=5,
            )  # fmt: skip
        with pytest.raises(SettingsError):
            update_checkout_settings(
                payment_providers=[], order_expiry_minutes=2,
                max_unpaid_per_ip=1, max_unpaid_per_contact=5,
            )  # fmt: skip
        update_checkout_settings(
            payment_providers=["sandbox"], order_expiry_minutes=30,
            max_unpaid_per_ip=1, max_unpaid_per_contact=5,
        )  # fmt: skip
    first = buy(app, store, item["sku_ids"][0], client_ip="203.0.113.20")
    with pytest.raises(orders.OrderError):
        buy(app, store, item["sku_ids"][0], client_ip="203.0.113.20")
    buy(app, other, item["sku_ids"][0], client_ip="203.0.113.20")  # the other store: default 3
    buy(app, other, item["sku_ids"][0], client_ip="203.0.113.20")
    with app.app_context(), tenant_context(store):
        order = db.session.scalar(select(Order).where(Order.order_no == first))
        window = order.expires_at - order.created_at
    assert 29 * 60 < window.total_seconds() <= 30 * 60


def test_the_state_machine_refuses_illegal_moves_and_keeps_a_timeline(app, make_store):
    store = make_store()
    item = make_product(app, delivery_type="manual")
    order_no = buy(app, store, item["sku_ids"][0])
    with app.app_context(), tenant_context(store):
        order = db.session.scalar(select(Order).where(Order.order_no == order_no))
        with pytest.raises(orders.IllegalTransition):
            orders.transition(order, "delivered")
        orders.transition(order, "paid", actor="test", note="callback")
        orders.transition(order, "delivered", actor="test")
        with pytest.raises(orders.IllegalTransition):
            orders.transition(order, "pending_payment")
        db.session.commit()
        assert [(e.from_status, e.to_status) for e in order.events] == [
            (None, "pending_payment"),
            ("pending_payment", "paid"),
            ("paid", "delivered"),
        ]


def test_unpaid_orders_expire_and_release_their_keys(app, make_store):
    store = make_store()
    item = make_product(app)
    sku_id = item["sku_ids"][0]
    add_keys(app, sku_id, [f"E{uuid.uuid4().hex}" for _ in range(2)])
    order_no = buy(app, store, sku_id, quantity=2)
    assert stock(app, sku_id)["reserved"] == 2
    with app.app_context(), tenant_context(store):
        assert orders.expire_due_orders(store) == 0  # not due yet
        db.session.execute(
            update(Order)
            .where(Order.order_no == order_no)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        assert orders.expire_due_orders(store) == 1
        assert orders.expire_due_orders(store) == 0  # run twice, expires once
        order = db.session.scalar(select(Order).where(Order.order_no == order_no))
        assert order.status == "expired"
    assert stock(app, sku_id) == {"available": 2, "reserved": 0, "sold": 0, "void": 0}


@pytest.mark.slow
def test_fifty_concurrent_buyers_for_ten_keys_never_oversell(app, make_store):
    store = make_store()
    item = make_product(app, skus=[(500, 400)])
    sku_id = item["sku_ids"][0]
    add_keys(app, sku_id, [f"C{uuid.uuid4().hex}" for _ in range(10)])
    barrier, outcomes = threading.Barrier(50), []

    def buyer(n):
        barrier.wait()
        try:
            outcomes.append(buy(app, store, sku_id, contact_email=f"c{n}@example.com"))
        except orders.OrderError:
            outcomes.append(None)

    threads = [threading.Thread(target=buyer, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [o for o in outcomes if o]
    assert len(winners) == 10 and len(outcomes) == 50
    with app.app_context():
        refs = db.session.scalars(select(CardKey.order_ref).where(CardKey.sku_id == sku_id)).all()
    assert len(set(refs)) == 10  # every key in exactly one order
    assert sorted(r.split(":")[1] for r in refs) == sorted(winners)


def test_the_periodic_expiry_job_reaches_every_store(app, backend, make_store):
    from tests.test_jobs import wait_for_jobs
    from workers.runner import execute

    store = make_store()
    item = make_product(app)
    sku_id = item["sku_ids"][0]
    add_keys(app, sku_id, [f"P{uuid.uuid4().hex}"])
    order_no = buy(app, store, sku_id)
    with app.app_context(), tenant_context(store):
        db.session.execute(
            update(Order)
            .where(Order.order_no == order_no)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        db.session.commit()
    execute(app, "workers.jobs.orders.expire_orders_everywhere", None, [])
    with app.app_context():
        wait_for_jobs(app, backend)
    with app.app_context(), tenant_context(store):
        status = db.session.scalar(select(Order.status).where(Order.order_no == order_no))
    assert status == "expired"
    assert stock(app, sku_id)["available"] == 1


def test_top_up_account_fields_must_match_their_patterns(app, make_store, simulator):
    from tests.support.topups import simulated_supplier, topup_product

    store = make_store()
    item = topup_product(app, [(simulated_supplier(app, simulator), "CM10")])
    for bad in ({}, {"account": "12345"}, {"account": "13800138000; drop table"}):
        with app.app_context(), tenant_context(store), pytest.raises(orders.OrderError) as error:
            orders.create_order(
                store,
                sku_id=item["sku_ids"][0],
                quantity=1,
                contact_email="a@example.com",
                account_fields=bad,
            )
        assert error.value.field == "field_account"
    order_no = buy(
        app, store, item["sku_ids"][0], account_fields={"account": " 13800138000 ", "x": "y"}
    )
    with app.app_context(), tenant_context(store):
        order = db.session.scalar(select(Order).where(Order.order_no == order_no))
        assert order.items[0].account_fields == {"account": "13800138000"}


def test_a_top_up_nobody_can_fulfil_cannot_be_ordered(app, make_store):
    store = make_store()
    from tests.support.topups import PHONE

    item = make_product(app, delivery_type="direct_topup", input_schema=PHONE)  # no offer
    with app.app_context(), tenant_context(store), pytest.raises(orders.OrderError) as error:
        orders.create_order(
            store, sku_id=item["sku_ids"][0], quantity=1, contact_email="a@example.com",
            account_fields={"account": "13800138000"},
        )  # fmt: skip
    assert error.value.field == "sku_id"
