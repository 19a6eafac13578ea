"""Privacy: each store's policy page in every theme pack, contacts masked in back-office lists
(in full on one record's page, for the roles that may see them), the customer's data export,
deletion on request (anonymised, orders kept, ledger untouched), and the retention periods."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.audit.models import AuditEvent
from app.audit.services import Actor
from app.billing import services as billing
from app.customers.models import Customer
from app.db import utcnow
from app.extensions import db
from app.ledger.models import LedgerAccount, LedgerEntry
from app.merchant import services as settings_service
from app.orders.models import Order
from app.privacy import services as privacy
from app.privacy.models import DeletionRequest
from app.tickets import services as tickets
from app.tickets.services import Note
from tenants.context import tenant_context
from tests.support.customer_money import (
    PASSWORD,
    balance_of,
    customer_email,
    customer_order,
    new_customer,
    pay_by_balance,
    topped_up,
)
from tests.support.money import card_sku
from tests.support.staff import add_staff, signed_in
from tests.support.themes import PACKS, premium_allowed, publish_look
from tests.test_customers import login, text

APEX = "kameng.test"


def owner(app, site, store, *, plan="pro"):
    if plan:
        with app.app_context():
            billing.assign_plan(store.id, plan, actor="test")
    staff = site(f"{store.slug}.{APEX}")
    assert staff.login_store(f"owner@{store.slug}.example.com", "s3cret-pass").status_code == 302
    return staff


def storefront(site, store):
    return site(f"{store.slug}.{APEX}")


def set_contacts(app, store, **profile):
    with app.app_context(), tenant_context(store):
        settings_service.update_settings(
            store.id,
            tagline="",
            announcement="",
            profile=settings_service.StoreProfile(**profile),
        )
        db.session.commit()


def customer_with_paid_order(app, store, sku, *, phone="13812345678", name="张三"):
    """A signed-up customer (name, phone) with one order paid from their balance (left at 0)
    and an open ticket on it; returns (customer id, e-mail, order number)."""
    customer_id = new_customer(app, store)
    with app.app_context(), tenant_context(store):
        customer = db.session.get(Customer, customer_id)
        customer.name, customer.phone = name, phone
        db.session.commit()
    order_no, total = customer_order(app, store, sku, customer_id)
    email = customer_email(app, store, customer_id)
    with app.app_context(), tenant_context(store):
        order = db.session.scalar(select(Order).where(Order.order_no == order_no))
        order.contact_email = email
        order.contact_phone = phone
        order.client_ip = "198.51.100.7"
        db.session.commit()
    topped_up(app, store, customer_id, total)
    assert pay_by_balance(app, store, order_no, customer_id)
    return customer_id, email, order_no


def open_ticket(app, store, order_no, contact):
    with app.app_context(), tenant_context(store):
        order = db.session.scalar(select(Order).where(Order.order_no == order_no))
        ticket = tickets.open_ticket(
            store, order, "钥匙无效", Note("这张卡密用不了"), contact=contact,
            actor=Actor("customer", None, contact),
        )  # fmt: skip
        db.session.commit()
        return ticket.ticket_no


def ledger_snapshot(app, store, customer_id):
    code = f"customer:{store.id}:{customer_id}:balance"
    with app.app_context():
        entries = db.session.scalar(select(func.count()).select_from(LedgerEntry))
        balances = db.session.scalar(
            select(func.coalesce(func.sum(LedgerAccount.balance_cents), 0))
        )
        account = db.session.scalar(select(LedgerAccount.id).where(LedgerAccount.code == code))
        return entries, int(balances), account


# -- the policy page -------------------------------------------------------------------------


@pytest.mark.parametrize("pack", ("_base", *PACKS))
def test_every_theme_pack_has_the_privacy_page_filled_from_the_settings(
    app, make_store, site, monkeypatch, pack
):
    store = make_store(name="隐私小店")
    set_contacts(app, store, support_email="help@shop.example.com", support_qq="123456789")
    with app.app_context(), tenant_context(store):
        privacy.update_settings(
            policy_html="<p>我们<b>只</b>保存必要信息。</p><script>alert(1)</script>"
            '<a href="javascript:alert(2)">x</a><img src=x onerror=alert(3)>',
            unpaid_contact_days=14,
            inactive_customer_months=24,
            actor=Actor("store", 1, "o@x.test"),
            tenant_id=store.id,
        )
        db.session.commit()
    if pack != "_base":
        with premium_allowed(monkeypatch):
            publish_look(app, store, pack)
    visitor = storefront(site, store)
    home = text(visitor.get("/"))
    assert 'id="privacy-link"' in home and 'href="/privacy"' in home
    page = visitor.get("/privacy")
    assert page.status_code == 200
    html = text(page)
    assert f"pack-{pack}" in html and 'id="privacy-policy"' in html
    assert "隐私政策" in html and "隐私小店" in html and f"{store.slug}.{APEX}" in html
    assert "help@shop.example.com" in html and "123456789" in html
    assert 'data-days="14"' in html and 'data-months="24"' in html
    assert "<b>只</b>" in html
    assert "<script>alert(1)" not in html and "javascript:alert" not in html
    assert "onerror" not in html


def test_the_settings_are_bounded_and_audited(app, make_store, site):
    store = make_store()
    staff = owner(app, site, store, plan=None)
    page = staff.get("/admin/privacy")
    assert page.status_code == 200 and 'id="privacy-settings"' in text(page)
    too_short = staff.submit(
        "/admin/privacy",
        {"unpaid_contact_days": "0", "inactive_customer_months": "36", "policy_html": ""},
    )
    assert too_short.status_code == 400 and "1" in text(too_short)
    saved = staff.submit(
        "/admin/privacy",
        {"unpaid_contact_days": "7", "inactive_customer_months": "12", "policy_html": "<i>hi</i>"},
    )
    assert saved.status_code == 302
    with app.app_context(), tenant_context(store):
        assert privacy.get_settings() == privacy.PrivacyView("<i>hi</i>", 7, 12)
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.tenant_id == store.id, AuditEvent.action == "privacy.settings_save"
            )
        )
        assert event.after["unpaid_contact_days"] == 7 and event.actor_kind == "store"


def test_only_managers_handle_privacy(app, make_store, site):
    store = make_store()
    for role, status in (("admin", 200), ("support", 403), ("finance", 403)):
        client = signed_in(site, store, add_staff(app, store, role))
        assert client.get("/admin/privacy").status_code == status, role


# -- masking ---------------------------------------------------------------------------------


def test_lists_mask_contacts_and_the_order_page_shows_them_to_roles_that_may(
    app, make_store, site, platform_admin
):
    store = make_store()
    sku = card_sku(app)
    customer_id, email, order_no = customer_with_paid_order(app, store, sku)
    open_ticket(app, store, order_no, email)
    staff = owner(app, site, store)
    masked_email = f"{email[0]}***@example.com"

    orders = text(staff.get("/admin/orders"))
    assert order_no in orders and masked_email in orders and email not in orders
    customers = text(staff.get("/admin/customers"))
    assert masked_email in customers and email not in customers and "13812345678" not in customers
    csv = text(staff.get("/admin/customers.csv"))
    assert "138****5678" in csv and email not in csv and "张三" not in csv
    audit_log = text(staff.get("/admin/audit"))
    assert email not in audit_log  # the buyer's ticket, recorded under their contact

    # One order's page: in full for the owner and support, masked for finance.
    for client, full in (
        (staff, True),
        (signed_in(site, store, add_staff(app, store, "support")), True),
        (signed_in(site, store, add_staff(app, store, "finance")), False),
    ):
        detail = text(client.get(f"/admin/orders/{order_no}"))
        assert (email in detail) is full and ("13812345678" in detail) is full
        assert full or (masked_email in detail and "138****5678" in detail)
        ticket_list = text(client.get("/admin/tickets"))
        assert email not in ticket_list

    apex = site(APEX)
    apex.login_platform(*platform_admin)
    directory = text(apex.get("/platform/stores"))
    owner_email = f"owner@{store.slug}.example.com"
    assert owner_email not in directory and f"o***@{store.slug}.example.com" in directory
    assert owner_email in text(apex.get(f"/platform/stores/{store.slug}"))


# -- export ----------------------------------------------------------------------------------


def test_a_customer_downloads_their_own_data(app, make_store, site):
    store = make_store()
    sku = card_sku(app)
    customer_id, email, order_no = customer_with_paid_order(app, store, sku)
    ticket_no = open_ticket(app, store, order_no, email)
    other_id, other_email, other_order = customer_with_paid_order(app, store, sku)

    visitor = storefront(site, store)
    assert visitor.get("/account/privacy").status_code == 302  # sign in first
    login(visitor, email)
    page = visitor.get("/account/privacy")
    assert page.status_code == 200 and 'id="download-data"' in text(page)
    assert 'id="my-data-link"' in text(visitor.get("/account"))
    without_token = visitor.post("/account/privacy/export")
    assert without_token.status_code == 400
    download = visitor.submit("/account/privacy", {}, action="/account/privacy/export")
    assert download.status_code == 200 and download.mimetype == "application/zip"
    assert "attachment" in download.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(download.data))
    assert set(archive.namelist()) >= {
        "profile.json",
        "orders.json",
        "balance.json",
        "tickets.json",
    }
    profile = json.loads(archive.read("profile.json"))
    assert profile["email"] == email and profile["phone"] == "13812345678"
    orders = json.loads(archive.read("orders.json"))
    assert [o["order_no"] for o in orders] == [order_no]
    assert orders[0]["contact_email"] == email and orders[0]["items"][0]["quantity"] == 1
    statement = json.loads(archive.read("balance.json"))
    assert statement["balance"] == "0.00" and len(statement["statement"]) == 2
    assert json.loads(archive.read("tickets.json"))[0]["ticket_no"] == ticket_no
    everything = archive.read("all.json").decode()
    assert other_email not in everything and other_order not in everything
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "privacy.exported",
                AuditEvent.target == f"customer:{customer_id}",
            )
        )
        assert event is not None and event.actor_kind == "customer"


# -- deletion ----------------------------------------------------------------------------------


def test_deletion_on_request_anonymises_the_customer_and_keeps_the_orders(app, make_store, site):
    store = make_store()
    sku = card_sku(app)
    customer_id, email, order_no = customer_with_paid_order(app, store, sku)
    ticket_no = open_ticket(app, store, order_no, email)
    with app.app_context(), tenant_context(store):
        tickets.reject(
            store,
            ticket_no,
            "已核实可用",
            actor=Actor("store", 1, f"owner@{store.slug}.example.com"),
        )
        customer = db.session.get(Customer, customer_id)
        from app.customers.referral import invite_code

        invite_code(customer)
        db.session.commit()

    invitee = new_customer(app, store, referrer_id=customer_id)
    visitor = storefront(site, store)
    login(visitor, email)
    wrong = visitor.submit(
        "/account/privacy", {"password": "not-my-pass-1"}, action="/account/privacy/delete"
    )
    assert wrong.status_code == 400
    asked = visitor.submit(
        "/account/privacy", {"password": PASSWORD, "note": "不再使用"},
        action="/account/privacy/delete",
    )  # fmt: skip
    assert asked.status_code == 302
    assert 'data-status="pending"' in text(visitor.get("/account/privacy"))

    staff = owner(app, site, store)
    queue = text(staff.get("/admin/privacy"))
    assert 'id="deletion-requests"' in queue and email not in queue
    with app.app_context(), tenant_context(store):
        request_id = privacy.open_request(customer_id).id
    before = ledger_snapshot(app, store, customer_id)
    done = staff.submit(
        "/admin/privacy", {}, action=f"/admin/privacy/requests/{request_id}/approve"
    )
    assert done.status_code == 302

    with app.app_context(), tenant_context(store):
        customer = db.session.get(Customer, customer_id)
        assert customer.anonymised_at is not None and not customer.is_active
        assert customer.email == f"anonymised-{customer_id}@anonymised.invalid"
        assert (customer.name, customer.phone, customer.invite_code) == ("", "", None)
        assert not customer.check_password(PASSWORD)
        order = db.session.scalar(select(Order).where(Order.order_no == order_no))
        assert order.status == "delivered" and order.total_cents > 0  # kept for the books
        assert (order.contact_email, order.contact_phone, order.client_ip) == ("", "", "")
        assert db.session.get(DeletionRequest, request_id).status == "completed"
        assert db.session.get(Customer, invitee).referrer_id is None  # no commissions to it
        ticket = tickets.find(ticket_no)
        assert ticket.contact == "" and all(
            m.author == "" for m in ticket.messages if m.author_kind == "customer"
        )
        assert (
            db.session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.actor_email == email)
            )
            == 0
        )
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "privacy.customer_anonymised")
        )
        assert event.after["orders"] == 1 and event.after["source"] == "account"
    assert ledger_snapshot(app, store, customer_id) == before  # the ledger is untouched

    # The customer's browser is signed out and the old password no longer works.
    assert visitor.get("/account/privacy").status_code == 302
    assert login(visitor, email).status_code == 401


def test_money_on_the_balance_blocks_deletion_and_a_refusal_is_shown(app, make_store, site):
    store = make_store()
    customer_id = new_customer(app, store)
    email = customer_email(app, store, customer_id)
    topped_up(app, store, customer_id, 500)
    visitor = storefront(site, store)
    login(visitor, email)
    page = text(visitor.get("/account/privacy"))
    assert "data-blocker" in page and "5.00" in page
    visitor.submit("/account/privacy", {"password": PASSWORD}, action="/account/privacy/delete")
    staff = owner(app, site, store)
    with app.app_context(), tenant_context(store):
        request_id = privacy.open_request(customer_id).id
    staff.submit("/admin/privacy", {}, action=f"/admin/privacy/requests/{request_id}/approve")
    with app.app_context(), tenant_context(store):
        assert db.session.get(Customer, customer_id).anonymised_at is None
        assert db.session.get(DeletionRequest, request_id).status == "pending"
    assert balance_of(app, store, customer_id) == 500

    staff.submit(
        "/admin/privacy",
        {"reason": "余额未结清，请先联系客服"},
        action=f"/admin/privacy/requests/{request_id}/reject",
    )
    status = text(visitor.get("/account/privacy"))
    assert 'data-status="rejected"' in status and "余额未结清" in status


def test_staff_act_on_a_request_received_by_email(app, make_store, site):
    store = make_store()
    customer_id = new_customer(app, store)
    email = customer_email(app, store, customer_id)
    staff = owner(app, site, store, plan=None)
    no_reference = staff.submit("/admin/privacy", {"email": email}, action="/admin/privacy/emailed")
    assert no_reference.status_code == 400
    unknown = staff.submit(
        "/admin/privacy",
        {"email": "nobody@example.com", "reference": "邮件 2026-12-01"},
        action="/admin/privacy/emailed",
    )
    assert unknown.status_code == 400
    done = staff.submit(
        "/admin/privacy",
        {"email": email.upper(), "reference": "邮件 2026-12-01 主题：删除账户"},
        action="/admin/privacy/emailed",
    )
    assert done.status_code == 302
    with app.app_context(), tenant_context(store):
        assert db.session.get(Customer, customer_id).anonymised_at is not None
        request = db.session.scalar(
            select(DeletionRequest).where(DeletionRequest.customer_id == customer_id)
        )
        assert request.source == "email" and request.status == "completed"
        assert "删除账户" in request.note
    assert 'data-request="' in text(staff.get("/admin/privacy"))


# -- retention ---------------------------------------------------------------------------------


def test_the_retention_job_erases_old_unpaid_contacts_and_anonymises_inactive_customers(
    app, backend, make_store
):
    from app.orders.services import create_order

    store = make_store()
    sku = card_sku(app)
    now = utcnow()

    def unpaid(email, age_days, status="expired"):
        with app.app_context(), tenant_context(store):
            order = create_order(
                store, sku_id=sku, quantity=1, contact_email=email, query_password="pin-12345"
            )
            db.session.execute(
                update(Order)
                .where(Order.id == order.id)
                .values(status=status, created_at=now - timedelta(days=age_days), client_ip="x")
            )
            db.session.commit()
            return order.order_no

    old = unpaid(f"old-{uuid.uuid4().hex[:6]}@example.com", 40)
    cancelled = unpaid(f"gone-{uuid.uuid4().hex[:6]}@example.com", 31, status="cancelled")
    recent = unpaid(f"new-{uuid.uuid4().hex[:6]}@example.com", 10)
    inactive, active, with_money = (new_customer(app, store) for _ in range(3))
    topped_up(app, store, with_money, 100)
    with app.app_context(), tenant_context(store):
        long_ago = now - timedelta(days=30 * 37)
        db.session.execute(
            update(Customer)
            .where(Customer.id.in_([inactive, with_money]))
            .values(created_at=long_ago, last_login_at=long_ago)
        )
        db.session.commit()

    from tests.test_jobs import wait_for_jobs
    from workers.jobs.privacy import apply_retention_everywhere
    from workers.schedule import PERIODIC_JOBS

    assert any(job.path.endswith("apply_retention_everywhere") for job in PERIODIC_JOBS)
    with app.app_context():
        assert apply_retention_everywhere() >= 1  # one job per store, this one among them
        db.session.remove()  # as the runner does: the periodic job's transaction ends
    with app.app_context():
        wait_for_jobs(app, backend)
    with app.app_context(), tenant_context(store):
        rows = {
            o.order_no: o
            for o in db.session.scalars(
                select(Order).where(Order.order_no.in_([old, cancelled, recent]))
            )
        }
        for number in (old, cancelled):
            order = rows[number]
            assert (order.contact_email, order.client_ip, order.query_password_hash) == (
                "", "", None,
            )  # fmt: skip
        assert rows[recent].contact_email.startswith("new-") and rows[recent].query_password_hash
        assert db.session.get(Customer, inactive).anonymised_at is not None
        assert db.session.get(Customer, active).anonymised_at is None
        assert db.session.get(Customer, with_money).anonymised_at is None  # money left
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.tenant_id == store.id, AuditEvent.action == "privacy.retention_applied"
            )
        )
        assert event.after["orders_erased"] == 2 and event.after["customers_anonymised"] == 1
        again = privacy.apply_retention(store)
        db.session.commit()
        assert (again.orders_erased, again.customers_anonymised) == (0, 0)
