"""A store's prices and storefront: markups, tiers, listings, stock status, caching, isolation."""

import re
import uuid

import pytest
from sqlalchemy import update

from app.catalog.models import Product, Sku
from app.extensions import db
from app.pricing import services as pricing
from tenants.context import tenant_context
from tests.support.catalog import add_keys, make_product

APEX = "kameng.test"


def price_on_page(html: str, sku_name: str) -> str:
    match = re.search(re.escape(sku_name) + r'</span>\s*<span class="sku-price">([^<]+)<', html)
    assert match, f"no price for {sku_name}"
    return match.group(1)


def shown_price(site, store, product_id, sku_name) -> str:
    """The price a customer of `store` sees for `sku_name` on the product page."""
    html = site(f"{store.slug}.{APEX}").get(f"/p/{product_id}").get_data(as_text=True)
    return price_on_page(html, sku_name)


def set_rule(app, store, scope, target_id, kind, value, rounding="none"):
    with app.app_context(), tenant_context(store):
        return pricing.save_rule(store, scope, target_id, kind, value, rounding)


def test_the_most_specific_markup_prices_the_storefront(app, make_store, site):
    store = make_store()
    item = make_product(app, skus=[(1000, 800), (5000, 4500)])
    add_keys(app, item["sku_ids"][0], [f"K{uuid.uuid4().hex}" for _ in range(20)])
    add_keys(app, item["sku_ids"][1], [f"K{uuid.uuid4().hex}" for _ in range(20)])
    shop = site(f"{store.slug}.{APEX}")
    page = lambda: shop.get(f"/p/{item['product_id']}").get_data(as_text=True)  # noqa: E731

    assert price_on_page(page(), "10 元") == "¥10.00"  # no rule: wholesale
    set_rule(app, store, "store", 0, "percent", 1000)
    assert price_on_page(page(), "10 元") == "¥11.00"
    set_rule(app, store, "category", item["category_id"], "percent", 2000)
    assert price_on_page(page(), "20 元") == "¥60.00"
    set_rule(app, store, "product", item["product_id"], "fixed", 150, "end_90")
    assert price_on_page(page(), "10 元") == "¥11.90"
    set_rule(app, store, "sku", item["sku_ids"][1], "percent", 500)
    assert price_on_page(page(), "20 元") == "¥52.50"
    assert price_on_page(page(), "10 元") == "¥11.90"


def test_a_rule_below_wholesale_is_refused_naming_the_skus(app, make_store):
    store = make_store()
    item = make_product(app, skus=[(1000, 800)])
    with app.app_context(), tenant_context(store):
        with pytest.raises(pricing.PricingError) as error:
            pricing.save_rule(store, "product", item["product_id"], "fixed", -50)
        assert item["codes"][0] in error.value.params["skus"]
        assert "0.50" in error.value.params["skus"]
        assert pricing.list_rules() == []


def test_rules_on_unknown_or_unpublished_items_are_refused(app, make_store):
    store = make_store()
    hidden = make_product(app, published=False)
    with app.app_context(), tenant_context(store):
        targets = (("sku", 10**8), ("product", hidden["product_id"]), ("sku", hidden["sku_ids"][0]))
        for scope, target in targets:
            with pytest.raises(pricing.PricingError):
                pricing.save_rule(store, scope, target, "percent", 1000)


def test_stores_on_a_higher_plan_pay_their_tier_price(app, make_store):
    from app.catalog.services import set_tier_price
    from tenants.models import Tenant
    from tenants.provisioning import tenant_ref

    store = make_store()
    item = make_product(app, skus=[(1000, 800)])
    with app.app_context():
        sku = db.session.get(Sku, item["sku_ids"][0])
        set_tier_price(sku, "pro", 900)
        db.session.execute(update(Tenant).where(Tenant.id == store.id).values(plan="pro"))
        db.session.commit()
        pro_store = tenant_ref(db.session.get(Tenant, store.id))
    with app.app_context(), tenant_context(pro_store):
        sku = db.session.get(Sku, item["sku_ids"][0])
        assert pricing.quote_skus(pro_store, [sku])[sku.id].quote.wholesale_cents == 900


