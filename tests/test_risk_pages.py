"""The risk pages as people use them: the platform and a store each work through their own
queue (age, reasons, the buyer's history), decide with CSRF-protected forms, keep blacklists and
limits; another store gets 404 on anything that is not its own."""

import re
import uuid

from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.extensions import db
from app.ledger.services import verify
from app.merchant.models import StoreSettings
from app.risk.models import BlacklistEntry
from tenants.context import tenant_context
from tests.support.money import card_sku
from tests.test_refunds import notify, open_payment, order_of
from tests.test_risk import review_of, store_setting


def owner(site, store):
    client = site(store.primary_host)
    assert client.login_store(f"owner@{store.slug}.example.com", "s3cret-pass").status_code == 302
    return client


def held_for_store(app, store, keys=3, email=None):
    sku = card_sku(app, wholesale=1000, keys=keys)
    store_setting(app, store, risk_review_over_cents=999)
    order_no, payment_no = open_payment(app, store, sku, email=email)
    assert notify(app, payment_no) == "review"
    return order_no, review_of(app, store, order_no)


def test_a_store_approves_from_its_queue_and_sees_the_buyers_history(app, make_store, site):
    store = make_store()
    email = "regular@example.com"
    earlier, _ = held_for_store(app, store, email=email)
    order_no, review = held_for_store(app, store, email=email)
    client = owner(site, store)
    queue = client.get("/admin/risk")
    assert queue.status_code == 200
    assert order_no in queue.text and 'data-reason="store_review"' in queue.text
    assert re.search(r'data-age-seconds="\d+"', queue.text)
    page = client.get(f"/admin/risk/{review.id}")
    assert page.status_code == 200 and f'data-order-no="{earlier}"' in page.text
    # without the CSRF token nothing is decided
    assert client.post(f"/admin/risk/{review.id}", data={"decision": "approve"}).status_code == 400
    assert order_of(app, store, order_no).status == "review"
    held = client.get(f"/admin/orders/{order_no}")
    assert 'id="risk-review"' in held.text and f"/admin/risk/{review.id}" in held.text
    assert "regular@example.com" not in page.text  # masked for the store, as on its order pages
    done = client.submit(f"/admin/risk/{review.id}", {"decision": "approve"})
    assert done.status_code == 302
    assert order_of(app, store, order_no).status == "delivered"
    assert review_of(app, store, order_no).status == "approved"
    with app.app_context():
        assert verify() == []


def test_another_store_gets_404_on_a_review_and_the_platform_queue_is_separate(
    app, make_store, site, apex, platform_admin
):
    store_a, store_b = make_store(), make_store()
    order_no, review = held_for_store(app, store_a)
    intruder = owner(site, store_b)
    assert order_no not in intruder.get("/admin/risk").text
    assert intruder.get(f"/admin/risk/{review.id}").status_code == 404
    token = intruder.csrf_token("/admin/risk")
    answer = intruder.post(
        f"/admin/risk/{review.id}", data={"decision": "reject", "csrf_token": token}
    )
    assert answer.status_code == 404
    assert order_of(app, store_a, order_no).status == "review"
    apex.login_platform(*platform_admin)
    # a store's own review is not the platform's to decide
    assert apex.get(f"/platform/risk/{review.id}").status_code == 404
    assert order_no not in apex.get("/platform/risk").text


def platform_staff(app, site):
    from app.platform.models import PlatformUser

    email = f"risk-staff-{uuid.uuid4().hex[:8]}@example.com"
    with app.app_context():
        staff = PlatformUser(email=email, name="Staff", role="staff")
        staff.set_password("staff-pass-1")
        db.session.add(staff)
        db.session.commit()
    client = site(app.config["PLATFORM_DOMAIN"])
    assert client.login_platform(email, "staff-pass-1").status_code == 302
    return client


def test_the_platform_rejects_refunds_and_blacklists(
    app, make_store, site, apex, platform_admin, monkeypatch
):
    store = make_store()
    sku = card_sku(app, wholesale=1000, keys=3)
    monkeypatch.setitem(app.config, "RISK_AML_ORDER_CENTS", 1000)
    order_no, payment_no = open_payment(app, store, sku, email="mule@launder.example")
    assert notify(app, payment_no) == "review"
    review = review_of(app, store, order_no)
    staff = platform_staff(app, site)  # not an owner: may look and approve, not refund
    page = staff.get(f"/platform/risk/{review.id}")
    assert page.status_code == 200 and 'value="reject"' not in page.text  # no dead button
    refused = staff.submit(f"/platform/risk/{review.id}", {"decision": "reject", "note": "x"})
    assert refused.status_code == 403 and order_of(app, store, order_no).status == "review"
    apex.login_platform(*platform_admin)
    listing = apex.get("/platform/reviews")
    assert 'data-queue="risk"' in listing.text
    assert order_no in apex.get("/platform/risk").text
    assert apex.get(f"/platform/risk/{review.id}").status_code == 200
    answer = apex.submit(
        f"/platform/risk/{review.id}",
        {"decision": "reject", "note": "mule", "block_email": "y"},
    )
    assert answer.status_code == 302
    assert order_of(app, store, order_no).status == "refunded"
    decided = apex.get(f"/platform/orders/{order_no}")
    assert decided.status_code == 200 and 'data-review-status="rejected"' in decided.text
    with app.app_context():
        entry = db.session.scalar(
            select(BlacklistEntry).where(
                BlacklistEntry.tenant_id.is_(None), BlacklistEntry.value == "mule@launder.example"
            )
        )
        assert entry is not None
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "risk.review_rejected", AuditEvent.target == order_no)
            )
            == 1
        )
        db.session.delete(entry)
        db.session.commit()


