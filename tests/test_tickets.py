"""Tickets as services: opening, the SLA clock, escalation, and resolutions whose money lands
with whoever is at fault — proven against the ledger, and under concurrency on PostgreSQL."""

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.audit.services import Actor
from app.catalog.models import Sku, Supplier
from app.db import utcnow
from app.extensions import db
from app.inventory.models import CardKey
from app.ledger.models import LedgerTransaction
from app.ledger.parties import Party
from app.ledger.services import verify
from app.orders.models import Order
from app.orders.services import order_ref
from app.payments.models import Refund
from app.payments.refunds import execute_refund
from app.tickets import services as tickets
from app.tickets.models import Ticket, TicketEscalation
from tenants.context import tenant_context
from tests.support.money import card_sku, owed_to, paid_order, with_markup

BUYER = Actor("customer", None, "buyer@example.com")
STAFF = Actor("store", 1, "staff@example.com")


def supplier_sku(app, **kwargs):
    """A card-key SKU of its own supplier (wholesale 10.00, cost 8.00 unless told)."""
    sku_id = card_sku(app, **kwargs)
    with app.app_context():
        supplier = Supplier(name=f"供货商 {uuid.uuid4().hex[:6]}")
        db.session.add(supplier)
        db.session.flush()
        db.session.get(Sku, sku_id).supplier_id = supplier.id
        db.session.commit()
        return sku_id, Party("supplier", supplier.id)


def open_on(app, store, order_no, subject="卡密无效", body="第一张卡密提示已使用"):
    with app.app_context(), tenant_context(store):
        order = db.session.scalar(select(Order).where(Order.order_no == order_no))
        ticket = tickets.open_ticket(
            store, order, subject, tickets.Note(body), contact="buyer@example.com", actor=BUYER
        )
        db.session.commit()
        return ticket.ticket_no


def refused(app, store, call) -> str:
    with app.app_context(), tenant_context(store):
        with pytest.raises(tickets.TicketRefused) as caught:
            call()
        db.session.rollback()
        return caught.value.message


def order_keys(app, store, order_no):
    with app.app_context():
        return db.session.execute(
            select(CardKey.id, CardKey.status)
            .where(CardKey.order_ref == order_ref(store.id, order_no))
            .order_by(CardKey.id)
        ).all()


def ledger_clean(app):
    with app.app_context():
        assert verify() == []


def test_only_paid_orders_get_one_open_ticket_each(app, make_store):
    store = make_store()
    sku, _ = supplier_sku(app)
    order_no, _ = paid_order(app, store, sku)
    with app.app_context(), tenant_context(store):
        order = db.session.scalar(select(Order).where(Order.order_no == order_no))

        def call(subject="卡密无效", body="第一张卡密提示已使用"):
            return lambda: tickets.open_ticket(
                store, order, subject, tickets.Note(body), contact="", actor=BUYER
            )

    assert "title" in refused(app, store, call(subject="x"))
    assert "Describe" in refused(app, store, call(body="   "))
    assert "5,000" in refused(app, store, call(body="长" * 5001))
    ticket_no = open_on(app, store, order_no)
    assert "already has an open ticket" in refused(app, store, call())
    with app.app_context(), tenant_context(store):
        ticket = tickets.find(ticket_no)
        assert ticket.contact == "buyer@example.com" and ticket.status == "open"
        due = ticket.first_response_due_at - ticket.created_at
        assert timedelta(minutes=59) < due <= timedelta(minutes=60)
        assert not ticket.response_overdue(utcnow())
        assert ticket.response_overdue(utcnow() + timedelta(hours=2))


def test_answers_stop_the_clock_and_escalation_reaches_the_platform(app, make_store):
    store = make_store()
    sku, _ = supplier_sku(app)
    order_no, _ = paid_order(app, store, sku)
    ticket_no = open_on(app, store, order_no)

    def escalate_as_buyer():
        tickets.escalate(store, tickets.find(ticket_no), "customer", actor=BUYER)

    assert "until its answer is due" in refused(app, store, escalate_as_buyer)
    with app.app_context(), tenant_context(store):
        ticket = tickets.find(ticket_no)
        tickets.reply(store, ticket, "store", tickets.Note("请提供截图"), actor=STAFF)
        db.session.commit()
        assert ticket.status == "answered" and ticket.first_responded_at is not None
        tickets.reply(store, ticket, "customer", tickets.Note("截图见附件"), actor=BUYER)
        db.session.commit()
        assert ticket.status == "open"
        before = tickets.escalations_backlog()[0]
        tickets.escalate(store, ticket, "store", actor=STAFF)
        db.session.commit()
        assert tickets.escalations_backlog()[0] == before + 1
    assert "already looking" in refused(
        app, store, lambda: tickets.escalate(store, tickets.find(ticket_no), "store", actor=STAFF)
    )
    with app.app_context(), tenant_context(store):
        tickets.reject(store, ticket_no, "卡密经核实可用", actor=STAFF)
        db.session.commit()
        assert tickets.escalations_backlog()[0] == before
        assert tickets.find(ticket_no).status == "rejected"
    assert "closed" in refused(
        app,
        store,
        lambda: tickets.reply(
            store, tickets.find(ticket_no), "customer", tickets.Note("?"), actor=BUYER
        ),
    )


