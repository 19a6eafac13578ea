"""Docking between Kameng platforms (货源对接): platform B's `kameng` supplier is a store on
platform A, reached over A's open API on real HTTP. Two platforms, two databases: B is the
session's app (PostgreSQL or SQLite), A an independent SQLite platform served on localhost."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from app.extensions import db
from app.orders.models import Order
from app.suppliers.connectors.base import PlaceRequest
from tenants.context import tenant_context
from tests.support.api import api_caller, api_store
from tests.support.backends import TEST_DOMAIN
from tests.support.catalog import add_keys, make_product
from tests.support.customer_money import balance_of, topped_up
from tests.support.platforms import answer_on_localhost, independent_platform, serve
from tests.support.topups import PHONE
from tests.support.workers import wait_until
from tests.test_fulfilment import buy, drain, order_status

pytestmark = pytest.mark.slow


@pytest.fixture
def upstream(tmp_path, make_store):
    """Platform A with a store that sells card keys and a manual item over its API, and us (B)
    as a B2B customer there with ¥100 and a key."""
    with independent_platform(tmp_path / "a") as served:
        app_a = served.app
        with app_a.app_context():
            from tenants.provisioning import create_tenant

            slug = f"up-{uuid.uuid4().hex[:6]}"
            created = create_tenant(
                slug=slug, name="Upstream", owner_email=f"o@{slug}.example.com",
                owner_password="s3cret-pass",
            )  # fmt: skip
        store = api_store(app_a, lambda: created.tenant)
        answer_on_localhost(app_a, store.id)
        cards = make_product(app_a, skus=[(1200, 1000)])["sku_ids"][0]
        add_keys(app_a, cards, ["CARD-A-1 PASS-1", "CARD-A-2 PASS-2"])
        manual = make_product(app_a, delivery_type="manual", skus=[(800, 700)])["sku_ids"][0]
        buyer = api_caller(app_a, store)
        topped_up(app_a, store, buyer.customer_id, 10_000)
        yield served, store, buyer, {"cards": cards, "manual": manual}


def docked_supplier(app, served, buyer) -> int:
    from app.catalog import services as catalog
    from app.suppliers.services import configure_connector

    with app.app_context():
        supplier = catalog.save_supplier(None, name=f"A {uuid.uuid4().hex[:4]}", status="active")
        configure_connector(
            supplier,
            "kameng",
            {"base_url": served.url, "key_id": buyer.key_id, "secret": buyer.secret},
        )
        return supplier.id


def resold(app, supplier_id: int, upstream_sku: int, price=(1500, 1200)) -> int:
    """Our direct top-up SKU whose one offer is the upstream SKU."""
    from app.suppliers.offers import save_offer

    sku = make_product(app, delivery_type="direct_topup", skus=[price], input_schema=PHONE)
    sku_id = sku["sku_ids"][0]
    with app.app_context():
        save_offer(sku_id, supplier_id, supplier_sku_code=str(upstream_sku), cost_cents=1,
                   priority=0)  # fmt: skip
    return sku_id


def upstream_orders(served, store, customer_id) -> list[Order]:
    with served.app.app_context(), tenant_context(store):
        rows = db.session.scalars(
            select(Order).where(Order.customer_id == customer_id).order_by(Order.id)
        ).all()
        db.session.expunge_all()
        return rows


def delivered_content(app, store, order_no) -> str:
    from app.orders.services import manual_delivery

    with app.app_context(), tenant_context(store):
        order = db.session.scalar(select(Order).where(Order.order_no == order_no))
        return "\n".join(
            manual_delivery(store, item) for item in order.items if item.manual_delivery_sealed
        )


def test_b_sells_what_it_buys_from_a_and_its_buyer_gets_as_keys(app, backend, make_store, upstream):
    from app.suppliers.models import SupplierOffer
    from app.suppliers.sync import sync_supplier

    served, a_store, us_at_a, skus = upstream
    supplier = docked_supplier(app, served, us_at_a)
    our_sku = resold(app, supplier, skus["cards"])
    # Price and stock sync: the offer's cost becomes our price at A.
    with app.app_context():
        report = sync_supplier(supplier)
        offer = db.session.scalar(select(SupplierOffer).where(SupplierOffer.sku_id == our_sku))
        assert (report.updated, report.error) == (1, "")
        assert (offer.cost_cents, offer.in_stock) == (1200, True)
    store = make_store()
    order_no = buy(app, backend, store, our_sku)
    drain(app, backend)
    assert order_status(app, store, order_no) == "delivered"
    assert delivered_content(app, store, order_no) in ("CARD-A-1 PASS-1", "CARD-A-2 PASS-2")
    # At A: one order of ours, with our top-up reference, paid from our balance there.
    (bought,) = upstream_orders(served, a_store, us_at_a.customer_id)
    assert bought.status == "delivered" and bought.client_reference.startswith("T")
    assert balance_of(served.app, a_store, us_at_a.customer_id) == 10_000 - 1200

    # The same reference placed again (a lost answer) buys nothing more.
    from app.suppliers.services import connector_for

    with app.app_context():
        again = connector_for(supplier).place(
            PlaceRequest(bought.client_reference, str(skus["cards"]), 1, {}, 1200, "")
        )
    assert again.state == "success" and again.supplier_order_id == bought.order_no
    assert len(upstream_orders(served, a_store, us_at_a.customer_id)) == 1
    assert balance_of(served.app, a_store, us_at_a.customer_id) == 10_000 - 1200

    # A sells its last key elsewhere: the next sync puts our offer out of stock, and our
    # storefront stops selling the SKU.
    from app.storefront.catalog import store_catalog

    other = api_caller(served.app, a_store)
    other.host = "localhost"
    topped_up(served.app, a_store, other.customer_id, 5000)
    sold = other.call("POST", "/api/v1/orders", json_body={"sku_id": skus["cards"]})
    assert sold.status_code == 201, sold.get_json()
    with app.app_context():
        assert sync_supplier(supplier).out_of_stock == 1
    with app.app_context(), tenant_context(store):
        shown = {
            sku["id"]: sku["stock"]
            for card in store_catalog(store).products()
            for sku in store_catalog(store).product(card["id"])["skus"]
        }
    assert shown[our_sku] == "sold_out"


def test_a_slow_upstream_order_is_finished_by_as_webhook(app, backend, make_store, upstream):
    """A manual item at A stays paid until A's staff deliver it: we wait; A's order.delivered
    webhook to our supplier callback finishes our order with what A delivered."""
    from app import create_app
    from app.api.client import KamengClient
    from app.catalog.models import Supplier
    from app.orders.services import deliver_manually
    from app.suppliers.services import configure_connector

    served, a_store, us_at_a, skus = upstream
    supplier = docked_supplier(app, served, us_at_a)
    our_sku = resold(app, supplier, skus["manual"], price=(1000, 800))
    # Our platform's apex answers on localhost too, so A's webhook can reach our callback.
    callbacks = create_app(backend.config(PLATFORM_DOMAIN="localhost"))
    with serve(callbacks) as ours:
        hook = KamengClient(served.url, us_at_a.key_id, us_at_a.secret).set_webhook(
            f"{ours.url}/suppliers/callback/{supplier}", ["order.delivered"]
        )
        with app.app_context():
            configure_connector(
                db.session.get(Supplier, supplier), "kameng", {"webhook_secret": hook["secret"]}
            )
        store = make_store()
        order_no = buy(app, backend, store, our_sku)
        drain(app, backend)
        assert order_status(app, store, order_no) == "fulfilling"
        (waiting,) = upstream_orders(served, a_store, us_at_a.customer_id)
        assert waiting.status == "paid"
        with served.app.app_context(), tenant_context(a_store):
            deliver_manually(a_store, waiting.order_no, "ACCOUNT x / PASSWORD y", actor="staff:1")

        def finished():
            drain(app, backend)
            return order_status(app, store, order_no) == "delivered"

        wait_until(finished, timeout=30, what="our order finished by A's webhook")
    assert delivered_content(app, store, order_no) == "ACCOUNT x / PASSWORD y"
    with served.app.app_context(), tenant_context(a_store):
        from app.webhooks.models import WebhookDelivery

        statuses = db.session.scalars(select(WebhookDelivery.status)).all()
    assert statuses == ["succeeded"]


def test_a_forged_webhook_and_a_failed_sync_change_nothing(app, backend, upstream):
    from app.catalog.models import Supplier
    from app.suppliers.connectors.base import CallbackRequest, SupplierRejected
    from app.suppliers.models import SupplierOffer
    from app.suppliers.services import configure_connector, connector_for
    from app.suppliers.sync import sync_supplier
    from app.webhooks import signing

    served, _, us_at_a, skus = upstream
    supplier = docked_supplier(app, served, us_at_a)
    our_sku = resold(app, supplier, skus["cards"])
    with app.app_context():
        sync_supplier(supplier)
        configure_connector(
            db.session.get(Supplier, supplier), "kameng", {"webhook_secret": signing.new_secret()}
        )
        connector = connector_for(supplier)
        body = b'{"type":"order.delivered","data":{"reference":"T1"}}'
        forged = signing.headers(
            signing.new_secret(), "msg_1", int(__import__("time").time()), body
        )
        with pytest.raises(SupplierRejected):
            connector.verify_callback(
                CallbackRequest("POST", {k.lower(): v for k, v in forged.items()}, body)
            )
        # Our key at A stops working (revoked there): the sync fails and keeps the offer.
        configure_connector(db.session.get(Supplier, supplier), "kameng", {"secret": "ks_wrong"})
        report = sync_supplier(supplier)
        offer = db.session.scalar(select(SupplierOffer).where(SupplierOffer.sku_id == our_sku))
        assert report.error and (offer.cost_cents, offer.in_stock) == (1200, True)
    assert TEST_DOMAIN  # the session platform is still the other one
