"""Running top-ups from the consoles: the platform connects suppliers and routes SKUs to them,
both consoles show what happened to a top-up, owners re-ask a supplier, scorecards compare
suppliers, and storefronts stop selling what no supplier can fill."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.catalog import services as catalog
from app.catalog.models import Supplier
from app.db import utcnow
from app.extensions import db
from app.suppliers.models import SupplierOffer
from app.suppliers.services import (
    FAILURES_TO_OPEN,
    configure_connector,
    connector_settings,
    offers_for,
    record_failure,
)
from tests.support.catalog import make_product
from tests.support.topups import PHONE, simulated_supplier, topup_product
from tests.test_fulfilment import buy, drain, order_status, topup_of

APEX = "kameng.test"
TOPPED_UP = '<span class="badge badge-topup-success">Topped up</span>'


@pytest.fixture
def console(apex, platform_admin):
    """The apex client, signed in to the platform console as its owner, reading English."""
    assert apex.login_platform(*platform_admin).status_code == 302
    apex.get("/lang/en?next=/")
    return apex


def text(response) -> str:
    return response.get_data(as_text=True)


def field_error(page: str, name: str) -> bool:
    """The setting's field is marked wrong (its error is shown next to it)."""
    return re.search(rf'<div class="field has-error">\s*<label for="{name}"', page) is not None


def plain_supplier(app) -> int:
    with app.app_context():
        return catalog.save_supplier(None, name=f"Up {uuid.uuid4().hex[:6]}", status="active").id


def stored(app, supplier_id) -> Supplier:
    with app.app_context():
        supplier = db.session.get(Supplier, supplier_id)
        db.session.expunge(supplier)
        return supplier


def test_the_owner_connects_a_supplier_and_bad_settings_are_refused_by_name(
    app, console, simulator
):
    supplier_id = plain_supplier(app)
    page_path = f"/platform/suppliers/{supplier_id}?connector=simulator"
    page = text(console.get(page_path))
    assert f"/suppliers/callback/{supplier_id}" in page and "setting_base_url" in page
    action = f"/platform/suppliers/{supplier_id}/connector"

    missing_key = console.submit(
        page_path, {"kind": "simulator", "setting_base_url": simulator.url}, action=action
    )
    assert missing_key.status_code == 400
    assert field_error(text(missing_key), "setting_key")
    bad_url = console.submit(
        page_path,
        {"kind": "simulator", "setting_base_url": "ftp://nope", "setting_key": "k"},
        action=action,
    )
    assert bad_url.status_code == 400 and field_error(text(bad_url), "setting_base_url")
    assert "must start with http" in text(bad_url)
    assert stored(app, supplier_id).connector == ""  # nothing changed

    good = {"kind": "simulator", "setting_base_url": simulator.url, "setting_key": simulator.key}
    assert console.submit(page_path, good, action=action).status_code == 302
    supplier = stored(app, supplier_id)
    assert supplier.connector == "simulator"
    assert simulator.key not in supplier.connector_settings_sealed
    page = text(console.get(f"/platform/suppliers/{supplier_id}"))
    assert simulator.key not in page and "Set. Leave empty to keep it." in page

    # Saving again with the secret left blank keeps it.
    kept = dict(good, setting_key="")
    assert console.submit(page_path, kept, action=action).status_code == 302
    with app.app_context():
        assert connector_settings(db.session.get(Supplier, supplier_id))["key"] == simulator.key

    checked = console.submit(
        f"/platform/suppliers/{supplier_id}",
        {},
        action=f"/platform/suppliers/{supplier_id}/balance",
        follow_redirects=True,
    )
    assert "Balance at" in text(checked)
    supplier = stored(app, supplier_id)
    assert supplier.balance_cents is not None and supplier.balance_checked_at is not None


def test_a_supplier_that_does_not_answer_is_reported_when_its_balance_is_checked(app, console):
    supplier_id = plain_supplier(app)
    with app.app_context():
        configure_connector(
            db.session.get(Supplier, supplier_id),
            "simulator",
            {"base_url": "http://127.0.0.1:9", "key": "k"},  # nothing listens there
        )
    page = console.submit(
        f"/platform/suppliers/{supplier_id}",
        {},
        action=f"/platform/suppliers/{supplier_id}/balance",
        follow_redirects=True,
    )
    assert "The supplier did not answer" in text(page)
    assert stored(app, supplier_id).balance_checked_at is None


