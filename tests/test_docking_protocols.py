"""The acg-faka and dujiao-next wire formats and our two upstream connectors, against fake sites on
real sockets (tests/support/acg_faka.py, tests/support/dujiao.py). The worked signatures of the
protocol notes (../shared/protocols/) are the fixtures. No app, no database: connectors alone."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest

from app.docking import acg_wire, dujiao_wire
from app.suppliers.connectors import connector_class
from app.suppliers.connectors.base import (
    FAILED,
    NOT_FOUND,
    PROCESSING,
    SUCCESS,
    CallbackRequest,
    PlaceRequest,
    SupplierRejected,
    SupplierTransportError,
)
from tests.support.acg_faka import APP_ID, APP_KEY, Commodity, FakeAcgFaka, php_sign
from tests.support.dujiao import API_KEY, API_SECRET, DjProduct, DjSku, FakeDujiaoNext, dj_signature

NOTES_KEY = "3f9a6b2c8d1e4f70a5b6c7d8e9f01234"
DJ_NOTES_SECRET = "dj_secret_example_0123456789abcdef"
DJ_NOTES_BODY = (
    b'{"sku_id":1,"quantity":1,"downstream_order_no":"A-20260301-001",'
    b'"callback_url":"https://a.example.com/api/v1/upstream/callback"}'
)


# -- the worked examples of the notes -----------------------------------------------------------


def test_acg_signatures_match_the_worked_examples_of_the_notes():
    connect = {"app_id": "1000", "app_key": NOTES_KEY}
    assert acg_wire.sign(connect, NOTES_KEY) == "c9be1a8aa5fe687ccba35a03215c5eb8"
    trade = {
        "shared_code": "A1B2C3D4E5F6G7H8", "contact": "buyer@example.com", "num": "1",
        "card_id": "0", "device": "0", "password": "", "race": "",
        "request_no": "240101123456789012", "app_id": "1000", "app_key": NOTES_KEY,
    }  # fmt: skip
    assert acg_wire.signature_text(trade, NOTES_KEY) == (
        f"app_id=1000&app_key={NOTES_KEY}&card_id=0&contact=buyer@example.com&device=0&num=1"
        f"&request_no=240101123456789012&shared_code=A1B2C3D4E5F6G7H8&key={NOTES_KEY}"
    )  # password="" and race="" are left out, 0 stays
    assert acg_wire.sign(trade, NOTES_KEY) == "a0e22d77b651f5997ce61925d1671e1d"
    # Nested fields as PHP reads them from the form: sku[区服]=一区.
    posted = [
        ("app_id", "1000"), ("app_key", NOTES_KEY), ("card_id", "0"),
        ("code", "A1B2C3D4E5F6G7H8"), ("num", "2"), ("race", "月卡"), ("sku[区服]", "一区"),
    ]  # fmt: skip
    valuation = acg_wire.parse_form(posted)
    assert valuation["sku"] == {"区服": "一区"}
    assert acg_wire.sign(valuation, NOTES_KEY) == "d2e957d6686b25aba83535a1a7f9d10a"
    assert acg_wire.verify({**valuation, "sign": "D2E957D6686B25ABA83535A1A7F9D10A"}, NOTES_KEY)
    assert not acg_wire.verify({**valuation, "num": "3", "sign": "d2e957d6686b25ab"}, NOTES_KEY)
    # The fake site's own implementation agrees (it is written separately).
    assert php_sign(dict(posted), NOTES_KEY) == "d2e957d6686b25aba83535a1a7f9d10a"
    assert php_sign(trade, NOTES_KEY) == "a0e22d77b651f5997ce61925d1671e1d"


def test_acg_request_no_config_and_placeholders():
    number = acg_wire.request_no_for("T261207123456789012ABCDEF-1")
    assert len(number) == 19 and number.isdigit()
    assert number == acg_wire.request_no_for("T261207123456789012ABCDEF-1")  # stable
    assert number != acg_wire.request_no_for("T261207123456789012ABCDEF-2")
    config = acg_wire.parse_config(
        "[category]\n月卡=10.00\n年卡=99.00\n[sku]\n区服.一区=0\n区服.二区=1.00"
    )
    assert config == {
        "category": {"月卡": "10.00", "年卡": "99.00"},
        "sku": {"区服": {"一区": "0", "二区": "1.00"}},
    }
    assert acg_wire.parse_config(acg_wire.config_text(config)) == config
    assert acg_wire.secret_lines("K-1\nK-2\n") == (["K-1", "K-2"], False)
    assert acg_wire.secret_lines(acg_wire.DEFAULT_PLACEHOLDER) == ([], True)


def test_dujiao_signatures_match_the_worked_examples_of_the_notes():
    stamp = "1767225600"
    assert dujiao_wire.sign_string("POST", "/api/v1/upstream/orders", stamp, DJ_NOTES_BODY) == (
        "POST\n/api/v1/upstream/orders\n1767225600\n686b81bf33e9f645be69b84ff3675ee9"
    )
    assert (
        dujiao_wire.signature(
            DJ_NOTES_SECRET, "POST", "/api/v1/upstream/orders", stamp, DJ_NOTES_BODY
        )
        == "931bfa18c7536e705d3a4d6f0505feb2aa2523ede733dc6e3b39f3f4baaece2a"
    )
    # The query string is not signed; an empty body hashes as d41d8cd9….
    assert (
        dujiao_wire.signature(
            DJ_NOTES_SECRET, "GET", "/api/v1/upstream/products?page=1&page_size=20", stamp, b""
        )
        == "7555ef3123b83dd538170b1cf0f9cd91ee4b0d81323ae1eae2bbe5506ad5a4ec"
    )
    assert dj_signature(DJ_NOTES_SECRET, "POST", "/api/v1/upstream/orders", stamp,
                        DJ_NOTES_BODY).startswith("931bfa18")  # fmt: skip


# -- acg_faka against a fake acg-faka site ------------------------------------------------------


@pytest.fixture
def faka():
    with FakeAcgFaka(balance="100.00") as site:
        site.add(Commodity("CARD10", "点卡10元", price="12.00", user_price="10.50",
                           cards=["CK-1 PW-1", "CK-2 PW-2", "CK-3 PW-3"]))  # fmt: skip
        site.add(Commodity("VIP", "会员", price="30.00", user_price="30.00", cards=["V-1"],
                           races={"月卡": "8.00", "年卡": "80.00"}))  # fmt: skip
        site.add(Commodity("HAND", "代练", price="5.00", user_price="5.00", delivery_way=1,
                           stock=3, widget=[{"name": "qq", "cn": "QQ号", "placeholder": "10001",
                                             "regex": "^[1-9][0-9]{4,11}$"}]))  # fmt: skip
        yield site


def acg(site, **extra):
    settings = {"base_url": site.url, "app_id": APP_ID, "app_key": APP_KEY, **extra}
    return connector_class("acg_faka")(settings, timeout=1.0)


def place(connector, reference, code, quantity=1, fields=None, repeat=False):
    return connector.place(
        PlaceRequest(reference, code, quantity, fields or {}, 0, "", repeat=repeat)
    )


def test_acg_catalog_lists_our_costs_races_stock_and_buyer_fields(faka):
    entries = {e.supplier_sku_code: e for e in acg(faka, exchange_rate="1").catalog()}
    assert set(entries) == {"CARD10", "VIP|月卡", "VIP|年卡", "HAND"}
    assert entries["CARD10"].cost_cents == 1050  # what the site charges us (factory price)
    assert (entries["CARD10"].stock, entries["CARD10"].in_stock) == (3, True)
    assert entries["VIP|年卡"].cost_cents == 8000 and entries["VIP|年卡"].sku_name == "年卡"
    assert entries["VIP|月卡"].product_code == "VIP"
    (field,) = entries["HAND"].account_fields
    assert (field["name"], field["label"], field["example"]) == ("qq", "QQ号", "10001")
    # Converted once, half-up to the cent, by the exchange rate.
    converted = {e.supplier_sku_code: e for e in acg(faka, exchange_rate="0.1428").catalog()}
    assert converted["CARD10"].cost_cents == 150  # 10.50 × 0.1428 = 1.4994 → 1.50


def test_acg_trade_delivers_cards_once_per_request_no(faka):
    connector = acg(faka)
    first = place(connector, "T2612070000000001-1", "CARD10", 2)
    assert first.state == SUCCESS and first.secrets == ("CK-1 PW-1", "CK-2 PW-2")
    assert first.supplier_order_id and "CK-1" not in first.response_log  # keys kept out of logs
    assert faka.balance() == Decimal("79.00")
    (order,) = faka.trades()
    assert order.request_no == acg_wire.request_no_for("T2612070000000001-1")
    assert len(order.request_no) == 19
    # The same reference again (a lost answer): acg-faka refuses the known request_no; nothing
    # is bought a second time.
    again = place(connector, "T2612070000000001-1", "CARD10", 1, repeat=True)
    assert again.state == PROCESSING and "already has request_no" in again.message
    # acg-faka checks stock before request_no: a repeat refused for stock (our own first order
    # took it) may be an order the site has: it stays open, never "failed".
    short = place(connector, "T2612070000000001-1", "CARD10", 2, repeat=True)
    assert short.state == PROCESSING and "库存不足" in short.message
    assert place(connector, "T2612070000000009-1", "CARD10", 2).state == FAILED  # a first try
    assert len(faka.trades()) == 1 and faka.balance() == Decimal("79.00")
    # Looked up by the site's own number.
    found = connector.query("T2612070000000001-1", first.supplier_order_id)
    assert found.state == SUCCESS and found.secrets == first.secrets
    # Without it, acg-faka cannot look the order up: not_found (the top-up places it again).
    assert connector.query("T2612070000000001-1").state == NOT_FOUND
    # A race is a commodity code and type.
    yearly = place(connector, "T2612070000000002-1", "VIP|年卡")
    assert yearly.state == FAILED and "余额不足" in yearly.message  # 80.00 > 79.00
    monthly = place(connector, "T2612070000000003-1", "VIP|月卡")
    assert monthly.state == SUCCESS and monthly.secrets == ("V-1",)


def test_acg_refusals_manual_goods_and_an_unreachable_site(faka):
    connector = acg(faka)
    assert place(connector, "T-1-1", "NOPE").state == FAILED
    assert place(connector, "T-2-1", "CARD10", 9).message == "库存不足"
    assert connector.balance() == 10_000
    # Manual goods: the placeholder means "later"; the site's staff deliver; query shows it.
    manual = place(connector, "T-3-1", "HAND", 1, {"qq": "123456"})
    assert manual.state == PROCESSING and manual.supplier_order_id
    assert faka.calls[-1][1]["qq"] == "123456"  # the buyer's field travels by its name
    assert connector.query("T-3-1", manual.supplier_order_id).state == PROCESSING
    faka.deliver(manual.supplier_order_id, "账号 abc 密码 xyz")
    done = connector.query("T-3-1", manual.supplier_order_id)
    assert done.state == SUCCESS and done.secrets == ("账号 abc 密码 xyz",)
    # A wrong key is refused as the site does it, and is no usable catalog.
    with pytest.raises(SupplierTransportError, match="密钥错误"):
        acg(faka, app_key="0" * 32).catalog()
    faka.down = True
    with pytest.raises(SupplierTransportError):
        place(connector, "T-4-1", "CARD10")
    with pytest.raises(SupplierTransportError):
        connector.catalog()


def test_acg_a_late_answer_is_unknown_and_never_bought_twice(faka):
    connector = acg(faka)
    faka.stall_next_trade = 2.0  # the site buys, then answers after our timeout
    with pytest.raises(SupplierTransportError, match="no answer"):
        place(connector, "T-5-1", "CARD10")
    assert connector.query("T-5-1").state == NOT_FOUND  # no tradeNo: placed again, as below
    again = place(connector, "T-5-1", "CARD10", repeat=True)
    assert again.state == PROCESSING
    assert len(faka.trades()) == 1 and faka.balance() == Decimal("89.50")


# -- dujiao_next against a fake dujiao-next site ------------------------------------------------


@pytest.fixture
def dujiao():
    with FakeDujiaoNext(wallet="50.00") as site:
        site.add(DjProduct(11, "视频会员", [DjSku(21, "9.90", keys=["DJ-A", "DJ-B", "DJ-C"]),
                                          DjSku(22, "25.00", keys=[], spec="季卡")]))  # fmt: skip
        yield site


def dj(site, **extra):
    settings = {"base_url": site.url, "api_key": API_KEY, "api_secret": API_SECRET, **extra}
    return connector_class("dujiao_next")(settings, timeout=1.0)


def callback_request(site, order, *, secret=API_SECRET, path="/api/v1/upstream/callback",
                     stamp=None, key=API_KEY):  # fmt: skip
    body = site.callback_body(order)
    stamp = str(int(time.time()) if stamp is None else stamp)
    headers = {
        "dujiao-next-api-key": key,
        "dujiao-next-timestamp": stamp,
        "dujiao-next-signature": dj_signature(secret, "POST", path, stamp, body),
    }
    return CallbackRequest("POST", headers, body)


def test_dujiao_catalog_order_callback_and_polling(dujiao):
    connector = dj(dujiao)
    entries = {e.supplier_sku_code: e for e in connector.catalog()}
    assert entries["21"].cost_cents == 990 and entries["21"].in_stock
    assert entries["21"].product_name == "视频会员" and entries["21"].category == "游戏"
    assert not entries["22"].in_stock  # out of stock there
    assert connector.balance() == 5000

    placed = connector.place(
        PlaceRequest("T-9-1", "21", 2, {}, 0, "https://kameng.example.com/suppliers/callback/3")
    )
    assert placed.state == PROCESSING and placed.supplier_order_id == "101"
    (order,) = dujiao.orders
    assert (order.downstream_order_no, order.quantity) == ("T-9-1", 2)
    # The same downstream_order_no again answers the same order: one order, one payment.
    again = connector.place(PlaceRequest("T-9-1", "21", 2, {}, 0, ""))
    assert (again.state, again.supplier_order_id) == (PROCESSING, "101")
    assert len(dujiao.orders) == 1 and dujiao.wallet == Decimal("30.20")
    assert connector.query("T-9-1", "101").state == PROCESSING
    assert connector.query("T-9-1").state == NOT_FOUND  # no order id: placed again instead

    dujiao.deliver(101, send_callback=False)
    # The signed callback (fixed signing path) carries the keys.
    result = connector.verify_callback(callback_request(dujiao, order))
    assert (result.reference, result.state, result.secrets) == ("T-9-1", SUCCESS,
                                                                ("DJ-A", "DJ-B"))  # fmt: skip
    assert "DJ-A" not in result.request_log
    # Polling sees the same.
    polled = connector.query("T-9-1", "101")
    assert polled.state == SUCCESS and polled.secrets == ("DJ-A", "DJ-B")
    assert connector.callback_reply == ('{"ok":true,"message":"received"}', 200,
                                        "application/json")  # fmt: skip


def test_dujiao_forged_stale_or_misdirected_callbacks_are_refused(dujiao):
    connector = dj(dujiao)
    placed = connector.place(PlaceRequest("T-10-1", "21", 1, {}, 0, ""))
    order = dujiao.deliver(int(placed.supplier_order_id), send_callback=False)
    for forged in (
        callback_request(dujiao, order, secret="another-secret"),
        # Signed over the URL's own path instead of the fixed one.
        callback_request(dujiao, order, path="/suppliers/callback/3"),
        callback_request(dujiao, order, stamp=int(time.time()) - 120),
        callback_request(dujiao, order, key="someone-else"),
    ):
        with pytest.raises(SupplierRejected):
            connector.verify_callback(forged)
    body = json.dumps({"status": "delivered"}).encode()
    stamp = str(int(time.time()))
    headers = {
        "dujiao-next-api-key": API_KEY, "dujiao-next-timestamp": stamp,
        "dujiao-next-signature": dj_signature(API_SECRET, "POST", dujiao_wire.CALLBACK_PATH,
                                              stamp, body),
    }  # fmt: skip
    with pytest.raises(SupplierRejected, match="downstream_order_no"):
        connector.verify_callback(CallbackRequest("POST", headers, body))


def test_dujiao_refusals_a_private_callback_and_a_late_answer(dujiao):
    connector = dj(dujiao)
    refused = connector.place(PlaceRequest("T-11-1", "22", 1, {}, 0, ""))
    assert refused.state == FAILED and "insufficient_stock" in refused.message
    poor = connector.place(PlaceRequest("T-12-1", "21", 1, {}, 0, ""))
    assert poor.state == PROCESSING
    # A callback URL the site will not call (a private address): the order goes in, polled.
    private = connector.place(
        PlaceRequest("T-13-1", "21", 1, {}, 0, "http://localhost/suppliers/callback/1")
    )
    assert private.state == PROCESSING and dujiao.orders[-1].callback_url == ""
    dujiao.stall_next_order = 2.0
    with pytest.raises(SupplierTransportError):
        connector.place(PlaceRequest("T-14-1", "21", 1, {}, 0, ""))
    again = connector.place(PlaceRequest("T-14-1", "21", 1, {}, 0, ""))
    assert again.state == PROCESSING
    assert [o.downstream_order_no for o in dujiao.orders].count("T-14-1") == 1
    with pytest.raises(SupplierTransportError):
        dj(dujiao, api_secret="wrong").catalog()
    dujiao.down = True
    with pytest.raises(SupplierTransportError):
        connector.query("T-12-1", poor.supplier_order_id)
