"""Direct top-ups through a real local supplier: delivered once, unknowns resolved by query,
failures moved to the next supplier or refunded exactly once, callbacks verified."""

import uuid
from datetime import timedelta

from sqlalchemy import func, select, update

from app.db import utcnow
from app.extensions import db
from app.fulfilment.models import Topup
from app.fulfilment.services import sweep
from app.ledger.services import verify
from app.orders.models import Order
from app.orders.services import create_order
from app.payments.models import Refund
from app.payments.services import start_payment
from tenants.context import tenant_context
from tests.support.topups import simulated_supplier, topup_product
from tests.test_jobs import wait_for_jobs
from tests.test_refunds import notify

APEX = "kameng.test"


def drain(app, backend):
    with app.app_context():
        wait_for_jobs(app, backend)


def check_now(app, backend):
    """What the periodic sweeper does once its checks are due."""
    with app.app_context():
        db.session.execute(
            update(Topup)
            .where(Topup.status.not_in(("success", "failed")))
            .values(next_check_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        swept = sweep()
    drain(app, backend)
    return swept


def buy(app, backend, store, sku_id, quantity=1, phone="13800138000"):
    with app.app_context(), tenant_context(store):
        order = create_order(
            store, sku_id=sku_id, quantity=quantity,
            contact_email=f"t-{uuid.uuid4().hex[:6]}@example.com",
            account_fields={"account": phone},
        )  # fmt: skip
        payment = start_payment(store, order, "sandbox", return_url="http://example.invalid/")
        order_no, payment_no = order.order_no, payment.payment_no
    assert notify(app, payment_no) == "fulfilling"
    drain(app, backend)
    return order_no


def topup_of(app, order_no):
    with app.app_context():
        topup = db.session.scalar(select(Topup).where(Topup.order_no == order_no))
        db.session.expunge(topup)
        return topup


def order_status(app, store, order_no):
    with app.app_context(), tenant_context(store):
        return db.session.scalar(select(Order.status).where(Order.order_no == order_no))


def refunds_of(app, order_no):
    with app.app_context():
        return db.session.scalars(select(Refund.status).where(Refund.order_no == order_no)).all()


def test_a_paid_top_up_is_fulfilled_once_and_delivered(app, backend, make_store, simulator):
    store = make_store()
    supplier = simulated_supplier(app, simulator)
    item = topup_product(app, [(supplier, "CM10")])
    order_no = buy(app, backend, store, item["sku_ids"][0])
    topup = topup_of(app, order_no)
    assert topup.status == "success" and topup.delivered_quantity == 1
    assert simulator.placed_count(topup.reference) == 1
    assert simulator.order(topup.reference).account == "13800138000"
    assert order_status(app, store, order_no) == "delivered"
    with app.app_context():
        assert verify() == []


def test_a_lost_answer_is_resolved_by_query_not_by_buying_again(
    app, backend, make_store, simulator
):
    store = make_store()
    supplier = simulated_supplier(app, simulator)
    item = topup_product(app, [(supplier, "CM10")])
    simulator.configure(timeout_rate=1.0, stall_seconds=4)  # it buys, then answers too late
    order_no = buy(app, backend, store, item["sku_ids"][0])
    topup = topup_of(app, order_no)
    assert topup.status == "unknown" and order_status(app, store, order_no) == "fulfilling"
    simulator.configure(timeout_rate=0.0)
    check_now(app, backend)
    topup = topup_of(app, order_no)
    assert topup.status == "success"
    assert simulator.placed_count(topup.reference) == 1
    assert order_status(app, store, order_no) == "delivered" and refunds_of(app, order_no) == []


def test_a_supplier_error_then_recovery_buys_exactly_once(app, backend, make_store, simulator):
    store = make_store()
    supplier = simulated_supplier(app, simulator)
    item = topup_product(app, [(supplier, "CM10")])
    simulator.configure(fault="http_500")
    order_no = buy(app, backend, store, item["sku_ids"][0])
    assert topup_of(app, order_no).status == "unknown"
    check_now(app, backend)  # still failing: stays unknown, checked again later
    assert topup_of(app, order_no).status == "unknown"
    simulator.configure(fault="")
    check_now(app, backend)
    topup = topup_of(app, order_no)
    assert topup.status == "success" and simulator.placed_count(topup.reference) == 1
    assert order_status(app, store, order_no) == "delivered"


def test_a_failing_supplier_is_replaced_by_the_next_offer(app, backend, make_store, simulator):
    store = make_store()
    first, second = simulated_supplier(app, simulator), simulated_supplier(app, simulator)
    item = topup_product(app, [(first, "FAIL10"), (second, "CM10")])
    order_no = buy(app, backend, store, item["sku_ids"][0])
    topup = topup_of(app, order_no)
    assert topup.status == "success" and topup.supplier_id == second and topup.attempt == 2
    assert order_status(app, store, order_no) == "delivered"


def test_a_top_up_that_fails_for_good_is_refunded_exactly_once(app, backend, make_store, simulator):
    store = make_store()
    supplier = simulated_supplier(app, simulator)
    item = topup_product(app, [(supplier, "FAIL10")])
    order_no = buy(app, backend, store, item["sku_ids"][0])
    drain(app, backend)  # the refund job
    assert topup_of(app, order_no).status == "failed"
    assert order_status(app, store, order_no) == "refunded"
    check_now(app, backend)  # the sweeper finds nothing to do again
    assert refunds_of(app, order_no) == ["succeeded"]
    with app.app_context():
        assert verify() == []


def test_a_partial_delivery_refunds_the_rest(app, backend, make_store, simulator):
    store = make_store()
    supplier = simulated_supplier(app, simulator)
    item = topup_product(app, [(supplier, "CM10")])
    simulator.configure(partial=True)
    order_no = buy(app, backend, store, item["sku_ids"][0], quantity=4)
    drain(app, backend)
    assert topup_of(app, order_no).delivered_quantity == 2
    assert order_status(app, store, order_no) == "partially_refunded"
    with app.app_context():
        amount = db.session.scalar(
            select(func.sum(Refund.amount_cents)).where(Refund.order_no == order_no)
        )
    with app.app_context(), tenant_context(store):
        order = db.session.scalar(select(Order).where(Order.order_no == order_no))
        assert amount == order.total_cents // 2
    with app.app_context():
        assert verify() == []


def test_processing_top_ups_finish_by_verified_callback(app, backend, make_store, simulator, apex):
    store = make_store()
    supplier = simulated_supplier(app, simulator)
    item = topup_product(app, [(supplier, "CM10")])
    simulator.configure(processing_rate=1.0, callback_delay_ms=50, callback_retries=1)
    order_no = buy(app, backend, store, item["sku_ids"][0])
    assert topup_of(app, order_no).status == "processing"
    simulator.wait_idle()  # it settled and tried to call us back (at a host it cannot reach)
    notification = simulator.callbacks[-1]["params"]
    forged = dict(notification, status="failed")
    refused = apex.post(f"/suppliers/callback/{supplier}", data=forged)
    assert refused.status_code == 400 and topup_of(app, order_no).status == "processing"
    accepted = apex.post(f"/suppliers/callback/{supplier}", data=notification)
    assert accepted.get_data(as_text=True) == "success"
    assert topup_of(app, order_no).status == "success"
    assert apex.post(f"/suppliers/callback/{supplier}", data=notification).status_code == 200
    drain(app, backend)
    assert order_status(app, store, order_no) == "delivered"


def test_an_outage_opens_the_breaker_and_routes_around_the_supplier(
    app, backend, make_store, simulator
):
    from app.catalog.models import Supplier
    from workers.simulator import Simulator

    store = make_store()
    with Simulator() as backup:
        broken, healthy = simulated_supplier(app, simulator), simulated_supplier(app, backup)
        item = topup_product(app, [(broken, "CM10"), (healthy, "CM10")])
        simulator.configure(fault="http_500")
        orders = [buy(app, backend, store, item["sku_ids"][0]) for _ in range(5)]
        with app.app_context():
            assert db.session.get(Supplier, broken).breaker_state == "open"
        later = buy(app, backend, store, item["sku_ids"][0])
        topup = topup_of(app, later)
        assert topup.supplier_id == healthy and topup.status == "success"
        assert all(topup_of(app, no).status == "unknown" for no in orders)
