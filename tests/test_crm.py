"""The store's CRM: gated by plan, search, detail, tags and notes, audited balance adjustments,
blocking that shuts a customer out, a masked CSV export, and no way into another store's
customers."""

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.billing import services as billing
from app.customers.models import Customer
from app.extensions import db
from app.ledger.parties import store as store_party
from app.ledger.services import verify
from tenants.context import tenant_context
from tests.support.customer_money import (
    PASSWORD,
    balance_of,
    customer_email,
    customer_order,
    new_customer,
    topped_up,
)
from tests.support.money import card_sku, owed_to, paid_order, settle, with_markup
from tests.test_customers import login, shop, text

APEX = "kameng.test"


def back_office(app, site, store, *, plan="pro"):
    if plan:
        with app.app_context():
            billing.assign_plan(store.id, plan, actor="test")
    staff = site(f"{store.slug}.{APEX}")
    staff.login_store(f"owner@{store.slug}.example.com", "s3cret-pass")
    return staff


def funded_store(app, make_store):
    """A store with settled profit available to fund balance adjustments."""
    store = with_markup(app, make_store())
    sku = card_sku(app)
    for _ in range(3):
        paid_order(app, store, sku)
    settle(app)
    return store


def test_without_the_crm_entitlement_the_pages_show_the_upgrade_prompt(app, make_store, site):
    store = make_store()
    customer = new_customer(app, store)
    staff = back_office(app, site, store, plan=None)  # Free: no CRM
    page = staff.get("/admin/customers")
    assert page.status_code == 402 and 'id="crm-upgrade"' in text(page)
    assert staff.get(f"/admin/customers/{customer}").status_code == 402
    assert staff.get("/admin/customers.csv").status_code == 402
    assert staff.get("/admin/settings/customers").status_code == 200  # levels: every plan


def test_staff_find_customers_by_email_phone_or_name(app, make_store, site):
    store = make_store()
    first, second = new_customer(app, store), new_customer(app, store)
    with app.app_context(), tenant_context(store):
        db.session.get(Customer, first).phone = "13800138000"
        db.session.get(Customer, second).name = "Zhang Wei"
        db.session.commit()
    staff = back_office(app, site, store)
    html = text(staff.get("/admin/customers"))
    assert f'data-customer="{first}"' in html and f'data-customer="{second}"' in html
    html = text(staff.get("/admin/customers?q=0013800"))
    assert f'data-customer="{first}"' in html and f'data-customer="{second}"' not in html
    html = text(staff.get("/admin/customers?q=zhang"))
    assert f'data-customer="{second}"' in html and f'data-customer="{first}"' not in html
    email = customer_email(app, store, first)
    html = text(staff.get(f"/admin/customers?q={email}"))
    assert f'data-customer="{first}"' in html and f'data-customer="{second}"' not in html


def test_the_detail_page_shows_orders_balance_level_and_referrals(app, make_store, site):
    store = with_markup(app, make_store())
    referrer = new_customer(app, store)
    customer = new_customer(app, store, referrer_id=referrer)
    topped_up(app, store, customer, 2500)
    order_no, _ = customer_order(app, store, card_sku(app), customer)
    staff = back_office(app, site, store)
    html = text(staff.get(f"/admin/customers/{customer}"))
    assert order_no in html
    assert 'id="balance" data-cents="2500"' in html
    assert 'data-level="bronze"' in html
    assert f"/admin/customers/{referrer}" in html
    assert f'data-invitee="{customer}"' in text(staff.get(f"/admin/customers/{referrer}"))


def test_tags_and_notes_are_saved_and_filtered_and_audited(app, make_store, site):
    store = make_store()
    customer, other = new_customer(app, store), new_customer(app, store)
    staff = back_office(app, site, store)
    path = f"/admin/customers/{customer}"
    response = staff.submit(path, {"tags": "vip, 批发", "notes": "Prefers WeChat"})
    assert response.status_code == 302
    with app.app_context(), tenant_context(store):
        saved = db.session.get(Customer, customer)
        assert (saved.tag_list, saved.notes) == (["vip", "批发"], "Prefers WeChat")
    html = text(staff.get("/admin/customers?tag=vip"))
    assert f'data-customer="{customer}"' in html and f'data-customer="{other}"' not in html
    refused = staff.submit(path, {"tags": "<script>", "notes": "x"})
    assert refused.status_code == 400
    with app.app_context(), tenant_context(store):
        assert db.session.get(Customer, customer).tag_list == ["vip", "批发"]
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.tenant_id == store.id, AuditEvent.action == "customer.updated"
            )
        )
        assert event.target == f"customer:{customer}"


