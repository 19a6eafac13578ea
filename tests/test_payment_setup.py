"""Setting payments up: the platform enables providers (console and CLI), each store chooses
which to offer; the buyer pays from checkout or the order page, by redirect or QR code; the
platform sees orders across stores."""

import re
import uuid

from sqlalchemy import delete, select

from app.cache import cache
from app.extensions import db
from app.merchant.services import update_checkout_settings
from app.orders.models import Order
from app.payments.config import CONFIG_VERSION, configure, enabled_providers, stored_credentials
from app.payments.models import ProviderConfig
from app.storefront.access import order_page_url
from tenants.context import tenant_context
from tests.support.catalog import add_keys, make_product
from tests.test_provider_wechat import credentials as wechat_credentials

APEX = "kameng.test"


def offer(app, store, providers):
    with app.app_context(), tenant_context(store):
        update_checkout_settings(
            payment_providers=providers, order_expiry_minutes=15,
            max_unpaid_per_ip=3, max_unpaid_per_contact=3,
        )  # fmt: skip


def card_item(app, keys=2):
    item = make_product(app, skus=[(1000, 800)])
    add_keys(app, item["sku_ids"][0], [f"P-{uuid.uuid4().hex}" for _ in range(keys)])
    return item["sku_ids"][0]


def checkout(shop, sku_id, **fields):
    page = f"/checkout?sku={sku_id}&quantity=1"
    data = {"contact_email": f"b-{uuid.uuid4().hex[:6]}@example.com", **fields}
    return shop.submit(page, data, action=page)