def test_one_stores_rules_do_not_touch_another_store(app, make_store, site):
    store_a, store_b = make_store(), make_store()
    item = make_product(app, skus=[(2000, 1500)])
    set_rule(app, store_a, "product", item["product_id"], "percent", 5000)
    assert shown_price(site, store_a, item["product_id"], "10 元") == "¥30.00"
    assert shown_price(site, store_b, item["product_id"], "10 元") == "¥20.00"


def test_changes_show_on_the_very_next_request(app, make_store, site):
    from app.catalog.services import save_sku

    store = make_store()
    item = make_product(app, skus=[(1000, 800)])
    shop = site(f"{store.slug}.{APEX}")
    # Its own category's page (the home page shows only the newest products of the whole catalog).
    home = lambda: shop.get(f"/c/{item['category_id']}").get_data(as_text=True)  # noqa: E731
    assert item["name"] in home()
    set_rule(app, store, "store", 0, "percent", 3000)
    assert shown_price(site, store, item["product_id"], "10 元") == "¥13.00"
    with app.app_context():  # the platform changes the wholesale price
        sku = db.session.get(Sku, item["sku_ids"][0])
        save_sku(
            sku,
            product_id=sku.product_id,
            code=sku.code,
            name=sku.name,
            face_value_cents=sku.face_value_cents,
            wholesale_cents=2000,
            cost_cents=1500,
        )
    assert shown_price(site, store, item["product_id"], "10 元") == "¥26.00"
    with app.app_context():  # and unpublishes the product
        from app.catalog.services import set_published

        set_published(db.session.get(Product, item["product_id"]), False)
    assert item["name"] not in home()
    assert shop.get(f"/p/{item['product_id']}").status_code == 404


def test_stock_status_and_exact_counts(app, make_store, site):
    store = make_store(password="owner-pass-1")
    item = make_product(app, skus=[(1000, 800), (2000, 1800)])
    add_keys(app, item["sku_ids"][0], [f"S{uuid.uuid4().hex}" for _ in range(3)])
    shop = site(f"{store.slug}.{APEX}")
    html = shop.get(f"/p/{item['product_id']}").get_data(as_text=True)
    assert "库存紧张" in html and "已售罄" in html  # 3 left: low; none: sold out
    assert "剩余 3 件" not in html
    admin = site(f"{store.slug}.{APEX}")
    admin.login_store(f"owner@{store.slug}.example.com", "owner-pass-1")
    admin.submit("/admin/settings", {"tagline": "", "announcement": "", "show_stock_counts": "y"})
    assert "剩余 3 件" in shop.get(f"/p/{item['product_id']}").get_data(as_text=True)


def test_hidden_and_unpublished_products_are_404_also_by_direct_url(app, make_store, site):
    store = make_store()
    visible, hidden = make_product(app), make_product(app)
    draft = make_product(app, published=False)
    with app.app_context(), tenant_context(store):
        pricing.save_listing(store, hidden["product_id"], is_hidden=True)
    shop = site(f"{store.slug}.{APEX}")

    def listed(item):  # on its own category's page (the home page shows a bounded selection)
        return item["name"] in shop.get(f"/c/{item['category_id']}").get_data(as_text=True)

    assert listed(visible) and not listed(hidden) and not listed(draft)
    assert shop.get(f"/p/{visible['product_id']}").status_code == 200
    assert shop.get(f"/p/{hidden['product_id']}").status_code == 404
    assert shop.get(f"/p/{draft['product_id']}").status_code == 404
    other = make_store()
    assert site(f"{other.slug}.{APEX}").get(f"/p/{hidden['product_id']}").status_code == 200


def test_store_listing_title_category_page_and_search(app, make_store, site):
    store = make_store()
    item = make_product(app, name=f"Steam 钱包 {uuid.uuid4().hex[:4]}")
    with app.app_context(), tenant_context(store):
        pricing.save_listing(
            store,
            item["product_id"],
            is_hidden=False,
            title="我的 Steam 充值卡",
            description="<b>当天发货</b>",
        )
    shop = site(f"{store.slug}.{APEX}")
    detail = shop.get(f"/p/{item['product_id']}").get_data(as_text=True)
    assert "我的 Steam 充值卡" in detail and "&lt;b&gt;当天发货&lt;/b&gt;" in detail
    assert "<strong>Fast</strong>" in detail  # the platform's Markdown, sanitised
    assert "我的 Steam 充值卡" in shop.get(f"/c/{item['category_id']}").get_data(as_text=True)
    assert "我的 Steam 充值卡" in shop.get("/search?q=steam").get_data(as_text=True)
    assert "我的 Steam 充值卡" not in shop.get("/search?q=nothing-like-this").get_data(as_text=True)
    assert shop.get("/c/99999999").status_code == 404


