"""The risk rules added to checkout and payment, end to end at their boundaries: velocity per
device (and the storefront's signed device cookie), the first-order cap for new customers on
high-risk products, quantity caps, the platform-wide anti-money-laundering total per contact,
country by IP from a GeoIP database, and the velocity counters under concurrency in the
embedded (SQLite) mode too."""

import threading
import time
import uuid

import pytest
from sqlalchemy import func, select

from app.catalog.models import Product, Sku
from app.extensions import db
from app.orders.models import Order
from app.orders.services import OrderError, create_order
from app.risk import device, geoip
from app.risk.models import PaidContact
from app.risk.services import _increment_in_database, count_attempt
from tenants.context import tenant_context
from tests.support.money import card_sku
from tests.test_refunds import notify, open_payment
from tests.test_risk import review_of, store_setting


def buy(app, store, sku, quantity=1, **contact):
    contact.setdefault("contact_email", f"r-{uuid.uuid4().hex[:8]}@example.com")
    with app.app_context(), tenant_context(store):
        return create_order(store, sku_id=sku, quantity=quantity, **contact).order_no


def refused(app, store, sku, quantity=1, **contact) -> OrderError:
    with pytest.raises(OrderError) as error:
        buy(app, store, sku, quantity, **contact)
    return error.value


def order_count(app, store) -> int:
    with app.app_context(), tenant_context(store):
        return db.session.scalar(select(func.count()).select_from(Order))


def one_minute_slot(margin=8):
    """Keep the attempts of a test inside one fixed minute window of the counters."""
    if time.time() % 60 > 60 - margin:
        time.sleep(margin + 1)


# -- velocity per device ---------------------------------------------------------------------------


def test_velocity_per_device_whatever_the_contact_and_address(app, make_store):
    store = make_store()
    sku = card_sku(app, wholesale=100, keys=6)
    store_setting(app, store, risk_per_minute=2)
    one_minute_slot()
    phone = f"dev-{uuid.uuid4().hex}"
    for index in range(2):  # a new e-mail and IP each time: only the device links them
        buy(app, store, sku, client_ip=f"198.51.100.{index + 1}", device_id=phone)
    before = order_count(app, store)
    error = refused(app, store, sku, client_ip="198.51.100.3", device_id=phone)
    assert (error.field, error.params) == ("sku_id", {"count": 3, "max": 2})
    assert order_count(app, store) == before
    # another device, and checkouts without one, are not affected
    buy(app, store, sku, client_ip="198.51.100.4", device_id=f"other-{uuid.uuid4().hex}")
    buy(app, store, sku, client_ip="198.51.100.5")


def test_the_device_cookie_is_signed_and_long_lived():
    device_id, value = device.new_cookie("secret-1")
    assert device.from_cookie(value, "secret-1") == device_id
    assert device.from_cookie(value, "another-secret") == ""  # not ours
    assert device.from_cookie(device_id, "secret-1") == ""  # unsigned
    assert device.from_cookie(value[:-2] + "xx", "secret-1") == ""  # tampered
    assert device.from_cookie("", "secret-1") == ""
    assert device.client_device_id("key7", "  phone-42 ") == "api:key7:phone-42"
    assert device.client_device_id("key7", "") == ""
    assert device.MAX_AGE_SECONDS >= 365 * 24 * 3600


