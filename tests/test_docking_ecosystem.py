"""Docking with the 发卡 ecosystem, end to end on the real app (PostgreSQL and SQLite):
acg-faka and dujiao-next sites as our upstreams (fake sites on real sockets: import through the
console, price and stock sync, purchases, a repeated reference, lost answers, callbacks, a site
that is down while the storefront keeps serving), and an acg-faka site buying card keys from one
of our stores through the compatible endpoints."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.docking import acg_wire
from app.extensions import db
from app.fulfilment.models import Topup
from app.orders.models import Order
from app.orders.services import create_order
from app.payments.services import start_payment
from tenants.context import tenant_context
from tests.support.acg_faka import APP_ID, APP_KEY, Commodity, FakeAcgFaka
from tests.support.dujiao import API_KEY, API_SECRET, DjProduct, DjSku, FakeDujiaoNext
from tests.test_docking import delivered_content
from tests.test_fulfilment import check_now, drain, order_status, topup_of
from tests.test_refunds import notify

pytestmark = pytest.mark.slow


# -- helpers -------------------------------------------------------------------------------------


@pytest.fixture
def console(apex, platform_admin):
    """The apex client signed in to the platform console (Chinese, the default)."""
    email, password = platform_admin
    assert apex.login_platform(email, password).status_code == 302
    return apex


@pytest.fixture
def faka():
    with FakeAcgFaka(balance="100.00") as site:
        site.add(Commodity(f"CARD{uuid.uuid4().hex[:6]}", "点卡10元", price="12.00",
                           user_price="10.50", cards=["CK-1 PW-1", "CK-2 PW-2"]))  # fmt: skip
        site.add(Commodity(f"VIP{uuid.uuid4().hex[:6]}", "会员", price="30.00",
                           user_price="30.00", races={"月卡": "8.00", "年卡": "80.00"},
                           cards=["V-1", "V-2"], category="会员"))  # fmt: skip
        site.add(
            Commodity(
                f"HAND{uuid.uuid4().hex[:6]}",
                "代练",
                price="5.00",
                user_price="5.00",
                delivery_way=1,
                stock=3,
                category="服务",
                widget=[{"name": "qq", "cn": "QQ号", "placeholder": "10001"}],
            )
        )
        yield site


def commodity(site, name: str) -> Commodity:
    return next(c for c in site.commodities.values() if c.name == name)


def connected_supplier(app, kind: str, settings: dict) -> int:
    from app.catalog import services as catalog
    from app.suppliers.services import configure_connector

    with app.app_context():
        supplier = catalog.save_supplier(None, name=f"{kind} {uuid.uuid4().hex[:6]}",
                                         status="active")  # fmt: skip
        configure_connector(supplier, kind, settings)
        return supplier.id


def acg_supplier(app, site) -> int:
    return connected_supplier(
        app, "acg_faka", {"base_url": site.url, "app_id": APP_ID, "app_key": APP_KEY}
    )


def imported_sku(app, supplier_id: int, code: str) -> int:
    from app.suppliers.models import SupplierOffer

    with app.app_context():
        return db.session.scalar(
            select(SupplierOffer.sku_id).where(
                SupplierOffer.supplier_id == supplier_id, SupplierOffer.supplier_sku_code == code
            )
        )


def import_directly(app, supplier_id: int, codes: list[str], markup_bp: int = 1000) -> None:
    from app.audit.services import SYSTEM
    from app.suppliers.imports import import_products

    with app.app_context():
        report = import_products(supplier_id, codes, markup_bp=markup_bp, publish=True,
                                 actor=SYSTEM)  # fmt: skip
        assert report.skus and not report.skipped, report


def buy(app, backend, store, sku_id, fields=None):
    """A guest buys one through the sandbox gateway; the fulfilment jobs run."""
    with app.app_context(), tenant_context(store):
        order = create_order(
            store, sku_id=sku_id, quantity=1,
            contact_email=f"t-{uuid.uuid4().hex[:6]}@example.com", account_fields=fields or {},
        )  # fmt: skip
        payment = start_payment(store, order, "sandbox", return_url="http://example.invalid/")
        order_no, payment_no = order.order_no, payment.payment_no
    assert notify(app, payment_no) == "fulfilling"
    drain(app, backend)
    return order_no


def sku_row(app, sku_id: int):
    from app.catalog.models import Sku

    with app.app_context():
        sku = db.session.get(Sku, sku_id)
        return sku.cost_cents, sku.wholesale_cents, sku.product.delivery_type


# -- acg-faka as our upstream ------------------------------------------------------------------


def test_an_acg_faka_site_is_imported_synced_sold_from_and_survives_going_down(
    app, backend, make_store, site, console, faka
):
    from app.suppliers.sync import sync_supplier

    supplier = acg_supplier(app, faka)
    card, vip = commodity(faka, "点卡10元"), commodity(faka, "会员")
    page = console.get(f"/platform/suppliers/{supplier}/upstream")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "点卡10元" in html and "年卡" in html
    assert "导入" in html  # the console speaks Chinese
    done = console.submit(
        f"/platform/suppliers/{supplier}/upstream",
        {"product": [card.code, vip.code], "markup": "20", "rounding": "up_10",
         "category_id": "", "publish": "y"},
    )  # fmt: skip
    assert done.status_code == 302, done.get_data(as_text=True)
    # Cost = the site's price for us; wholesale = cost + 20 %, rounded up to 0.10.
    card_sku = imported_sku(app, supplier, card.code)
    assert sku_row(app, card_sku) == (1050, 1260, "direct_topup")
    assert sku_row(app, imported_sku(app, supplier, f"{vip.code}|年卡"))[:2] == (8000, 9600)
    listing = console.get(f"/platform/suppliers/{supplier}/upstream").get_data(as_text=True)
    assert "已导入" in listing
    # Importing again adds nothing twice.
    again = console.submit(
        f"/platform/suppliers/{supplier}/upstream",
        {"product": [card.code], "markup": "20", "rounding": "none"},
    )
    assert again.status_code == 302 and imported_sku(app, supplier, card.code) == card_sku

    store = make_store()
    shop = site(f"{store.slug}.kameng.test")
    product_page = shop.get(f"/p/{_product_of(app, card_sku)}")
    assert product_page.status_code == 200
    assert "由货源自动发货" in product_page.get_data(as_text=True)
    order_no = buy(app, backend, store, card_sku)
    assert order_status(app, store, order_no) == "delivered"
    assert delivered_content(app, store, order_no) == "CK-1 PW-1"
    topup = topup_of(app, order_no)
    (trade,) = faka.trades()
    assert trade.request_no == acg_wire.request_no_for(topup.reference)
    assert faka.balance() == Decimal("89.50")

    # The site's price changes: cost and wholesale follow; a zero price is never taken over.
    card.user_price = "11.00"
    with app.app_context():
        assert sync_supplier(supplier).repriced >= 1
    assert sku_row(app, card_sku)[:2] == (1100, 1320)
    card.user_price = card.price = "0"
    with app.app_context():
        assert sync_supplier(supplier).error == ""
    assert sku_row(app, card_sku)[:2] == (1100, 1320)

    # The site goes down: a failed sync changes no price and takes its goods off sale; the
    # storefront still serves, showing them sold out; back up, they are for sale again.
    faka.down = True
    with app.app_context():
        report = sync_supplier(supplier)
    assert report.error and sku_row(app, card_sku)[:2] == (1100, 1320)
    down_page = shop.get(f"/p/{_product_of(app, card_sku)}")
    assert down_page.status_code == 200 and "已售罄" in down_page.get_data(as_text=True)
    assert shop.get("/").status_code == 200
    from app.orders.services import OrderError

    with app.app_context(), tenant_context(store), pytest.raises(OrderError):
        create_order(store, sku_id=card_sku, quantity=1, contact_email="x@example.com")
    supplier_page = console.get(f"/platform/suppliers/{supplier}").get_data(as_text=True)
    assert "下架" in supplier_page
    faka.down = False
    card.user_price = "11.00"
    with app.app_context():
        assert sync_supplier(supplier).error == ""
    assert "已售罄" not in shop.get(f"/p/{_product_of(app, card_sku)}").get_data(as_text=True)


def _product_of(app, sku_id: int) -> int:
    from app.catalog.models import Sku

    with app.app_context():
        return db.session.get(Sku, sku_id).product_id


def test_acg_manual_goods_are_finished_by_query_and_a_lost_answer_never_buys_twice(
    app, backend, make_store, faka
):
    supplier = acg_supplier(app, faka)
    hand, card = commodity(faka, "代练"), commodity(faka, "点卡10元")
    import_directly(app, supplier, [hand.code, card.code])
    hand_sku = imported_sku(app, supplier, hand.code)
    store = make_store()
    # Manual goods: the site answers its placeholder; its staff deliver; our query finds it.
    order_no = buy(app, backend, store, hand_sku, {"qq": "123456"})
    topup = topup_of(app, order_no)
    assert (topup.status, order_status(app, store, order_no)) == ("processing", "fulfilling")
    assert faka.calls[-1][1]["qq"] == "123456"
    faka.deliver(topup.supplier_order_id, "代练已接单 单号 X1")
    check_now(app, backend)
    assert order_status(app, store, order_no) == "delivered"
    assert delivered_content(app, store, order_no) == "代练已接单 单号 X1"

    # The site buys but its answer comes too late: unknown → query (acg-faka cannot look an
    # order up without its number) → placed again with the same request_no → the site knows
    # it: nothing bought twice; the top-up waits, saying where to look.
    faka.stall_next_trade = 3.0
    late = buy(app, backend, make_store(), imported_sku(app, supplier, card.code))
    assert topup_of(app, late).status == "unknown"
    check_now(app, backend)
    waiting = topup_of(app, late)
    assert waiting.status == "processing" and "request_no" in waiting.message
    assert len([t for t in faka.trades() if t.code == card.code]) == 1
    assert faka.balance() == Decimal("100.00") - Decimal("5.00") - Decimal("10.50")


# -- dujiao-next as our upstream -----------------------------------------------------------------


@pytest.fixture
def dujiao():
    with FakeDujiaoNext(wallet="100.00") as site:
        site.add(DjProduct(11, "视频会员", [DjSku(21, "9.90", keys=["DJ-A", "DJ-B", "DJ-C"])]))
        yield site


def test_a_dujiao_next_order_is_delivered_by_its_signed_callback(app, backend, make_store, dujiao):
    from app import create_app
    from tests.support.platforms import serve

    supplier = connected_supplier(
        app, "dujiao_next", {"base_url": dujiao.url, "api_key": API_KEY, "api_secret": API_SECRET}
    )
    import_directly(app, supplier, ["11"], markup_bp=500)
    sku = imported_sku(app, supplier, "21")
    assert sku_row(app, sku)[:2] == (990, 1040)  # 9.90 + 5 % = 10.395 → 10.40 (half-up)
    with serve(create_app(backend.config())) as ours:
        dujiao.callback_target = ours.url
        store = make_store()
        order_no = buy(app, backend, store, sku)
        topup = topup_of(app, order_no)
        assert (topup.status, topup.supplier_order_id) == ("processing", "101")
        (placed,) = dujiao.orders
        assert placed.downstream_order_no == topup.reference
        assert placed.callback_url.endswith(f"/suppliers/callback/{supplier}")
        dujiao.deliver(101)  # the site procures, then calls us back
    assert dujiao.callbacks == [(200, '{"ok":true,"message":"received"}')]
    drain(app, backend)
    assert order_status(app, store, order_no) == "delivered"
    assert delivered_content(app, store, order_no) == "DJ-A"


def test_a_lost_dujiao_next_answer_is_reconciled_by_the_same_downstream_order_no(
    app, backend, make_store, dujiao
):
    supplier = connected_supplier(
        app, "dujiao_next", {"base_url": dujiao.url, "api_key": API_KEY, "api_secret": API_SECRET}
    )
    import_directly(app, supplier, ["11"])
    store = make_store()
    dujiao.stall_next_order = 3.0
    order_no = buy(app, backend, store, imported_sku(app, supplier, "21"))
    assert topup_of(app, order_no).status == "unknown"
    check_now(app, backend)  # no order id: placed again → the site answers the existing order
    topup = topup_of(app, order_no)
    assert (topup.status, topup.supplier_order_id) == ("processing", "101")
    assert len(dujiao.orders) == 1 and dujiao.wallet == Decimal("90.10")
    dujiao.deliver(101, send_callback=False)  # no callback arrives: polling finds it
    check_now(app, backend)
    assert order_status(app, store, order_no) == "delivered"
    assert delivered_content(app, store, order_no) == "DJ-A"
    with app.app_context():
        assert db.session.scalar(select(Topup.status).where(Topup.order_no == order_no)) == (
            "success"
        )


# -- an acg-faka site buys from one of our stores ----------------------------------------------


class AcgDownstream:
    """What an acg-faka site does as a downstream (app/Service/Bind/Shared.php `post`): form
    POSTs of the fields + app_id + app_key + sign. Signs with the fake site's own signature
    code, written separately from ours."""

    def __init__(self, app, host: str, app_id: str, app_key: str, ip: str = "127.0.0.1"):
        self.client, self.host = app.test_client(), host
        self.app_id, self.app_key, self.ip = app_id, app_key, ip

    def post(self, path: str, fields: dict | None = None, *, key: str | None = None):
        from tests.support.acg_faka import php_sign

        body = {**(fields or {}), "app_id": self.app_id, "app_key": key or self.app_key}
        body["sign"] = php_sign(body, key or self.app_key)
        answer = self.client.post(
            f"/shared/{path}", data=body, base_url=f"http://{self.host}",
            environ_base={"REMOTE_ADDR": self.ip},
        )  # fmt: skip
        assert answer.status_code in (200, 429), answer.status_code
        return answer.get_json()


@pytest.fixture
def docked_store(app, make_store):
    """A store selling card keys; a customer with ¥100 and an acg-faka docking key."""
    from tests.support.api import api_caller, api_store
    from tests.support.catalog import add_keys, make_product
    from tests.support.customer_money import topped_up

    store = api_store(app, make_store)
    cards = make_product(app, name=f"点卡 {uuid.uuid4().hex[:4]}", skus=[(1200, 1000)])
    add_keys(app, cards["sku_ids"][0], ["CARD-1 PASS-1", "CARD-2 PASS-2", "CARD-3 PASS-3"])
    buyer = api_caller(app, store, scopes=("acg_faka",))
    topped_up(app, store, buyer.customer_id, 10_000)
    client = AcgDownstream(app, f"{store.slug}.kameng.test", buyer.key_id, buyer.secret)
    return store, cards, buyer, client


def test_an_acg_faka_site_buys_card_keys_from_a_kameng_store(app, site, docked_store):
    from app.docking.models import DockingCall
    from tests.support.customer_money import balance_of

    store, cards, buyer, client = docked_store
    code = cards["codes"][0]
    connect = client.post("authentication/connect")
    assert connect == {"code": 200, "msg": "success",
                       "data": {"shopName": store.name, "balance": "100.00"}}  # fmt: skip
    tree = client.post("commodity/items")
    assert tree["code"] == 200 and "msg" not in tree
    (row,) = [c for category in tree["data"] for c in category["children"] if c["code"] == code]
    assert (row["price"], row["user_price"], row["stock"], row["delivery_way"]) == (
        "12.00",
        "12.00",
        3,
        0,
    )
    assert client.post("commodity/item", {"code": code})["data"]["owner"]["username"] == store.name
    assert client.post("commodity/stock", {"code": code})["data"] == {"stock": "3"}
    assert client.post(
        "commodity/valuation", {"code": code, "num": "2", "race": "", "card_id": "0"}
    )["data"] == {"price": "24.00"}

    trade_fields = {"shared_code": code, "num": "2", "race": "", "card_id": "0", "device": "0",
                    "contact": "buyer@example.com", "password": "",
                    "request_no": "2601011234567890123"}  # fmt: skip
    bought = client.post("commodity/trade", trade_fields)
    assert bought["code"] == 200, bought
    data = bought["data"]
    assert data["secret"].splitlines() == ["CARD-1 PASS-1", "CARD-2 PASS-2"]
    assert (data["amount"], data["stock"]) == ("24.00", "1")
    assert balance_of(app, store, buyer.customer_id) == 10_000 - 2400
    # The same request_no again (a replay, or a retry after a lost answer): the original order.
    assert client.post("commodity/trade", trade_fields)["data"] == data
    assert balance_of(app, store, buyer.customer_id) == 10_000 - 2400
    found = client.post("commodity/query", {"tradeNo": data["tradeNo"]})["data"]
    assert (found["status"], found["secret"]) == (1, data["secret"])
    with app.app_context(), tenant_context(store):
        (order,) = db.session.scalars(
            select(Order).where(Order.customer_id == buyer.customer_id)
        ).all()
        assert (order.client_reference, order.status) == ("2601011234567890123", "delivered")

    # What acg-faka says when it cannot.
    from tests.support.api import api_caller
    from tests.support.customer_money import topped_up

    poor = api_caller(app, store, scopes=("acg_faka",))
    topped_up(app, store, poor.customer_id, 100)
    short = AcgDownstream(app, client.host, poor.key_id, poor.secret)
    assert short.post("commodity/trade", {**trade_fields, "num": "1"})["msg"] == "余额不足"
    refusals = {
        "库存不足": {**trade_fields, "num": "5", "request_no": "R1"},
        "商品不存在": {**trade_fields, "shared_code": "NOPE", "request_no": "R3"},
        "request_no": {**trade_fields, "request_no": ""},
    }
    for expected, fields in refusals.items():
        answer = client.post("commodity/trade", fields)
        assert answer["code"] == 0 and expected in answer["msg"], answer
    assert balance_of(app, store, buyer.customer_id) == 10_000 - 2400

    # Who may call: the signature, the key, its scope, its addresses.
    assert client.post("authentication/connect", key="0" * 32)["msg"] == "密钥错误"
    stranger = AcgDownstream(app, client.host, "kk_" + "0" * 24, "x")
    assert stranger.post("authentication/connect")["msg"] == "商户ID不存在"
    plain = api_caller(app, store, customer_id=buyer.customer_id)  # read + order, no acg scope
    assert (
        "异次元"
        in AcgDownstream(app, client.host, plain.key_id, plain.secret).post(
            "authentication/connect"
        )["msg"]
    )
    fenced = api_caller(app, store, scopes=("acg_faka",), customer_id=buyer.customer_id,
                        allowed_ips="203.0.113.0/24")  # fmt: skip
    assert (
        "白名单"
        in AcgDownstream(app, client.host, fenced.key_id, fenced.secret).post(
            "authentication/connect"
        )["msg"]
    )

    # Every call is in the store's docking log — never a secret.
    with app.app_context(), tenant_context(store):
        calls = db.session.scalars(select(DockingCall).order_by(DockingCall.id)).all()
    outcomes = [call.outcome for call in calls]
    assert {"ok", "replayed", "refused", "denied"} <= set(outcomes)
    trade_calls = [c for c in calls if c.endpoint == "commodity/trade" and c.outcome != "refused"]
    assert [c.outcome for c in trade_calls] == ["ok", "replayed"]
    assert trade_calls[0].order_no == data["tradeNo"] == trade_calls[1].order_no
    for call in calls:
        assert buyer.secret not in f"{call.message} {call.request_no}"
        assert "PASS-1" not in call.message
    owner = site(f"{store.slug}.kameng.test")
    assert owner.login_store(f"owner@{store.slug}.example.com", "s3cret-pass").status_code == 302
    log_page = owner.get("/admin/docking")
    assert log_page.status_code == 200 and data["tradeNo"] in log_page.get_data(as_text=True)


def test_the_compatible_endpoints_are_rate_limited(backend, make_store):
    from app import create_app
    from tests.support.api import api_caller, api_store

    limited = create_app(
        backend.config(
            RATELIMIT_ENABLED=True, RATE_LIMIT_API="3 per minute", RATELIMIT_STORAGE_URI="memory://"
        )
    )
    store = api_store(limited, make_store)
    buyer = api_caller(limited, store, scopes=("acg_faka",))
    client = AcgDownstream(limited, f"{store.slug}.kameng.test", buyer.key_id, buyer.secret)
    answers = [client.post("authentication/connect") for _ in range(4)]
    assert [a["code"] for a in answers] == [200, 200, 200, 0]
    assert "频繁" in answers[-1]["msg"]


def test_our_acg_faka_connector_docks_to_another_kameng_store(app, backend, make_store, tmp_path):
    """Platform B takes a store of platform A as an acg-faka upstream: the compatible endpoints
    are enough for an acg-faka client (ours here, written from the protocol notes), and a
    repeated request_no answers the original order with its keys."""
    from app.suppliers.connectors.base import PlaceRequest
    from app.suppliers.services import connector_for
    from tests.support.api import api_caller, api_store
    from tests.support.catalog import add_keys, make_product
    from tests.support.customer_money import balance_of, topped_up
    from tests.support.platforms import answer_on_localhost, independent_platform

    with independent_platform(tmp_path / "a") as served:
        app_a = served.app
        with app_a.app_context():
            from tenants.provisioning import create_tenant

            slug = f"acg-{uuid.uuid4().hex[:6]}"
            created = create_tenant(
                slug=slug,
                name="Upstream A",
                owner_email=f"o@{slug}.example.com",
                owner_password="s3cret-pass",
            )
        a_store = api_store(app_a, lambda: created.tenant)
        answer_on_localhost(app_a, a_store.id)
        cards = make_product(app_a, name="A 点卡", skus=[(1500, 1000)])
        add_keys(app_a, cards["sku_ids"][0], ["A-KEY-1 PW-1", "A-KEY-2 PW-2"])
        us_at_a = api_caller(app_a, a_store, scopes=("acg_faka",))
        topped_up(app_a, a_store, us_at_a.customer_id, 5_000)

        supplier = connected_supplier(
            app, "acg_faka",
            {"base_url": served.url, "app_id": us_at_a.key_id, "app_key": us_at_a.secret},
        )  # fmt: skip
        code = cards["codes"][0]
        import_directly(app, supplier, [code], markup_bp=1000)
        our_sku = imported_sku(app, supplier, code)
        assert sku_row(app, our_sku)[:2] == (1500, 1650)
        store = make_store()
        order_no = buy(app, backend, store, our_sku)
        assert order_status(app, store, order_no) == "delivered"
        assert delivered_content(app, store, order_no) == "A-KEY-1 PW-1"
        assert balance_of(app_a, a_store, us_at_a.customer_id) == 5_000 - 1500
        topup = topup_of(app, order_no)
        with app_a.app_context(), tenant_context(a_store):
            (at_a,) = db.session.scalars(
                select(Order).where(Order.customer_id == us_at_a.customer_id)
            ).all()
            assert at_a.client_reference == acg_wire.request_no_for(topup.reference)
        # The answer lost and the order placed again: A answers the original, keys included.
        with app.app_context():
            again = connector_for(supplier).place(
                PlaceRequest(topup.reference, code, 1, {}, 0, "", repeat=True)
            )
        assert (again.state, again.secrets) == ("success", ("A-KEY-1 PW-1",))
        assert again.supplier_order_id == at_a.order_no
        assert balance_of(app_a, a_store, us_at_a.customer_id) == 5_000 - 1500


def test_a_chain_acg_site_buys_from_our_store_what_we_buy_from_another_acg_site(
    app, backend, make_store, faka
):
    """Goods a supplier delivers are waited for (a few seconds) before `trade` answers; if they
    are later than that, the placeholder is answered and `query` shows them once delivered."""
    from tests.support.api import api_caller, api_store
    from tests.support.customer_money import topped_up

    supplier = acg_supplier(app, faka)
    card = commodity(faka, "点卡10元")
    import_directly(app, supplier, [card.code], markup_bp=1000)
    our_sku = imported_sku(app, supplier, card.code)
    store = api_store(app, make_store)
    buyer = api_caller(app, store, scopes=("acg_faka",))
    topped_up(app, store, buyer.customer_id, 5_000)
    client = AcgDownstream(app, f"{store.slug}.kameng.test", buyer.key_id, buyer.secret)
    with app.app_context():
        from app.catalog.models import Sku

        code = db.session.get(Sku, our_sku).code
    answer = client.post(
        "commodity/trade", {"shared_code": code, "num": "1", "request_no": "9000000000000000001"}
    )
    assert answer["code"] == 200, answer
    trade = answer["data"]
    assert trade["amount"] == "11.55"  # cost 10.50 + 10 %: the store's price for the caller
    if app.config["JOBS_IN_PROCESS"]:  # the fulfilment worker ran while `trade` waited
        assert trade["secret"] == "CK-1 PW-1"
    else:  # no worker yet (RQ): the placeholder, then `query` once it is delivered
        assert trade["secret"] == acg_wire.DEFAULT_PLACEHOLDER
        drain(app, backend)
    found = client.post("commodity/query", {"tradeNo": trade["tradeNo"]})["data"]
    assert (found["status"], found["secret"], found["kameng_status"]) == (
        1, "CK-1 PW-1", "delivered",
    )  # fmt: skip
    assert len(faka.trades()) == 1
