"""The store dashboard: every figure equals what the order and ledger tables say, computed here
independently, for today, 7 and 30 days; visits are counted cheaply; the chart is plain SVG."""

import re
import uuid
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import select, update

from app.analytics.models import StoreVisitDay
from app.analytics.visits import flush_counts
from app.db import utcnow
from app.extensions import db
from app.fulfilment.models import Topup
from app.ledger.models import LedgerTransaction
from app.ledger.parties import store as store_party
from app.orders.models import Order, OrderItem
from tenants.context import tenant_context
from tests.support.catalog import add_keys, make_product
from tests.support.money import owed_to, paid_order, refund, with_markup

APEX = "kameng.test"
OWNER_PASSWORD = "owner-pass-1"


def figures(admin, period="today") -> dict:
    page = admin.get(f"/admin/?period={period}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)

    def attr(element_id, name):
        found = re.search(rf'id="{element_id}"[^>]*?{name}="([^"]*)"', html)
        assert found, (element_id, name)
        return found.group(1)

    return {
        "html": html,
        "sales": int(attr("fig-sales", "data-cents")),
        "profit": int(attr("fig-profit", "data-cents")),
        "orders": int(attr("fig-orders", "data-count")),
        "visits": int(attr("fig-conversion", "data-visits")),
        "conversion": attr("fig-conversion", "data-value"),
        "average": int(attr("fig-average", "data-cents")),
        "top": [
            (int(p), int(q), int(c))
            for p, q, c in re.findall(
                r'<tr data-product="(\d+)" data-quantity="(\d+)" data-cents="(\d+)">', html
            )
        ],
        "bars": [int(c) for c in re.findall(r'data-sales="(-?\d+)"', html)],
        "points": [int(c) for c in re.findall(r'data-profit="(-?\d+)"', html)],
    }


def independent(app, store, since):
    """Sales, count, top products from the order tables; profit from the store's balances
    (nothing withdrawn: what the store is owed plus what it owes back is all its profit)."""
    with app.app_context(), tenant_context(store):
        orders = db.session.scalars(
            select(Order).where(Order.paid_at.is_not(None), Order.paid_at >= since)
        ).all()
        top: dict[int, list[int]] = {}
        for order in orders:
            for item in order.items:
                row = top.setdefault(item.product_id, [0, 0])
                row[0] += item.quantity
                row[1] += item.quantity * item.unit_price_cents
    sales = sum(o.total_cents for o in orders)
    ranked = sorted(top.items(), key=lambda kv: (-kv[1][1], kv[0]))[:5]
    return {
        "sales": sales,
        "orders": len(orders),
        "top": [(pid, q, c) for pid, (q, c) in ranked],
    }


def ledger_profit(app, store) -> int:
    balances = owed_to(app, store_party(store.id))
    return balances["pending"] + balances["available"] - balances["owed"]


def test_dashboard_figures_equal_the_order_and_ledger_tables(app, backend, make_store, site):
    store = with_markup(app, make_store(password=OWNER_PASSWORD))
    other = with_markup(app, make_store())
    cheap = make_product(app, skus=[(1000, 800)])
    dear = make_product(app, skus=[(3000, 2500)])
    for item, keys in ((cheap, 20), (dear, 10)):
        add_keys(app, item["sku_ids"][0], [f"D-{uuid.uuid4().hex}" for _ in range(keys)])
    first, _ = paid_order(app, store, cheap["sku_ids"][0], quantity=2)
    paid_order(app, store, dear["sku_ids"][0], quantity=1)
    refunded, _ = paid_order(app, store, cheap["sku_ids"][0], quantity=1)
    assert refund(app, store, refunded) == "succeeded"
    paid_order(app, other, dear["sku_ids"][0], quantity=2)  # another store: never counted

    # Visits: 5 storefront page views, some flushed to the database, some still counted live.
    shop = site(f"{store.slug}.{APEX}")
    for path in ("/", "/", f"/p/{cheap['product_id']}"):
        assert shop.get(path).status_code == 200
    with app.app_context():
        flush_counts()
    for path in ("/search?q=x", "/"):
        shop.get(path)
    shop.get("/lookup")  # not a visit
    site(f"{other.slug}.{APEX}").get("/")

    admin = site(f"{store.slug}.{APEX}")
    admin.login_store(f"owner@{store.slug}.example.com", OWNER_PASSWORD)
    shown = figures(admin, "today")
    expected = independent(app, store, utcnow() - timedelta(days=1))
    assert shown["sales"] == expected["sales"] > 0
    assert shown["orders"] == expected["orders"] == 3
    assert shown["top"] == expected["top"]
    assert shown["profit"] == ledger_profit(app, store)
    # The refund took back its share: profit is that of the two orders kept.
    with app.app_context(), tenant_context(store):
        kept = db.session.scalars(
            select(OrderItem).join(Order).where(Order.order_no != refunded)
        ).all()
        margin = sum((i.unit_price_cents - i.unit_wholesale_cents) * i.quantity for i in kept)
    assert 0 < shown["profit"] <= margin
    assert shown["average"] == int(
        (Decimal(expected["sales"]) / 3).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    )
    assert shown["visits"] == 5
    assert shown["conversion"] == "60.0"  # 3 paid orders / 5 visits
    assert sum(shown["bars"]) == shown["sales"] and len(shown["bars"]) == 24
    assert sum(shown["points"]) == shown["profit"]
    svg = re.search(r"<svg.*?</svg>", shown["html"], re.S).group(0)
    assert 'role="img"' in svg and '<title id="chart-title">' in svg and "<desc" in svg
    assert "<script" not in shown["html"].split("<main", 1)[-1]

    # Ten days ago: out of "today" and "7 days", inside "30 days".
    past = utcnow() - timedelta(days=10)
    with app.app_context():
        with tenant_context(store):
            db.session.execute(update(Order).where(Order.order_no == first).values(paid_at=past))
            db.session.commit()
        db.session.execute(
            update(LedgerTransaction)
            .where(LedgerTransaction.reference.like(f"%:{first}"))
            .values(created_at=past)
        )
        db.session.execute(
            update(StoreVisitDay)
            .where(StoreVisitDay.tenant_id == store.id)
            .values(day=(past + timedelta(hours=8)).date())
        )
        db.session.commit()
    week, month = figures(admin, "7d"), figures(admin, "30d")
    moved = independent(app, store, utcnow() - timedelta(days=1))
    assert week["sales"] == moved["sales"] and week["orders"] == 2
    assert month["sales"] == expected["sales"] and month["orders"] == 3
    assert month["profit"] == ledger_profit(app, store)
    assert week["profit"] < month["profit"]
    assert len(week["bars"]) == 7 and len(month["bars"]) == 30
    # Stored rows moved back 10 days: with Redis, the 2 views not flushed yet stay today;
    # the embedded default writes every view to the database at once.
    assert month["visits"] == 5
    assert week["visits"] == (2 if backend.redis_url else 0)


def test_alerts_show_low_stock_failed_topups_and_manual_orders(app, make_store, site):
    store = make_store(password=OWNER_PASSWORD)
    low = make_product(app, skus=[(1000, 800)])
    add_keys(app, low["sku_ids"][0], [f"L-{uuid.uuid4().hex}" for _ in range(3)])
    manual = make_product(app, delivery_type="manual", skus=[(500, 300)])
    manual_no, _ = paid_order(app, store, manual["sku_ids"][0])
    with app.app_context():
        db.session.add(
            Topup(
                topup_no=f"T{uuid.uuid4().hex[:16]}",
                tenant_id=store.id,
                order_no=manual_no,
                order_item_id=1,
                sku_id=manual["sku_ids"][0],
                quantity=1,
                status="failed",
                deadline_at=utcnow(),
            )
        )
        db.session.commit()
    admin = site(f"{store.slug}.{APEX}")
    admin.login_store(f"owner@{store.slug}.example.com", OWNER_PASSWORD)
    html = admin.get("/admin/").get_data(as_text=True)
    assert re.search(r'id="alert-awaiting".*?data-count="1"', html, re.S)
    assert re.search(r'id="alert-failed-topups".*?data-count="1"', html, re.S)
    assert re.search(rf'data-sku="{low["sku_ids"][0]}" data-available="3"', html)


def test_a_store_without_sales_shows_zeros_and_no_conversion(app, make_store, site):
    store = make_store(password=OWNER_PASSWORD)
    admin = site(f"{store.slug}.{APEX}")
    admin.login_store(f"owner@{store.slug}.example.com", OWNER_PASSWORD)
    shown = figures(admin, "30d")
    assert (shown["sales"], shown["profit"], shown["orders"], shown["average"]) == (0, 0, 0, 0)
    assert shown["conversion"] == "" and shown["top"] == []
    assert figures(admin, "bogus")["bars"] == [0] * 24  # unknown period: today


@pytest.mark.postgres
def test_visits_counted_and_flushed_concurrently_are_never_lost_or_doubled(app, make_store):
    """Page views from several threads while several flushes run: the database ends with
    exactly the number of views, counted once each."""
    import threading

    from app.analytics.visits import count_visit, today, visits_between

    store = make_store()
    threads_count, each = 4, 50
    stop = threading.Event()
    barrier = threading.Barrier(threads_count + 2)

    def visitor():
        with app.app_context():
            barrier.wait()
            for _ in range(each):
                count_visit(store.id)

    def flusher():
        with app.app_context():
            barrier.wait()
            while not stop.is_set():
                flush_counts()

    visitors = [threading.Thread(target=visitor) for _ in range(threads_count)]
    flushers = [threading.Thread(target=flusher) for _ in range(2)]
    for t in visitors + flushers:
        t.start()
    for t in visitors:
        t.join()
    stop.set()
    for t in flushers:
        t.join()
    with app.app_context():
        flush_counts()
        stored = db.session.scalar(
            select(StoreVisitDay.visits).where(
                StoreVisitDay.tenant_id == store.id, StoreVisitDay.day == today()
            )
        )
        assert stored == threads_count * each
        assert sum(visits_between(store.id, today(), today()).values()) == threads_count * each