def test_a_balance_adjustment_is_store_funded_audited_and_never_below_zero(app, make_store, site):
    store = funded_store(app, make_store)
    customer = new_customer(app, store)
    available = owed_to(app, store_party(store.id))["available"]
    assert available > 500
    staff = back_office(app, site, store)
    adjust = f"/admin/customers/{customer}/adjust"
    page = f"/admin/customers/{customer}"
    response = staff.submit(page, {"amount": "5", "reason": "goodwill"}, adjust)
    assert response.status_code == 302
    assert balance_of(app, store, customer) == 500
    assert owed_to(app, store_party(store.id))["available"] == available - 500
    # Deducting more than the customer has, without a reason, or more than the store can fund:
    # refused, nothing changes.
    assert staff.submit(page, {"amount": "-6", "reason": "oops"}, adjust).status_code == 400
    assert staff.submit(page, {"amount": "3", "reason": ""}, adjust).status_code == 400
    assert staff.submit(page, {"amount": "abc", "reason": "x"}, adjust).status_code == 400
    too_much = f"{(available - 500) / 100 + 1:.2f}"
    assert staff.submit(page, {"amount": too_much, "reason": "x"}, adjust).status_code == 400
    assert balance_of(app, store, customer) == 500
    response = staff.submit(page, {"amount": "-2.50", "reason": "correction"}, adjust)
    assert response.status_code == 302
    assert balance_of(app, store, customer) == 250
    assert owed_to(app, store_party(store.id))["available"] == available - 250
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.tenant_id == store.id,
                AuditEvent.action == "customer.balance_adjusted",
            )
            .order_by(AuditEvent.id)
        ).all()
        assert [(e.before["balance_cents"], e.after["balance_cents"]) for e in events] == [
            (0, 500),
            (500, 250),
        ]
        assert events[0].actor_email == f"owner@{store.slug}.example.com"
        assert events[1].after["reason"] == "correction"
        assert verify() == []


def test_a_blocked_customer_cannot_sign_in_or_order(app, make_store, site):
    store = make_store()
    customer = new_customer(app, store)
    email = customer_email(app, store, customer)
    visitor = shop(site, store)
    login(visitor, email)
    assert visitor.get("/account").status_code == 200
    staff = back_office(app, site, store)
    page = f"/admin/customers/{customer}"
    response = staff.submit(page, {"blocked": "1"}, f"/admin/customers/{customer}/block")
    assert response.status_code == 302
    assert visitor.get("/account").status_code == 302  # signed out on the next request
    again = shop(site, store)
    login(again, email)
    assert again.get("/account").status_code == 302
    sku = card_sku(app)
    with app.app_context(), tenant_context(store):
        from app.orders.services import OrderError, create_order

        try:
            create_order(store, sku_id=sku, quantity=1, customer_id=customer)
            raise AssertionError("a blocked customer placed an order")
        except OrderError as error:
            assert error.field == "sku_id"
    staff.submit(page, {"blocked": "0"}, f"/admin/customers/{customer}/block")
    login(again, email, PASSWORD)
    assert again.get("/account").status_code == 200
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.tenant_id == store.id, AuditEvent.action.like("customer.%blocked"))
            .order_by(AuditEvent.id)
        ).all()
        assert actions == ["customer.blocked", "customer.unblocked"]


def test_the_csv_export_is_the_filtered_list_with_personal_data_masked(app, make_store, site):
    store = make_store()
    vip, other = new_customer(app, store), new_customer(app, store)
    with app.app_context(), tenant_context(store):
        row = db.session.get(Customer, vip)
        row.tags, row.phone, row.name = ",vip,", "13800138000", "Li Na"
        db.session.commit()
    staff = back_office(app, site, store)
    response = staff.get("/admin/customers.csv?tag=vip")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = text(response).strip().splitlines()
    assert lines[0].startswith("id,email,name,phone,level")
    assert len(lines) == 2 and lines[1].startswith(f"{vip},")
    email = customer_email(app, store, vip)
    assert email not in lines[1] and "13800138000" not in lines[1] and "Li Na" not in lines[1]
    assert "138****8000" in lines[1] and f"{email[0]}***@example.com" in lines[1]
    assert f"{other}," not in text(staff.get("/admin/customers.csv?tag=vip"))


def test_another_stores_customers_are_not_found(app, make_store, site):
    mine, theirs = make_store(), make_store()
    own = new_customer(app, mine)
    stranger = [new_customer(app, theirs) for _ in range(3)][-1]
    assert stranger != own  # each store numbers its own customers: this id is not in mine
    staff = back_office(app, site, mine)
    page = f"/admin/customers/{own}"
    assert staff.get(page).status_code == 200
    assert staff.get(f"/admin/customers/{stranger}").status_code == 404
    assert staff.submit(page, {"tags": "x"}, f"/admin/customers/{stranger}").status_code == 404
    adjust = f"/admin/customers/{stranger}/adjust"
    assert staff.submit(page, {"amount": "1", "reason": "x"}, adjust).status_code == 404
    block = f"/admin/customers/{stranger}/block"
    assert staff.submit(page, {"blocked": "1"}, block).status_code == 404
    with app.app_context(), tenant_context(theirs):
        assert db.session.get(Customer, stranger).is_blocked is False
    assert f'data-customer="{stranger}"' not in text(staff.get("/admin/customers"))
