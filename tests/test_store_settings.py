"""Store settings: name, logo, support contacts, SEO texts, guest checkout and the query-password
policy are checked, saved all or nothing, and change what the storefront shows and accepts."""

import io
import re
import uuid

from PIL import Image
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.extensions import db
from app.merchant.models import StoreSettings
from app.orders.models import Order
from tenants.context import tenant_context
from tenants.models import Tenant
from tests.support.catalog import add_keys, make_product
from tests.test_customers import register

APEX = "kameng.test"
OWNER_PASSWORD = "owner-pass-1"

FULL = {
    "name": "星河卡铺",
    "tagline": "",
    "announcement": "",
    "support_qq": "123456789",
    "support_wechat": "xinghe_kf",
    "support_telegram": "@xinghe_support",
    "support_email": "Help@XingHe.example.com",
    "seo_title": "星河卡铺 - 游戏点卡",
    "seo_description": "正版游戏点卡，自动发货",
    "checkout_rules": "1",
    "guest_checkout": "y",
    "query_password_policy": "optional",
}


def signed_in_owner(make_store, site):
    store = make_store(password=OWNER_PASSWORD)
    admin = site(f"{store.slug}.{APEX}")
    admin.login_store(f"owner@{store.slug}.example.com", OWNER_PASSWORD)
    return store, admin


def png(size=(32, 16)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def saved_settings(app, store) -> StoreSettings:
    with app.app_context(), tenant_context(store):
        row = db.session.get(StoreSettings, 1)
        db.session.expunge_all()
        return row


def test_the_owner_saves_the_profile_and_the_storefront_shows_it(app, make_store, site):
    store, admin = signed_in_owner(make_store, site)
    other = make_store()
    sent = admin.submit(
        "/admin/settings",
        dict(FULL, logo=(io.BytesIO(png()), "logo.png")),
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302, sent.get_data(as_text=True)[:2000]
    row = saved_settings(app, store)
    assert (row.support_qq, row.support_wechat, row.support_telegram) == (
        "123456789",
        "xinghe_kf",
        "xinghe_support",
    )
    assert row.support_email == "help@xinghe.example.com"
    assert row.logo.startswith(f"store/{store.id}/logo/") and row.logo.endswith(".png")
    with app.app_context():
        assert db.session.get(Tenant, store.id).name == "星河卡铺"
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.tenant_id == store.id, AuditEvent.action == "settings.save"
            )
        )
        assert event is not None

    home = site(f"{store.slug}.{APEX}").get("/").get_data(as_text=True)
    assert "<title>星河卡铺 - 游戏点卡</title>" in home
    assert '<meta name="description" content="正版游戏点卡，自动发货">' in home
    contacts = re.search(
        r'<address class="shop-contacts" id="store-contacts">(.*?)</address>', home, re.S
    )
    assert contacts is not None
    block = contacts.group(1)
    assert "123456789" in block and "xinghe_kf" in block
    assert "https://t.me/xinghe_support" in block
    assert "mailto:help@xinghe.example.com" in block
    logo = re.search(r'<img class="shop-logo" src="([^"]+)"', home).group(1)
    served = site(f"{store.slug}.{APEX}").get(logo)
    assert served.status_code == 200 and served.data[:8] == b"\x89PNG\r\n\x1a\n"
    # The store's name is everywhere its identity is shown, and nothing leaks to another store.
    assert "星河卡铺" in site(f"{store.slug}.{APEX}").get("/search").get_data(as_text=True)
    assert "xinghe" not in site(f"{other.slug}.{APEX}").get("/").get_data(as_text=True)


def test_bad_values_are_refused_with_the_field_and_nothing_changes(app, make_store, site):
    store, admin = signed_in_owner(make_store, site)
    assert admin.submit("/admin/settings", FULL).status_code == 302
    before = saved_settings(app, store)
    bad_cases = {
        "support_qq": "12ab",
        "support_wechat": "微信号",
        "support_email": "not-an-address",
        "seo_title": "x" * 71,
        "seo_description": "y" * 201,
        "name": "   ",
        "query_password_policy": "sometimes",
    }
    for field, value in bad_cases.items():
        refused = admin.submit("/admin/settings", dict(FULL, tagline="changed", **{field: value}))
        assert refused.status_code == 400, field
        page = refused.get_data(as_text=True)
        # The error sits in the field's own block.
        block = re.search(rf'<div class="field has-error">\s*<label for="{field}"', page)
        assert block is not None, (field, page[:3000])
    not_an_image = admin.submit(
        "/admin/settings",
        dict(FULL, tagline="changed", logo=(io.BytesIO(b"GIF89a not really"), "x.gif")),
        content_type="multipart/form-data",
    )
    assert not_an_image.status_code == 400
    too_big = admin.submit(
        "/admin/settings",
        dict(FULL, tagline="changed", logo=(io.BytesIO(png((2000, 10))), "wide.png")),
        content_type="multipart/form-data",
    )
    assert too_big.status_code == 400
    after = saved_settings(app, store)
    for column in ("tagline", "support_qq", "support_email", "seo_title", "logo"):
        assert getattr(after, column) == getattr(before, column), column
    with app.app_context():
        assert db.session.get(Tenant, store.id).name == "星河卡铺"