def test_the_checkout_page_sets_the_device_cookie_and_counts_the_browser(app, make_store, site):
    store = make_store()
    sku = card_sku(app, wholesale=100, keys=6)
    store_setting(app, store, risk_per_minute=2)
    one_minute_slot()
    shop = site(f"{store.slug}.kameng.test")
    page = f"/checkout?sku={sku}&quantity=1"
    first = shop.get(page)
    cookie = shop.cookie(device.COOKIE)
    assert cookie is not None and cookie.http_only and cookie.max_age
    assert device.from_cookie(cookie.value, app.secret_key)
    assert "kameng_device" in first.headers["Set-Cookie"]
    again = shop.get(page)
    assert "kameng_device" not in again.headers.get("Set-Cookie", "")  # kept, not renewed

    def order(index):
        data = {"contact_email": f"d{index}-{uuid.uuid4().hex[:6]}@example.com"}
        data["query_password"] = "lookup-1"
        address = {"REMOTE_ADDR": f"192.0.2.{index + 10}"}
        return shop.submit(page, data, action=page, environ_base=address)

    assert [order(i).status_code for i in range(2)] == [302, 302]
    third = order(2)  # new e-mail and address, same browser
    assert third.status_code == 400
    assert "短时间内下单过多" in third.get_data(as_text=True)
    assert order_count(app, store) == 2


# -- first-order cap for new customers on high-risk products -------------------------------------


def high_risk_sku(app, wholesale=1000, keys=10) -> int:
    sku = card_sku(app, wholesale=wholesale, keys=keys)
    with app.app_context():
        product = db.session.get(Product, db.session.get(Sku, sku).product_id)
        product.is_high_risk = True
        db.session.commit()
    return sku


@pytest.mark.parametrize("cap, allowed", [(1001, True), (1000, True), (999, False)])
def test_a_new_customers_first_order_of_a_high_risk_product_is_capped(
    app, make_store, monkeypatch, cap, allowed
):
    store = make_store()
    sku = high_risk_sku(app)  # 10.00 each
    monkeypatch.setitem(app.config, "RISK_NEW_CUSTOMER_HIGH_RISK_CENTS", cap)
    if allowed:
        assert buy(app, store, sku)
    else:
        error = refused(app, store, sku)
        assert error.params == {"max": f"{cap / 100:.2f}"}
        assert order_count(app, store) == 0


def test_after_a_paid_order_the_customer_is_no_longer_new(app, make_store, monkeypatch):
    store = make_store()
    sku = high_risk_sku(app)
    ordinary = card_sku(app, wholesale=1000, keys=3)
    monkeypatch.setitem(app.config, "RISK_NEW_CUSTOMER_HIGH_RISK_CENTS", 1000)
    email = f"new-{uuid.uuid4().hex[:6]}@example.com"
    refused(app, store, sku, quantity=2, contact_email=email)
    assert buy(app, store, ordinary, quantity=2, contact_email=email)  # not high-risk
    order_no, payment_no = open_payment(app, store, sku, email=email)  # 10.00: at the cap
    refused(app, store, sku, quantity=2, contact_email=email)  # unpaid orders do not count
    assert notify(app, payment_no) == "delivered"
    assert buy(app, store, sku, quantity=2, contact_email=email)  # a returning customer now
    # a phone that never paid is still new
    refused(app, store, sku, quantity=2, contact_email="", contact_phone="13900009999")


def test_the_store_may_set_a_lower_first_order_cap(app, make_store):
    store = make_store()
    sku = high_risk_sku(app)
    store_setting(app, store, risk_new_customer_cap_cents=999)
    assert refused(app, store, sku).params == {"max": "9.99"}
    store_setting(app, store, risk_new_customer_cap_cents=1000)
    assert buy(app, store, sku)


# -- quantity caps ---------------------------------------------------------------------------------


def test_quantity_per_order_of_the_store_at_its_boundary(app, make_store):
    store = make_store()
    sku = card_sku(app, wholesale=100, keys=10)
    store_setting(app, store, risk_quantity_per_order=3)
    assert buy(app, store, sku, quantity=2)
    assert buy(app, store, sku, quantity=3)
    error = refused(app, store, sku, quantity=4)
    assert (error.field, error.params) == ("sku_id", {"max": 3})