def test_only_platform_owners_change_a_connection(app, apex, simulator):
    from app.platform.models import PlatformUser

    supplier_id = simulated_supplier(app, simulator)
    email = f"staff-{uuid.uuid4().hex[:8]}@example.com"
    with app.app_context():
        staff = PlatformUser(email=email, name="Staff", role="staff")
        staff.set_password("staff-pass-1")
        db.session.add(staff)
        db.session.commit()
    apex.login_platform(email, "staff-pass-1")
    page_path = f"/platform/suppliers/{supplier_id}"
    assert "setting_base_url" not in text(apex.get(page_path))
    refused = apex.submit(
        page_path,
        {"kind": "simulator", "setting_base_url": "http://example.invalid", "setting_key": "x"},
        action=f"{page_path}/connector",
    )
    assert refused.status_code == 403
    assert apex.submit(page_path, {}, action=f"{page_path}/breaker/close").status_code == 403
    assert connector_settings_of(app, supplier_id)["base_url"] == simulator.url


def connector_settings_of(app, supplier_id):
    with app.app_context():
        return connector_settings(db.session.get(Supplier, supplier_id))


def test_offers_are_added_changed_and_deactivated_on_the_sku_page(app, console, simulator):
    supplier_id = simulated_supplier(app, simulator)
    item = make_product(app, delivery_type="direct_topup", skus=[(1000, 980)], input_schema=PHONE)
    sku_id = item["sku_ids"][0]
    page_path = f"/platform/catalog/skus/{sku_id}"
    assert "No supplier offers" in text(console.get(page_path))
    action = f"/platform/catalog/skus/{sku_id}/offers"
    offer = {"supplier_id": supplier_id, "supplier_sku_code": "CM10", "priority": "0"}

    refused = console.submit(page_path, dict(offer, cost="nine"), action=action)
    assert refused.status_code == 400 and field_error(text(refused), "cost")
    with app.app_context():
        assert offers_for(sku_id) == []

    assert console.submit(page_path, dict(offer, cost="9.80"), action=action).status_code == 302
    assert console.submit(page_path, dict(offer, cost="9.50"), action=action).status_code == 302
    with app.app_context():
        (saved,) = offers_for(sku_id)
        assert (saved.supplier_sku_code, saved.cost_cents) == ("CM10", 950)
        offer_id = saved.id
    page = text(console.get(f"{page_path}?offer={offer_id}"))
    assert 'value="9.50"' in page

    console.submit(page_path, {}, action=f"/platform/catalog/offers/{offer_id}/deactivate")
    with app.app_context():
        assert offers_for(sku_id) == []
        assert db.session.get(SupplierOffer, offer_id).is_active is False
    assert "Deactivated" in text(console.get(page_path))


def test_a_top_up_shows_its_timeline_on_both_consoles_with_raw_logs_for_the_platform_only(
    app, backend, make_store, site, console, simulator
):
    store = make_store()
    supplier_id = simulated_supplier(app, simulator)
    item = topup_product(app, [(supplier_id, "CM10")])
    order_no = buy(app, backend, store, item["sku_ids"][0])
    topup = topup_of(app, order_no)
    assert topup.status == "success"

    platform_page = text(console.get(f"/platform/orders/{order_no}"))
    assert topup.reference in platform_page and TOPPED_UP in platform_page
    assert "<details>" in platform_page and "/api/order" in platform_page  # the request sent

    admin = site(f"{store.slug}.{APEX}")
    assert admin.login_store(f"owner@{store.slug}.example.com", "s3cret-pass").status_code == 302
    admin.get("/lang/en?next=/admin/")
    store_page = text(admin.get(f"/admin/orders/{order_no}"))
    assert topup.reference in store_page and TOPPED_UP in store_page
    assert "<code>place</code>" in store_page and "<code>success</code>" in store_page
    assert "<details>" not in store_page and "/api/order" not in store_page
    assert "Retry now" not in store_page