def test_blacklist_and_limits_forms_refuse_bad_input_and_change_nothing(app, make_store, site):
    store = make_store()
    client = owner(site, store)
    bad = client.submit(
        "/admin/risk", {"kind": "ip", "value": "300.1.1.1"}, "/admin/risk/blacklist"
    )
    assert bad.status_code == 302
    good = client.submit(
        "/admin/risk", {"kind": "email", "value": "*@Spam.Example"}, "/admin/risk/blacklist"
    )
    assert good.status_code == 302
    with app.app_context():
        values = list(
            db.session.scalars(
                select(BlacklistEntry.value).where(BlacklistEntry.tenant_id == store.id)
            )
        )
    assert values == ["*@spam.example"]
    wrong = client.submit(
        "/admin/risk", {"order_max": "-5", "per_minute": "2"}, "/admin/risk/limits"
    )
    assert wrong.status_code == 400
    with app.app_context(), tenant_context(store):
        row = db.session.get(StoreSettings, 1)
        assert (row.risk_order_max_cents, row.risk_per_minute) == (None, None)
    saved = client.submit(
        "/admin/risk", {"order_max": "100.50", "per_minute": "2"}, "/admin/risk/limits"
    )
    assert saved.status_code == 302
    with app.app_context(), tenant_context(store):
        row = db.session.get(StoreSettings, 1)
        assert (row.risk_order_max_cents, row.risk_per_minute) == (10050, 2)


def test_a_blocked_checkout_in_the_browser_is_a_400_and_creates_no_order(app, make_store, site):
    from app.orders.models import Order

    store = make_store()
    sku = card_sku(app, wholesale=1000, keys=2)
    with app.app_context():
        from app.audit.services import Actor
        from app.risk.reviews import add_entry

        add_entry(store.id, "email", "*@blocked.example", actor=Actor("store", 1, "o@x"))
        db.session.commit()
    shop = site(f"{store.slug}.kameng.test")
    page = f"/checkout?sku={sku}&quantity=1"
    sent = shop.submit(
        page, {"contact_email": "me@blocked.example", "query_password": "lookup-1"}, action=page
    )
    assert sent.status_code == 400
    with app.app_context(), tenant_context(store):
        assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_a_store_can_ask_for_a_captcha_and_the_solved_one_lets_the_order_through(
    app, make_store, site, monkeypatch
):
    from app.orders.models import Order
    from app.risk import captcha

    store = make_store()
    sku = card_sku(app, wholesale=1000, keys=5)
    store_setting(app, store, risk_challenge_per_minute=1)
    shop = site(f"{store.slug}.kameng.test")
    page = f"/checkout?sku={sku}&quantity=1"

    def buy(**extra):
        email = f"c-{uuid.uuid4().hex[:6]}@example.com"  # the same IP: its count asks
        data = {"contact_email": email, "query_password": "lookup-1", **extra}
        return shop.submit(page, data, action=page)

    assert buy().status_code == 302  # the first order of the minute: no captcha
    asked = buy()
    assert asked.status_code == 400 and 'name="captcha"' in asked.text
    monkeypatch.setattr(captcha, "new_code", lambda: "ACE47")
    picture = shop.get("/captcha.png")
    assert picture.status_code == 200 and picture.data.startswith(b"\x89PNG")
    assert buy(captcha="WRONG").status_code == 400  # and the answer is used up
    shop.get("/captcha.png")
    assert buy(captcha="ace47").status_code == 302
    with app.app_context(), tenant_context(store):
        assert db.session.scalar(select(func.count()).select_from(Order)) == 2


def test_the_store_sets_its_first_order_and_quantity_caps(app, make_store, site):
    store = make_store()
    client = owner(site, store)
    values = {"new_customer_cap": "200", "quantity_per_order": "5", "quantity_per_day": "10"}
    assert client.submit("/admin/risk", values, "/admin/risk/limits").status_code == 302
    with app.app_context(), tenant_context(store):
        row = db.session.get(StoreSettings, 1)
        saved = (row.risk_new_customer_cap_cents, row.risk_quantity_per_order)
        assert saved + (row.risk_quantity_per_day,) == (20000, 5, 10)
    bad = client.submit("/admin/risk", {"quantity_per_day": "1.5"}, "/admin/risk/limits")
    assert bad.status_code == 400


def test_the_queues_show_the_sla_and_the_history_shows_earlier_reviews(
    app, make_store, site, monkeypatch
):
    store = make_store()
    email = f"again-{uuid.uuid4().hex[:6]}@example.com"
    earlier, _ = held_for_store(app, store, email=email)
    order_no, review = held_for_store(app, store, email=email)
    client = owner(site, store)
    queue = client.get("/admin/risk").text
    assert f'id="review-{review.id}"' in queue and 'data-overdue="no"' in queue
    page = client.get(f"/admin/risk/{review.id}").text
    assert 'id="sla" data-overdue="no"' in page
    row = page[page.index(f'data-order-no="{earlier}"') :].split("</tr>")[0]
    assert 'data-earlier-review="waiting"' in row and 'data-reason="store_review"' in row
    monkeypatch.setitem(app.config, "RISK_REVIEW_SLA_MINUTES", 0)
    assert 'data-overdue="yes"' in client.get("/admin/risk").text
    assert 'id="sla" data-overdue="yes"' in client.get(f"/admin/risk/{review.id}").text
