"""Customer levels: reached by paid spend (recomputed on payment and refund), a discount the
pricing engine applies after the markup, exact to the cent and never below wholesale."""

import pytest
from sqlalchemy import select

from app.customers import levels
from app.customers.models import Customer
from app.extensions import db
from app.orders.models import Order
from app.pricing.engine import Markup, quote
from tenants.context import tenant_context
from tests.support.customer_money import (
    customer_email,
    customer_order,
    new_customer,
    pay_by_balance,
    topped_up,
)
from tests.support.money import card_sku, refund, with_markup
from tests.test_crm import back_office
from tests.test_customers import login, shop, text


def set_levels(app, store, **values):
    table = {
        "bronze": (0, 0),
        "silver": (1000, 1000),
        "gold": (5000, 2500),
        "diamond": (9000, 5000),
    }
    table.update(values)
    with app.app_context(), tenant_context(store):
        levels.save_levels(table)
        db.session.commit()


def level_of(app, store, customer_id):
    with app.app_context(), tenant_context(store):
        customer = db.session.get(Customer, customer_id)
        return levels.customer_level(customer).code, customer.paid_spend_cents


@pytest.mark.parametrize(
    ("wholesale", "markup_bp", "discount_bp", "expected"),
    [
        (1000, 2000, 200, 1176),  # 12.00 less 2 % = 11.76
        (1234, 2000, 333, 1432),  # 12.34 + 20 % = 14.81 (half-up); 3.33 % of it, 0.4931…, floored
        (1000, 200, 5000, 1000),  # 10.20 less 50 % would be 5.10: never below wholesale
        (999, 0, 800, 999),  # sold at wholesale: no room for a discount
    ],
)
def test_the_level_discount_is_exact_to_the_cent_and_never_below_wholesale(
    wholesale, markup_bp, discount_bp, expected
):
    retail = quote(wholesale, Markup("percent", markup_bp)).retail_cents
    price = quote(wholesale, Markup("percent", markup_bp), "store", discount_bp).price_cents
    assert price == expected == max(retail - retail * discount_bp // 10000, wholesale)


def test_defaults_are_bronze_silver_gold_diamond(app, make_store):
    store = make_store()
    with app.app_context(), tenant_context(store):
        assert [lv.code for lv in levels.levels()] == ["bronze", "silver", "gold", "diamond"]
        assert levels.level_for(0).code == "bronze"
        assert levels.level_for(10**9).code == "diamond"


def test_paid_spend_moves_the_level_up_and_a_refund_moves_it_back(app, make_store):
    store = with_markup(app, make_store())  # 12.00 per key
    set_levels(app, store)
    customer = new_customer(app, store)
    topped_up(app, store, customer, 10000)
    assert level_of(app, store, customer) == ("bronze", 0)
    order_no, total = customer_order(app, store, card_sku(app), customer)
    assert total == 1200
    pay_by_balance(app, store, order_no, customer)
    assert level_of(app, store, customer) == ("silver", 1200)
    # Silver: 10 % off the next order, priced by the server.
    second, total = customer_order(app, store, card_sku(app), customer)
    assert total == 1080
    pay_by_balance(app, store, second, customer)
    assert level_of(app, store, customer) == ("silver", 2280)
    assert refund(app, store, order_no, amount=300) == "succeeded"
    assert level_of(app, store, customer) == ("silver", 1980)
    assert refund(app, store, order_no) == "succeeded"
    assert refund(app, store, second) == "succeeded"
    assert level_of(app, store, customer) == ("bronze", 0)


def test_a_signed_in_customer_sees_and_pays_their_level_price(app, make_store, site):
    store = with_markup(app, make_store())
    set_levels(app, store, bronze=(0, 500))  # everyone gets 5 % off
    sku = card_sku(app)
    customer = new_customer(app, store)
    guest = shop(site, store)
    with app.app_context():
        from app.catalog.models import Product, Sku

        product_id = db.session.get(Sku, sku).product_id
        category_id = db.session.get(Product, product_id).category_id
    assert "¥12.00" in text(guest.get(f"/p/{product_id}"))
    assert "sku-retail" not in text(guest.get(f"/p/{product_id}"))
    visitor = shop(site, store)
    login(visitor, customer_email(app, store, customer))
    page = text(visitor.get(f"/p/{product_id}"))
    assert "¥11.40" in page and 'class="muted small sku-retail" data-cents="1200"' in page
    assert 'data-discount-bp="500"' in text(visitor.get("/account"))
    assert "¥11.40" in text(visitor.get(f"/c/{category_id}"))
    assert "¥11.40" not in text(guest.get(f"/c/{category_id}"))
    # The price posted by the client plays no part: the server prices the order.
    path = f"/checkout?sku={sku}&quantity=2"
    response = visitor.submit(path, {"provider": "sandbox", "price_cents": "1", "total": "1"})
    assert response.status_code == 302
    with app.app_context(), tenant_context(store):
        order = db.session.scalar(select(Order).where(Order.customer_id == customer))
        assert order.total_cents == 2280 and order.items[0].unit_price_cents == 1140
        assert order.items[0].unit_wholesale_cents == 1000


def test_the_store_edits_thresholds_and_discounts(app, make_store, site):
    store = make_store()
    staff = back_office(app, site, store, plan=None)
    page = "/admin/settings/customers"
    values = {
        "bronze_threshold": "0", "bronze_discount": "0",
        "silver_threshold": "100", "silver_discount": "150",
        "gold_threshold": "500.50", "gold_discount": "300",
        "diamond_threshold": "2000", "diamond_discount": "900",
        "referral_percent": "5",
    }  # fmt: skip
    assert staff.submit(page, values).status_code == 302
    with app.app_context(), tenant_context(store):
        table = {lv.code: (lv.threshold_cents, lv.discount_bp) for lv in levels.levels()}
        assert table["gold"] == (50050, 300) and table["diamond"] == (200000, 900)
        from app.customers.referral import referral_bp

        assert referral_bp() == 500
    for bad in (
        {"gold_threshold": "50"},  # below silver
        {"bronze_threshold": "1"},  # the first level starts at 0
        {"silver_discount": "6000"},  # over 50 %
        {"silver_threshold": "abc"},
        {"referral_percent": "31"},
    ):
        assert staff.submit(page, {**values, **bad}).status_code == 400, bad
    with app.app_context(), tenant_context(store):
        table = {lv.code: (lv.threshold_cents, lv.discount_bp) for lv in levels.levels()}
        assert table["gold"] == (50050, 300) and table["silver"] == (10000, 150)
