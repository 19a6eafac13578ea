"""Tickets as people use them: the buyer opens one from the order page and follows it by its
signed link; the store answers, escalates and resolves; the platform steps into escalated ones.
Other stores and unsigned visitors see nothing."""

import io
import re

from PIL import Image
from sqlalchemy import select

from app.extensions import db
from app.tickets.models import Ticket
from tenants.context import tenant_context
from tests.support.money import card_sku, order_total, paid_order, with_markup
from tests.test_jobs import outbox_messages, wait_for_jobs
from tests.test_tickets import order_keys, supplier_sku


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def order_link(app, store, order_no) -> str:
    with app.test_request_context():
        from app.storefront.access import order_token

        return f"/order/{order_no}?t={order_token(store, order_no)}"


def owner(site, store):
    client = site(store.primary_host)
    assert client.login_store(f"owner@{store.slug}.example.com", "s3cret-pass").status_code == 302
    return client


def buyer_opens(app, site, store, order_no, **extra):
    buyer = site(store.primary_host)
    page = buyer.get(order_link(app, store, order_no))
    new_link = re.search(r'href="(/order/[^"]+/ticket\?t=[^"]+)"', page.text).group(1)
    new_link = new_link.replace("&amp;", "&")
    sent = buyer.submit(
        new_link,
        {"subject": "卡密无效", "body": "提示卡密已被使用", **extra},
        content_type="multipart/form-data",
    )
    return buyer, sent


def only_ticket(app, store) -> Ticket:
    with app.app_context(), tenant_context(store):
        ticket = db.session.scalars(select(Ticket).order_by(Ticket.id.desc())).first()
        db.session.expunge_all()
        return ticket


def test_a_buyer_opens_a_ticket_and_the_store_replaces_the_key(app, backend, make_store, site):
    store = with_markup(app, make_store())
    sku, _ = supplier_sku(app, keys=3)
    order_no, _ = paid_order(app, store, sku)
    buyer, sent = buyer_opens(app, site, store, order_no, image=(io.BytesIO(png()), "shot.png"))
    assert sent.status_code == 302 and "/ticket/T" in sent.location
    ticket_url = sent.location
    page = buyer.get(ticket_url)
    assert page.status_code == 200 and "提示卡密已被使用" in page.text
    ticket = only_ticket(app, store)
    picture = re.search(r'href="(/ticket/[^"]+/picture/[^"]+)"', page.text).group(1)
    assert buyer.get(picture.replace("&amp;", "&")).data.startswith(b"\x89PNG")
    assert buyer.get(f"/ticket/{ticket.ticket_no}").status_code == 404  # no signature
    assert buyer.get(f"/ticket/{ticket.ticket_no}?t=forged").status_code == 404

    staff = owner(site, store)
    assert 'id="alert-tickets"' in staff.get("/admin/").text
    queue = staff.get("/admin/tickets")
    assert queue.status_code == 200 and ticket.ticket_no in queue.text
    detail = staff.get(f"/admin/tickets/{ticket.ticket_no}")
    assert detail.status_code == 200 and 'name="key"' in detail.text
    assert (
        staff.get(picture.split("?")[0].replace("/ticket/", "/admin/tickets/")).status_code == 200
    )
    answered = staff.submit(
        f"/admin/tickets/{ticket.ticket_no}",
        {"body": "已为您补发"},
        action=f"/admin/tickets/{ticket.ticket_no}/reply",
        content_type="multipart/form-data",
    )
    assert answered.status_code == 302
    with app.app_context():
        wait_for_jobs(app, backend)
    news = outbox_messages(app, ticket.contact)
    assert any(ticket.ticket_no in message for message in news)

    ((bad, _),) = order_keys(app, store, order_no)
    replaced = staff.submit(
        f"/admin/tickets/{ticket.ticket_no}",
        {"key": str(bad), "fault": "supplier", "note": "补发一张", "action": "replacement"},
        action=f"/admin/tickets/{ticket.ticket_no}/resolve",
    )
    assert replaced.status_code == 302
    statuses = dict(order_keys(app, store, order_no))
    assert statuses[bad] == "void" and list(statuses.values()).count("sold") == 1
    assert only_ticket(app, store).status == "resolved"
    assert buyer.get(ticket_url).status_code == 200


def test_bad_input_is_refused_and_changes_nothing(app, make_store, site):
    store = make_store()
    order_no, _ = paid_order(app, store, card_sku(app))
    _, sent = buyer_opens(app, site, store, order_no, image=(io.BytesIO(b"not a picture"), "x.png"))
    assert sent.status_code == 400
    _, blank = buyer_opens(app, site, store, order_no, body="   ")
    assert blank.status_code == 400
    with app.app_context(), tenant_context(store):
        assert db.session.scalar(select(Ticket.id)) is None


def test_other_stores_see_nothing_and_the_platform_only_escalated_tickets(
    app, make_store, site, apex, platform_admin
):
    store, other = with_markup(app, make_store()), make_store()
    sku, _ = supplier_sku(app, wholesale=1000, cost=800, keys=3)
    order_no, _ = paid_order(app, store, sku)
    buyer_opens(app, site, store, order_no)
    ticket = only_ticket(app, store)
    assert owner(site, other).get(f"/admin/tickets/{ticket.ticket_no}").status_code == 404
    apex.login_platform(*platform_admin)
    assert apex.get(f"/platform/tickets/{store.slug}/{ticket.ticket_no}").status_code == 404

    staff = owner(site, store)
    escalated = staff.submit(
        f"/admin/tickets/{ticket.ticket_no}",
        {},
        action=f"/admin/tickets/{ticket.ticket_no}/escalate",
    )
    assert escalated.status_code == 302
    queue = apex.get("/platform/tickets")
    assert ticket.ticket_no in queue.text
    assert 'data-queue="tickets">' in apex.get("/platform/reviews").text
    page = apex.get(f"/platform/tickets/{store.slug}/{ticket.ticket_no}")
    assert page.status_code == 200
    refunded = apex.submit(
        f"/platform/tickets/{store.slug}/{ticket.ticket_no}",
        {"fault": "supplier", "amount": "", "note": "平台先行赔付", "action": "refund"},
        action=f"/platform/tickets/{store.slug}/{ticket.ticket_no}/resolve",
    )
    assert refunded.status_code == 302
    closed = only_ticket(app, store)
    assert (
        closed.status == "resolved" and closed.resolution == "refund" and closed.fault == "supplier"
    )
    assert ticket.ticket_no not in apex.get("/platform/tickets").text
    assert order_total(app, store, order_no) == 1200