def test_the_cli_configures_a_provider_and_keeps_secrets_sealed(app, runner, tmp_path):
    with app.app_context():  # from no 易支付 settings (other tests may have configured one)
        db.session.execute(delete(ProviderConfig).where(ProviderConfig.provider == "epay"))
        db.session.commit()
        cache().incr(CONFIG_VERSION)
    key_file = tmp_path / "key.txt"
    key_file.write_text("secret-md5-key")
    refused = runner.invoke(args=["payments", "configure", "epay", "--pid", "1001", "--enable"])
    assert refused.exit_code != 0 and "gateway_url" in refused.output
    done = runner.invoke(
        args=["payments", "configure", "epay", "--pid", "1001", f"--key=@{key_file}",
              "--gateway-url", "https://pay.example.com/", "--enable"]
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    listed = runner.invoke(args=["payments", "list"]).output
    assert re.search(r"epay\s+enabled", listed)
    with app.app_context():
        row = db.session.get(ProviderConfig, "epay")
        assert "secret-md5-key" not in row.credentials_sealed
        assert stored_credentials("epay")["key"] == "secret-md5-key"
        assert "epay" in enabled_providers()
    unknown = runner.invoke(args=["payments", "configure", "epay", "--colour", "red"])
    assert unknown.exit_code != 0
    assert runner.invoke(args=["payments", "configure", "epay", "--disable"]).exit_code == 0
    with app.app_context():
        assert "epay" not in enabled_providers()
        assert stored_credentials("epay")["key"] == "secret-md5-key"  # kept while disabled


def test_the_platform_owner_configures_providers_in_the_console(app, site, platform_admin):
    console = site(APEX)
    console.login_platform(*platform_admin)
    page = console.get("/platform/payments").get_data(as_text=True)
    assert "易支付" in page and "沙箱" in page
    token = console.csrf_token("/platform/payments")
    form = {"csrf_token": token, "pid": "2002", "key": "console-key", "enabled": "on"}
    form["gateway_url"] = ""  # required to enable
    console.post("/platform/payments/epay", data=form)  # gateway missing: not enabled
    with app.app_context():
        assert "epay" not in enabled_providers()
    form["gateway_url"] = "https://pay.example.com/"
    console.post("/platform/payments/epay", data=form)
    with app.app_context():
        assert "epay" in enabled_providers()
    page = console.get("/platform/payments").get_data(as_text=True)
    assert "console-key" not in page  # secrets are never shown again
    console.post("/platform/payments/epay", data={"csrf_token": token, "pid": "2002"})
    with app.app_context():
        assert "epay" not in enabled_providers()
        assert stored_credentials("epay")["key"] == "console-key"  # blank secret: kept
    assert console.post("/platform/payments/nosuch", data={"csrf_token": token}).status_code == 404


def test_each_store_offers_the_methods_it_chose(app, make_store, site, fake_epay):
    with app.app_context():
        configure("epay", fake_epay.credentials(), enabled=True)
    try:
        picky, default = make_store(), make_store()
        sku_id = card_item(app, keys=3)
        offer(app, picky, ["epay"])
        picky_shop, default_shop = site(f"{picky.slug}.{APEX}"), site(f"{default.slug}.{APEX}")
        form = picky_shop.get(f"/checkout?sku={sku_id}&quantity=1").get_data(as_text=True)
        assert 'value="epay"' in form and 'value="sandbox"' not in form
        both = default_shop.get(f"/checkout?sku={sku_id}&quantity=1").get_data(as_text=True)
        assert 'value="epay"' in both and 'value="sandbox"' in both

        refused = checkout(picky_shop, sku_id, provider="sandbox")
        assert refused.status_code == 400  # not offered here: no order
        with app.app_context(), tenant_context(picky):
            assert db.session.scalar(select(Order.id)) is None
        sent = checkout(picky_shop, sku_id, provider="epay")
        assert sent.status_code == 302
        assert sent.headers["Location"].startswith(f"{fake_epay.url}/submit.php?")
    finally:
        with app.app_context():
            configure("epay", {}, enabled=False)


def test_an_unpaid_order_is_paid_from_its_page_by_qr_code(app, make_store, site, apex, fake_wechat):
    with app.app_context():
        configure("wechat", wechat_credentials(fake_wechat), enabled=True)
    try:
        store = make_store()
        sku_id = card_item(app)
        shop = site(f"{store.slug}.{APEX}")
        sent = checkout(shop, sku_id, provider="sandbox")
        order_no = re.search(r"/pay/sandbox/P(\d{18})", sent.headers["Location"]).group(1)
        with app.app_context(), tenant_context(store):
            link = order_page_url(store, order_no).split(APEX, 1)[1]
        page = shop.get(link).get_data(as_text=True)
        assert "使用微信支付支付" in page and "使用沙箱（测试支付）支付" in page
        token = link.split("t=", 1)[1]
        assert shop.get(f"/order/{order_no}/status?t={token}").get_json() == {
            "status": "pending_payment"
        }
        assert shop.get(f"/order/{order_no}/status?t=forged").status_code == 404

        csrf = shop.csrf_token(link)
        pay = f"/order/{order_no}/pay?t={token}"
        assert shop.post(pay, data={"csrf_token": csrf, "provider": "nosuch"}).status_code == 400
        to_qr = shop.post(pay, data={"csrf_token": csrf, "provider": "wechat"})
        qr_page = to_qr.headers["Location"]
        assert re.search(rf"/order/{order_no}/pay/P\d+", qr_page)
        shown = shop.get(qr_page.split(APEX, 1)[1]).get_data(as_text=True)
        assert "<svg" in shown and "扫码支付" in shown
        payment_no = re.search(r"/pay/(P[0-9A-F]+)", qr_page).group(1)
        body, headers = fake_wechat.notification(payment_no)
        assert apex.post("/payments/callback/wechat", data=body, headers=headers).status_code == 204
        assert shop.get(f"/order/{order_no}/status?t={token}").get_json()["status"] == "delivered"
        assert shop.get(qr_page.split(APEX, 1)[1]).status_code == 302  # paid: back to the order
    finally:
        with app.app_context():
            configure("wechat", {}, enabled=False)


def test_the_platform_sees_orders_across_stores_and_refunds_one(
    app, make_store, site, apex, platform_admin
):
    first, second = make_store(name="First Shop"), make_store(name="Second Shop")
    sku_id = card_item(app, keys=2)
    numbers = []
    for store in (first, second):
        sent = checkout(site(f"{store.slug}.{APEX}"), sku_id, provider="sandbox")
        pay_path = sent.headers["Location"].split(APEX, 1)[1]
        apex.submit(pay_path, {"decision": "approve"})
        numbers.append(re.search(r"P(\d{18})", pay_path).group(1))
    console = site(APEX)
    console.login_platform(*platform_admin)
    listing = console.get("/platform/orders").get_data(as_text=True)
    assert all(no in listing for no in numbers) and "已发货" in listing
    only_first = console.get(f"/platform/orders?store={first.slug}").get_data(as_text=True)
    assert numbers[0] in only_first and numbers[1] not in only_first
    detail = console.get(f"/platform/orders/{numbers[1]}").get_data(as_text=True)
    assert "Second Shop" in detail and "sandbox" in detail
    token = console.csrf_token(f"/platform/orders/{numbers[1]}")
    console.post(
        f"/platform/orders/{numbers[1]}/refund", data={"csrf_token": token, "reason": "dispute"}
    )
    with app.app_context(), tenant_context(second):
        assert db.session.scalar(select(Order.status)) == "refunded"
    assert console.get("/platform/orders/999999999999999999").status_code == 404


def test_the_platform_delivers_a_manual_order_by_hand(app, make_store, site, apex, platform_admin):
    store = make_store()
    item = make_product(app, delivery_type="manual", skus=[(3000, 2500)])
    sent = checkout(site(f"{store.slug}.{APEX}"), item["sku_ids"][0], provider="sandbox")
    pay_path = sent.headers["Location"].split(APEX, 1)[1]
    apex.submit(pay_path, {"decision": "approve"})
    order_no = re.search(r"P(\d{18})", pay_path).group(1)
    console = site(APEX)
    console.login_platform(*platform_admin)
    token = console.csrf_token(f"/platform/orders/{order_no}")
    console.post(
        f"/platform/orders/{order_no}/deliver",
        data={"csrf_token": token, "content": "licence: ABCD-EFGH"},
    )
    with app.app_context(), tenant_context(store):
        assert db.session.scalar(select(Order.status)) == "delivered"