def test_quantity_per_buyer_per_day_of_the_sku_counts_every_contact(app, make_store):
    store = make_store()
    sku = card_sku(app, wholesale=100, keys=12)
    with app.app_context():
        db.session.get(Sku, sku).daily_quantity_max = 3
        db.session.commit()
    email = f"q-{uuid.uuid4().hex[:6]}@example.com"
    buy(app, store, sku, quantity=2, contact_email=email)  # 2 of 3
    assert refused(app, store, sku, quantity=2, contact_email=email).params == {"max": 3}
    buy(app, store, sku, quantity=1, contact_email=email)  # exactly 3
    refused(app, store, sku, quantity=1, contact_email=email)  # 4: one over
    # the same buyer by phone (with the e-mail) is still the same buyer
    refused(app, store, sku, quantity=1, contact_email=email, contact_phone="13900001234")
    assert buy(app, store, sku, quantity=3)  # another buyer has their own 3
    other = card_sku(app, wholesale=100, keys=3)
    assert buy(app, store, other, quantity=1, contact_email=email)  # another SKU
    store_setting(app, store, risk_quantity_per_day=2)  # the store's lower cap wins
    assert refused(app, store, sku, quantity=3).params == {"max": 2}


# -- the anti-money-laundering daily total across the platform -----------------------------------


@pytest.mark.parametrize("threshold, outcome", [(5001, "delivered"), (5000, "review")])
def test_the_aml_daily_total_counts_what_a_contact_paid_in_every_store(
    app, make_store, monkeypatch, threshold, outcome
):
    store_a, store_b = make_store(), make_store()
    sku_a = card_sku(app, wholesale=3000, keys=2)
    sku_b = card_sku(app, wholesale=2000, keys=2)
    monkeypatch.setitem(app.config, "RISK_AML_DAILY_CENTS", threshold)
    email = f"aml-{uuid.uuid4().hex[:6]}@example.com"
    order_a, payment_a = open_payment(app, store_a, sku_a, email=email)
    assert notify(app, payment_a) == "delivered"  # 30.00 today
    order_b, payment_b = open_payment(app, store_b, sku_b, email=email.upper())
    assert notify(app, payment_b) == outcome  # 50.00 today, across two stores
    if outcome == "review":
        review = review_of(app, store_b, order_b)
        assert review.queue == "platform"
        assert [r["code"] for r in review.reasons] == ["aml_daily"]
    with app.app_context():
        stored = db.session.scalars(
            select(PaidContact).where(PaidContact.order_no.in_([order_a, order_b]))
        ).all()
        assert sorted(r.amount_cents for r in stored) == [2000, 3000]
        assert all(email not in r.contact_digest and len(r.contact_digest) == 64 for r in stored)
    notify(app, payment_b)  # a retried callback: the payment counts once
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(PaidContact).where(PaidContact.order_no == order_b)
            )
            == 1
        )


# -- country by IP ---------------------------------------------------------------------------------


