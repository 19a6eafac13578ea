"""The platform console: dashboard and store figures equal the ledger, the store directory
searches and pages, a store's file, suspension with an audited reason, the review queues."""

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.extensions import db
from app.platform import directory, insights
from app.platform.reviews import waiting
from tests.support.money import (
    ID_NUMBER,
    card_sku,
    order_total,
    paid_order,
    refund,
    with_markup,
)


def test_store_sales_equal_the_orders_paid_and_refunded(app, make_store):
    store, quiet = with_markup(app, make_store()), make_store()
    sku = card_sku(app, wholesale=1500)
    first, first_total = paid_order(app, store, sku, quantity=2)
    _, second_total = paid_order(app, store, sku)
    assert refund(app, store, first, amount=700) == "succeeded"
    with app.app_context():
        sales = insights.sales_by_store(None, [store.id, quiet.id])
        assert quiet.id not in sales  # no sales: no row
        figures = sales[store.id].sales
        assert figures.gmv_cents == first_total + second_total
        assert figures.refunded_cents == 700
        assert figures.paid_orders == 2
        assert figures.net_cents == first_total + second_total - 700
    assert order_total(app, store, first) == first_total

    with app.app_context():
        before = insights.platform_dashboard().sales["30d"]
    paid_order(app, store, sku)
    with app.app_context():
        after = insights.platform_dashboard().sales["30d"]
    assert after.paid_orders == before.paid_orders + 1
    assert after.gmv_cents - before.gmv_cents == second_total


def test_the_console_dashboard_and_a_stores_file_show_the_same_figures(
    app, make_store, apex, platform_admin
):
    store = with_markup(app, make_store())
    _, total = paid_order(app, store, card_sku(app))
    assert apex.get("/platform/").status_code == 302  # sign-in first
    apex.login_platform(*platform_admin)
    dashboard = apex.get("/platform/")
    assert dashboard.status_code == 200 and 'id="top-stores"' in dashboard.text
    page = apex.get(f"/platform/stores/{store.slug}")
    assert page.status_code == 200
    assert page.text.count(f"¥{total / 100:,.2f}") >= 2  # 30 days and all time
    assert apex.get("/platform/stores/no-such-store").status_code == 404


def test_the_store_directory_searches_filters_and_pages(app, make_store, apex, platform_admin):
    store = make_store()
    with app.app_context():
        by_slug = directory.find_stores(store.slug)
        assert [row.tenant.id for row in by_slug.rows] == [store.id]
        by_owner = directory.find_stores(f"OWNER@{store.slug}.example.com")
        assert [row.tenant.id for row in by_owner.rows] == [store.id]
        assert directory.find_stores(store.slug, status="suspended").total == 0
        assert directory.find_stores("%").total == 0  # wildcards are text, not patterns
        everything = directory.find_stores(page=10_000)
        assert everything.page == everything.pages  # out of range: the last page
    apex.login_platform(*platform_admin)
    listing = apex.get(f"/platform/stores?q={store.slug}")
    assert listing.status_code == 200 and f"/platform/stores/{store.slug}" in listing.text
    assert apex.get("/platform/stores?page=abc&status=nonsense").status_code == 200


def test_suspending_from_a_stores_file_is_audited_with_its_reason(
    app, make_store, apex, platform_admin, site
):
    store = make_store()
    apex.login_platform(*platform_admin)
    suspended = apex.submit(
        f"/platform/stores/{store.slug}",
        {"reason": "未完成实名认证"},
        action=f"/platform/stores/{store.slug}/suspend",
    )
    assert suspended.status_code == 302
    assert site(store.primary_host).get("/").status_code == 503
    assert "未完成实名认证" in apex.get(f"/platform/stores/{store.slug}").text
    owner = site(store.primary_host)
    owner.login_store(f"owner@{store.slug}.example.com", "s3cret-pass")
    assert "未完成实名认证" in owner.get("/admin/").text  # the owner is told why
    resumed = apex.submit(
        f"/platform/stores/{store.slug}", {}, action=f"/platform/stores/{store.slug}/resume"
    )
    assert resumed.status_code == 302
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.tenant_id == store.id).order_by(AuditEvent.id)
        ).all()
        assert [e.action for e in events][-2:] == ["store.status.suspended", "store.status.active"]
        assert events[-2].actor_email == platform_admin[0]
        assert events[-2].after == {"status": "suspended", "reason": "未完成实名认证"}
        assert events[-2].before["status"] == "active"


def test_the_review_queues_count_what_waits(app, make_store, site, apex, platform_admin):
    with app.app_context():
        before = {item.queue.name: item.count for item in waiting()}
    store = make_store()
    owner = site(store.primary_host)
    owner.login_store(f"owner@{store.slug}.example.com", "s3cret-pass")
    sent = owner.submit(
        "/admin/finance",
        {"kind": "individual", "legal_name": "张三", "id_number": ID_NUMBER},
        action="/admin/finance/verification",
    )
    assert sent.status_code == 302
    with app.app_context():
        after = {item.queue.name: item for item in waiting()}
    assert after["verifications"].count == before["verifications"] + 1
    assert after["verifications"].oldest is not None
    apex.login_platform(*platform_admin)
    page = apex.get("/platform/reviews")
    assert page.status_code == 200
    assert f'data-queue="verifications">{after["verifications"].count}<' in page.text