def test_a_supplier_at_fault_replaces_its_key_for_nothing(app, make_store):
    store = with_markup(app, make_store())
    sku, supplier = supplier_sku(app, keys=5)
    order_no, _ = paid_order(app, store, sku, quantity=2)
    ticket_no = open_on(app, store, order_no)
    (bad, _), (good, _) = order_keys(app, store, order_no)
    before = {p: owed_to(app, p) for p in (supplier, Party("store", store.id))}
    with app.app_context(), tenant_context(store):
        fresh = tickets.replace_keys(store, ticket_no, [bad], fault="supplier", actor=STAFF)
        db.session.commit()
        assert len(fresh) == 1
    keys = dict(order_keys(app, store, order_no))
    assert keys[bad] == "void" and keys[good] == "sold"
    assert sorted(keys.values()) == ["sold", "sold", "void"]
    assert {p: owed_to(app, p) for p in before} == before  # no money moved
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(LedgerTransaction)
                .where(LedgerTransaction.kind == "ticket_replacement")
                .where(LedgerTransaction.idempotency_key.like(f"%{ticket_no}%"))
            )
            == 0
        )
    ledger_clean(app)


def test_a_store_at_fault_buys_the_replacement_at_wholesale(app, make_store):
    store = with_markup(app, make_store())
    sku, supplier = supplier_sku(app, wholesale=1000, cost=800, keys=5)
    order_no, _ = paid_order(app, store, sku)
    ticket_no = open_on(app, store, order_no)
    ((bad, _),) = order_keys(app, store, order_no)
    store_party = Party("store", store.id)
    before_store, before_supplier = owed_to(app, store_party), owed_to(app, supplier)
    with app.app_context(), tenant_context(store):
        tickets.replace_keys(store, ticket_no, [bad], fault="store", actor=STAFF)
        db.session.commit()
    after_store, after_supplier = owed_to(app, store_party), owed_to(app, supplier)
    # The store had nothing settled: the whole wholesale price becomes owed, never negative.
    assert after_store["available"] == 0 and after_store["owed"] - before_store["owed"] == 1000
    assert after_supplier["available"] - before_supplier["available"] == 800
    ledger_clean(app)


def test_a_refund_borne_by_the_supplier_leaves_store_and_platform_whole(app, make_store):
    store = with_markup(app, make_store())
    sku, supplier = supplier_sku(app, wholesale=1000, cost=800, keys=5)
    order_no, total = paid_order(app, store, sku)
    assert total == 1200
    ticket_no = open_on(app, store, order_no)
    store_party = Party("store", store.id)
    before_store = owed_to(app, store_party)
    with app.app_context(), tenant_context(store):
        decided = tickets.refund(store, ticket_no, None, fault="supplier", actor=STAFF)
        db.session.commit()
        refund_no = decided.refund_no
    with app.app_context():
        assert execute_refund(refund_no).status == "succeeded"
        assert (
            db.session.scalar(select(Refund.amount_cents).where(Refund.refund_no == refund_no))
            == 1200
        )
    after_store = owed_to(app, store_party)
    # The refund took the store's profit back from pending; the supplier paid it into available.
    assert before_store["pending"] > 0 and after_store["pending"] == 0
    assert after_store["available"] == before_store["pending"]
    assert owed_to(app, supplier) == {"pending": 0, "available": 0, "withdrawing": 0, "owed": 400}
    ledger_clean(app)
    with app.app_context(), tenant_context(store):
        assert tickets.find(ticket_no).resolution == "refund"
        assert (
            db.session.scalar(select(Order.status).where(Order.order_no == order_no)) == "refunded"
        )


def test_wrong_keys_and_empty_stock_are_refused_and_change_nothing(app, make_store):
    store = make_store()
    sku, _ = supplier_sku(app, keys=1)
    order_no, _ = paid_order(app, store, sku)
    other_no, _ = paid_order(app, store, card_sku(app))
    ticket_no = open_on(app, store, order_no)
    ((mine, _),) = order_keys(app, store, order_no)
    ((theirs, _),) = order_keys(app, store, other_no)

    def replace(ids, fault="supplier"):
        return lambda: tickets.replace_keys(store, ticket_no, ids, fault=fault, actor=STAFF)

    assert "faulty keys" in refused(app, store, replace([theirs]))
    assert "faulty keys" in refused(app, store, replace([]))
    assert "who pays" in refused(app, store, replace([mine], fault="none"))
    assert "Not enough keys" in refused(app, store, replace([mine]))  # the only key was sold
    assert dict(order_keys(app, store, order_no)) == {mine: "sold"}
    with app.app_context(), tenant_context(store):
        assert tickets.find(ticket_no).status == "open"


def test_two_staff_resolving_at_once_replace_once(app, make_store, backend):
    if not backend.is_postgres:
        pytest.skip("row locks are PostgreSQL's")
    store = make_store()
    sku, _ = supplier_sku(app, keys=6)
    order_no, _ = paid_order(app, store, sku)
    ticket_no = open_on(app, store, order_no)
    ((bad, _),) = order_keys(app, store, order_no)
    outcomes, barrier = [], threading.Barrier(4)

    def resolve():
        with app.app_context(), tenant_context(store):
            barrier.wait()
            try:
                tickets.replace_keys(store, ticket_no, [bad], fault="supplier", actor=STAFF)
                db.session.commit()
                outcomes.append("replaced")
            except tickets.TicketRefused:
                db.session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=resolve) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 3 + ["replaced"]
    assert sorted(status for _, status in order_keys(app, store, order_no)) == ["sold", "void"]
    with app.app_context(), tenant_context(store):
        assert db.session.scalar(select(func.count()).select_from(Ticket)) >= 1
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(TicketEscalation)
                .where(TicketEscalation.ticket_no == ticket_no)
            )
            == 0
        )