def test_the_owner_sets_markups_in_the_back_office_and_never_sees_cost(app, make_store, site):
    store = make_store(password="owner-pass-1")
    item = make_product(app, skus=[(1234, 97531)])
    admin = site(f"{store.slug}.{APEX}")
    admin.login_store(f"owner@{store.slug}.example.com", "owner-pass-1")
    page = admin.get("/admin/catalog")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "¥12.34" in html and "975.31" not in html and "97531" not in html

    preview_url = f"/admin/catalog/rules/preview?scope=product&target_id={item['product_id']}"
    preview = admin.get(preview_url + "&kind=percent&value=10&rounding=none").json
    assert preview["ok"] is True and preview["lines"][0]["retail_cents"] == 1357
    assert "cost" not in str(preview)
    bad = admin.get(preview_url + "&kind=fixed&value=-1&rounding=none").json
    assert bad["ok"] is False and bad["lines"][0]["below_wholesale"] is True

    token = admin.csrf_token("/admin/catalog")
    rule = {
        "csrf_token": token,
        "scope": "product",
        "target_id": item["product_id"],
        "kind": "fixed",
        "rounding": "none",
    }
    saved = admin.post("/admin/catalog/rules", data=dict(rule, value="2.5"))
    assert saved.status_code == 302
    assert shown_price(site, store, item["product_id"], "10 元") == "¥14.84"
    refused = admin.post(
        "/admin/catalog/rules", data=dict(rule, value="-20"), follow_redirects=True
    )
    assert item["codes"][0] in refused.get_data(as_text=True)
    assert shown_price(site, store, item["product_id"], "10 元") == "¥14.84"


def test_catalog_csv_import_creates_updates_and_rejects(app, runner, tmp_path):
    code = f"IMP-{uuid.uuid4().hex[:8]}"
    csv_file = tmp_path / "catalog.csv"
    csv_file.write_text(
        "category,product,delivery_type,sku_code,sku_name,face_value_cents,wholesale_cents,cost_cents\n"
        f"游戏点卡/腾讯,Q币 {code},card_key,{code}-10,10 Q币,1000,950,900\n"
        f"游戏点卡/腾讯,Q币 {code},card_key,{code}-30,30 Q币,3000,2850,2700\n"
        f"游戏点卡/腾讯,Q币 {code},card_key,{code}-X,bad,1000,-5,900\n"
        f"游戏点卡/腾讯,Q币 {code},teleport,{code}-Y,bad,1000,5,900\n"
        f"游戏点卡/腾讯,Q币 {code},card_key,{code}-Z,bad,1000,abc,900\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["catalog", "import", str(csv_file)])
    assert result.exit_code == 0, result.output
    assert "created 2, updated 0, rejected 3" in result.output
    assert "line 4" in result.output and "line 5" in result.output and "line 6" in result.output
    csv_file.write_text(
        "category,product,delivery_type,sku_code,sku_name,face_value_cents,wholesale_cents,cost_cents\n"
        f"游戏点卡/腾讯,Q币 {code},card_key,{code}-10,10 Q币,1000,960,900\n",
        encoding="utf-8",
    )
    assert (
        "created 0, updated 1, rejected 0"
        in runner.invoke(args=["catalog", "import", str(csv_file)]).output
    )
    with app.app_context():
        assert (
            db.session.scalar(db.select(Sku.wholesale_cents).where(Sku.code == f"{code}-10")) == 960
        )
    bad_header = tmp_path / "bad.csv"
    bad_header.write_text("a,b\n1,2\n")
    assert runner.invoke(args=["catalog", "import", str(bad_header)]).exit_code != 0
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"category,product\n\xff\xfe\n")
    assert "not UTF-8" in runner.invoke(args=["catalog", "import", str(latin)]).output