def test_retry_now_resolves_an_unknown_top_up_without_buying_twice(
    app, backend, make_store, console, simulator
):
    store = make_store()
    supplier_id = simulated_supplier(app, simulator)
    item = topup_product(app, [(supplier_id, "CM10")])
    simulator.configure(timeout_rate=1.0, stall_seconds=4)  # it buys, then answers too late
    order_no = buy(app, backend, store, item["sku_ids"][0])
    topup = topup_of(app, order_no)
    assert topup.status == "unknown"
    simulator.configure(timeout_rate=0.0)

    page_path = f"/platform/orders/{order_no}"
    assert "Retry now" in text(console.get(page_path))
    done = console.submit(
        page_path, {}, action=f"/platform/orders/{order_no}/topups/{topup.topup_no}/retry"
    )
    assert done.status_code == 302
    drain(app, backend)
    topup = topup_of(app, order_no)
    assert topup.status == "success"
    assert simulator.placed_count(topup.reference) == 1
    assert order_status(app, store, order_no) == "delivered"
    assert "Retry now" not in text(console.get(page_path))


def test_scorecards_show_each_suppliers_success_rate(app, backend, make_store, console, simulator):
    store = make_store()
    scored = simulated_supplier(app, simulator, name=f"Scored {uuid.uuid4().hex[:6]}")
    refuser = simulated_supplier(app, simulator, name=f"Refuser {uuid.uuid4().hex[:6]}")
    good = topup_product(app, [(scored, "CM10")])
    bad = topup_product(app, [(scored, "FAIL10")])
    passed_on = topup_product(app, [(refuser, "FAIL10"), (scored, "CM10")])
    for item in (good, bad, passed_on):
        buy(app, backend, store, item["sku_ids"][0])
    drain(app, backend)

    page = text(console.get("/platform/suppliers/scorecards"))
    assert re.search(
        r"<td class=\"num\">3</td>\s*<td class=\"num\">66\.7%</td>", last_day(page, scored)
    )
    refused = last_day(page, refuser)
    assert re.search(r"<td class=\"num\">1</td>\s*<td class=\"num\">0\.0%</td>", refused)
    assert "the next supplier was tried" in refused
    assert "/platform/suppliers/scorecards" in text(console.get("/platform/suppliers"))


def last_day(page: str, supplier_id: int) -> str:
    """The "last 24 hours" row of a supplier's scorecard."""
    card = page.split(f'id="supplier-{supplier_id}"', 1)[1].split("</section>", 1)[0]
    return card.split("Last 24 hours", 1)[1].split("</tr>", 1)[0]


def buy_button_disabled(visitor, product_id) -> bool:
    page = text(visitor.get(f"/p/{product_id}"))
    button = re.search(r'<button class="buy-button"[^>]*>', page)
    assert button, page[:500]
    return "disabled" in button.group(0)


def test_a_top_up_whose_only_supplier_is_down_shows_sold_out_until_it_recovers(
    app, make_store, site, console, simulator
):
    from workers.jobs.fulfilment import sweep_topups

    store = make_store()
    supplier_id = simulated_supplier(app, simulator)
    item = topup_product(app, [(supplier_id, "CM10")])
    visitor = site(f"{store.slug}.{APEX}")  # anonymous: served from the page cache
    assert not buy_button_disabled(visitor, item["product_id"])

    with app.app_context():
        for _ in range(FAILURES_TO_OPEN):  # what an outage does to the breaker
            record_failure(supplier_id)
        db.session.commit()
        assert db.session.get(Supplier, supplier_id).breaker_state == "open"
        sweep_topups()  # the periodic sweep tells storefronts
    assert buy_button_disabled(visitor, item["product_id"])

    # Cooled down: the next order may probe the supplier, so it is on sale again.
    with app.app_context():
        db.session.execute(
            update(Supplier)
            .where(Supplier.id == supplier_id)
            .values(breaker_opened_at=utcnow() - timedelta(minutes=5))
        )
        db.session.commit()
        sweep_topups()
    assert not buy_button_disabled(visitor, item["product_id"])

    with app.app_context():
        db.session.execute(
            update(Supplier).where(Supplier.id == supplier_id).values(breaker_opened_at=utcnow())
        )
        db.session.commit()
        sweep_topups()
    assert buy_button_disabled(visitor, item["product_id"])
    page_path = f"/platform/suppliers/{supplier_id}"
    console.submit(page_path, {}, action=f"{page_path}/breaker/close")
    assert stored(app, supplier_id).breaker_state == "closed"
    assert not buy_button_disabled(visitor, item["product_id"])


def test_a_top_up_sku_without_an_active_offer_shows_sold_out(app, make_store, site):
    store = make_store()
    item = make_product(app, delivery_type="direct_topup", input_schema=PHONE)
    assert buy_button_disabled(site(f"{store.slug}.{APEX}"), item["product_id"])