def test_without_guest_checkout_only_signed_in_customers_can_buy(app, make_store, site):
    store, admin = signed_in_owner(make_store, site)
    item = make_product(app, skus=[(1000, 800)])
    sku = item["sku_ids"][0]
    add_keys(app, sku, [f"K-{uuid.uuid4().hex}" for _ in range(3)])
    settings = {k: v for k, v in FULL.items() if k != "guest_checkout"}  # unticked
    assert admin.submit("/admin/settings", settings).status_code == 302
    assert saved_settings(app, store).guest_checkout is False

    page = f"/checkout?sku={sku}&quantity=1"
    guest = site(f"{store.slug}.{APEX}")
    assert 'id="sign-in-to-buy"' in guest.get(page).get_data(as_text=True)
    refused = guest.submit(page, {"contact_email": "g@example.com", "provider": "sandbox"})
    assert refused.status_code == 403

    customer = site(f"{store.slug}.{APEX}")
    email = f"c-{uuid.uuid4().hex[:6]}@example.com"
    assert register(customer, email).status_code == 302
    bought = customer.submit(page, {"contact_email": email, "provider": "sandbox"})
    assert bought.status_code == 302
    with app.app_context(), tenant_context(store):
        orders = db.session.scalars(select(Order)).all()
        assert [o.contact_email for o in orders] == [email]
        assert orders[0].customer_id is not None


def test_the_query_password_policy_is_enforced_at_checkout_and_lookup(app, make_store, site):
    store, admin = signed_in_owner(make_store, site)
    item = make_product(app, skus=[(1000, 800)])
    sku = item["sku_ids"][0]
    add_keys(app, sku, [f"K-{uuid.uuid4().hex}" for _ in range(3)])
    page = f"/checkout?sku={sku}&quantity=1"
    guest = site(f"{store.slug}.{APEX}")

    assert (
        admin.submit("/admin/settings", dict(FULL, query_password_policy="required")).status_code
        == 302
    )
    refused = guest.submit(page, {"contact_email": "g@example.com", "provider": "sandbox"})
    assert refused.status_code == 400
    assert 'name="query_password"' in refused.get_data(as_text=True)
    ok = guest.submit(
        page, {"contact_email": "g@example.com", "query_password": "pin-1", "provider": "sandbox"}
    )
    assert ok.status_code == 302

    assert (
        admin.submit("/admin/settings", dict(FULL, query_password_policy="off")).status_code == 302
    )
    form = guest.get(page).get_data(as_text=True)
    assert 'name="query_password"' not in form
    sent = guest.submit(
        page, {"contact_email": "h@example.com", "query_password": "pin-2", "provider": "sandbox"}
    )
    assert sent.status_code == 302
    with app.app_context(), tenant_context(store):
        hashes = dict(
            db.session.execute(select(Order.contact_email, Order.query_password_hash)).all()
        )
        count = db.session.scalar(select(func.count()).select_from(Order))
    assert count == 2
    assert hashes["g@example.com"] is not None  # required: stored
    assert hashes["h@example.com"] is None  # off: never asked, never stored
    # Off: the lookup page does not offer (or accept) the password.
    lookup = guest.get("/lookup").get_data(as_text=True)
    assert 'name="query_password"' not in lookup
    answer = guest.submit("/lookup", {"needle": "g@example.com", "query_password": "pin-1"})
    assert "/order/" not in answer.get_data(as_text=True)

    assert admin.submit("/admin/settings", FULL).status_code == 302  # back to optional
    answer = guest.submit("/lookup", {"needle": "g@example.com", "query_password": "pin-1"})
    assert "/order/" in answer.get_data(as_text=True)