@pytest.fixture
def geoip_database(tmp_path):
    """A tiny MaxMind-format database written here: two networks with their countries."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-Country")
    writer.insert_network(IPSet(["1.1.1.0/24"]), {"country": {"iso_code": "AU"}})
    writer.insert_network(IPSet(["36.110.0.0/16"]), {"country": {"iso_code": "CN"}})
    writer.insert_network(IPSet(["5.62.60.0/24"]), {"registered_country": {"iso_code": "KP"}})
    path = tmp_path / "countries.mmdb"
    writer.to_db_file(str(path))
    yield str(path)
    geoip.close_all()


def test_country_of_an_address(app, geoip_database):
    with app.app_context():
        assert geoip.country_of("1.1.1.7", geoip_database) == "AU"
        assert geoip.country_of("36.110.1.1", geoip_database) == "CN"
        assert geoip.country_of("5.62.60.9", geoip_database) == "KP"  # registered country
        assert geoip.country_of("8.8.8.8", geoip_database) == ""  # not in the database
        assert geoip.country_of("10.0.0.1", geoip_database) == ""  # private
        assert geoip.country_of("not-an-ip", geoip_database) == ""
        assert geoip.country_of("1.1.1.7", "") == ""  # no database configured
        assert geoip.country_of("1.1.1.7", "/nonexistent/x.mmdb") == ""  # sells, logs
    assert geoip.country_set(" cn, HK ,,mo") == frozenset({"CN", "HK", "MO"})


def test_checkout_refuses_blocked_countries_and_others_outside_the_allowed_list(
    app, make_store, monkeypatch, geoip_database
):
    store = make_store()
    sku = card_sku(app, wholesale=100, keys=10)
    monkeypatch.setitem(app.config, "GEOIP_DATABASE", geoip_database)
    monkeypatch.setitem(app.config, "RISK_BLOCKED_COUNTRIES", "KP")
    error = refused(app, store, sku, client_ip="5.62.60.9")
    assert error.params == {"country": "KP"}
    assert buy(app, store, sku, client_ip="1.1.1.7")
    monkeypatch.setitem(app.config, "RISK_ALLOWED_COUNTRIES", "CN,HK")
    refused(app, store, sku, client_ip="1.1.1.7")
    assert buy(app, store, sku, client_ip="36.110.1.1")
    assert buy(app, store, sku, client_ip="8.8.8.8")  # unknown to the database: accepted
    monkeypatch.setitem(app.config, "GEOIP_DATABASE", None)
    assert buy(app, store, sku, client_ip="5.62.60.9")  # no database: no country rule


# -- counters under concurrency, in both modes ---------------------------------------------------


def test_database_velocity_counters_are_exact_under_concurrency_in_either_mode(app, make_store):
    """The embedded default counts in the database (SQLite: one writer at a time); PostgreSQL
    without Redis uses the same upsert. Twelve checkouts at once get twelve distinct counts."""
    store = make_store()
    key = f"risk:test:{uuid.uuid4().hex}"
    seen, errors, barrier = [], [], threading.Barrier(12)

    def hit():
        try:
            with app.app_context(), tenant_context(store):
                barrier.wait()
                seen.append(_increment_in_database(key, 60))
                db.session.commit()
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=hit) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(seen) == list(range(1, 13))


def test_count_attempt_counts_ip_contact_and_device_exactly_under_concurrency(app, make_store):
    """Through whatever the backend uses (Redis on PostgreSQL, the database embedded)."""
    store = make_store()
    one_minute_slot()
    ip, phone = f"2001:db8::{uuid.uuid4().hex[:4]}", f"dev-{uuid.uuid4().hex}"
    seen, barrier = [], threading.Barrier(8)

    def hit(index):
        with app.app_context(), tenant_context(store):
            barrier.wait()
            seen.append(
                count_attempt(store.id, ip=ip, contacts=[f"c{index}@x.example"], device_id=phone)
            )
            db.session.commit()

    threads = [threading.Thread(target=hit, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(c["ip_minute"] for c in seen) == list(range(1, 9))
    assert sorted(c["device_minute"] for c in seen) == list(range(1, 9))
    assert sorted(c["device_hour"] for c in seen) == list(range(1, 9))
    assert [c["contact_minute"] for c in seen] == [1] * 8  # each contact once


def test_two_payments_at_once_in_two_stores_see_each_others_aml_total(app, make_store, monkeypatch):
    """Of two payments at once that together reach the threshold, exactly one — the later — is
    held. (Here both also lock the sandbox clearing account; the per-contact lock of app.risk.aml
    is what orders payments through different gateways.)"""
    store_a, store_b = make_store(), make_store()
    sku_a = card_sku(app, wholesale=3000, keys=2)
    sku_b = card_sku(app, wholesale=2000, keys=2)
    monkeypatch.setitem(app.config, "RISK_AML_DAILY_CENTS", 5000)
    email = f"race-{uuid.uuid4().hex[:6]}@example.com"
    payments = [
        open_payment(app, store_a, sku_a, email=email)[1],
        open_payment(app, store_b, sku_b, email=email)[1],
    ]
    outcomes, errors, barrier = [], [], threading.Barrier(2)

    def pay(payment_no):
        try:
            barrier.wait()
            outcomes.append(notify(app, payment_no))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=pay, args=(p,)) for p in payments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(outcomes) == ["delivered", "review"]