def test_keys_cli_imports_with_a_report_and_rotates(app, runner, tmp_path):
    item = make_product(app)
    code = item["codes"][0]
    keys_file = tmp_path / "keys.txt"
    tag = uuid.uuid4().hex[:6]
    keys_file.write_text(f"A{tag}1\nA{tag}2\n\nA{tag}1\n{'x' * 700}\n", encoding="utf-8")
    result = runner.invoke(args=["keys", "import", "--sku", code, str(keys_file)])
    assert result.exit_code == 0, result.output
    assert "added 2, duplicates 1, invalid 1" in result.output
    assert "duplicate lines: 4" in result.output and "line 5" in result.output
    assert runner.invoke(args=["keys", "import", "--sku", "NOPE-x", str(keys_file)]).exit_code != 0
    rotated = runner.invoke(args=["keys", "rotate"])
    assert rotated.exit_code == 0 and "all keys are under k1" in rotated.output


def test_stock_changes_refresh_counts_but_not_every_page(app, make_store, site):
    from app.catalog.cache import versions
    from app.inventory.models import CardKey
    from app.inventory.services import void_key

    store = make_store(password="owner-pass-1")
    item = make_product(app, skus=[(1000, 800)])
    sku_id = item["sku_ids"][0]
    add_keys(app, sku_id, [f"C{uuid.uuid4().hex}" for _ in range(15)])
    admin = site(f"{store.slug}.{APEX}")
    admin.login_store(f"owner@{store.slug}.example.com", "owner-pass-1")
    admin.submit("/admin/settings", {"tagline": "", "announcement": "", "show_stock_counts": "y"})
    shop = site(f"{store.slug}.{APEX}")
    assert "剩余 15 件" in shop.get(f"/p/{item['product_id']}").get_data(as_text=True)
    with app.app_context():
        before = versions(store.id)[0]
        keys = db.session.scalars(db.select(CardKey.id).where(CardKey.sku_id == sku_id)).all()
        void_key(keys[0], "t")  # 14 left: still "in stock"
        assert versions(store.id)[0] == before  # other stores' pages stay cached
    assert "剩余 14 件" in shop.get(f"/p/{item['product_id']}").get_data(as_text=True)
    with app.app_context():
        for key_id in keys[1:6]:
            void_key(key_id, "t")  # 9 left: now "low"
        assert versions(store.id)[0] > before
    assert "库存紧张" in site(f"{make_store().slug}.{APEX}").get(
        f"/p/{item['product_id']}"
    ).get_data(as_text=True)


def test_cached_pages_are_served_gzipped_to_browsers_that_accept_it(app, make_store, site):
    import gzip

    store = make_store(name="Gzip Store")
    shop = site(f"{store.slug}.{APEX}")
    plain = shop.get("/").get_data(as_text=True)
    for _ in range(2):  # rendered, then from the cache
        zipped = shop.get("/", headers={"Accept-Encoding": "gzip, deflate, br"})
        assert zipped.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(zipped.get_data()).decode() == plain
        assert "Accept-Encoding" in zipped.headers["Vary"]
    assert "Gzip Store" in plain


def test_cookieless_cache_hits_bypass_the_application_and_match_it(app, make_store, site):
    from app.storefront.page_cache import CachedPageMiddleware
    from tenants.provisioning import set_status

    store = make_store(name="Fast Path")
    item = make_product(app)
    shop = site(f"{store.slug}.{APEX}")
    first = shop.get(f"/p/{item['product_id']}")  # rendered by the app, now cached
    calls = []
    middleware = app.wsgi_app
    while not isinstance(middleware, CachedPageMiddleware):
        middleware = middleware.wsgi_app
    inner = middleware.wsgi_app

    def counting(environ, start_response):
        calls.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    middleware.wsgi_app = counting
    try:
        again = shop.get(f"/p/{item['product_id']}")
        assert again.get_data() == first.get_data() and calls == []  # served by the cache
        assert again.headers["Content-Security-Policy"] and again.headers["Vary"]
        shop.client.set_cookie("lang_hint", "x", domain=f"{store.slug}.{APEX}")
        shop.get(f"/p/{item['product_id']}")
        assert calls == [f"/p/{item['product_id']}"]  # a cookie: through the application
        with app.app_context():
            set_status(store.slug, "suspended")
        assert shop.get(f"/p/{item['product_id']}").status_code == 503  # never a stale page
    finally:
        middleware.wsgi_app = inner
