"""The security suite: what an attacker tries against a store and the platform.

XSS payloads in every store setting, theme setting and product text come out escaped (or
sanitised) on the storefront pages of every theme pack; template-injection payloads stay inert
text; a form posted without its CSRF token gets 400 and changes nothing; open redirects are
refused on every sign-in, sign-up and language switch; orders, tickets and keys of another
customer or another store answer 404 (not 403); unknown hosts get 404 and X-Forwarded-Host is
ignored unless a trusted proxy sends it; the security headers and cookie flags are set; no
template carries inline script, style or event handlers (the CSP forbids them); passwords are
checked; secrets never reach a log line."""

from __future__ import annotations

import json
import logging
import re
import uuid
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import select

from app.audit.services import Actor
from app.catalog import services as catalog
from app.catalog.models import Product
from app.config import PROJECT_ROOT
from app.extensions import db
from app.merchant import services as store_settings
from app.orders.models import Order
from app.privacy import services as privacy
from tenants.context import tenant_context
from tests.support.catalog import add_keys, unique_code
from tests.support.customer_money import PASSWORD as CUSTOMER_PASSWORD
from tests.support.customer_money import customer_email, new_customer, start_topup
from tests.support.money import card_sku, paid_order
from tests.support.staff import add_staff, signed_in
from tests.support.themes import PACKS, premium_allowed, publish_look

APEX = "kameng.test"
OWNER_PASSWORD = "s3cret-pass"

# Markers make each payload findable; none of them may ever run or become markup.
SCRIPT = "<script>alert('kx1')</script>"
ATTRIBUTE = "\"'><img src=x onerror=alert('kx2')>"
LINK = "<a href=\"javascript:alert('kx3')\">kx3</a>"
TEMPLATE = "{{ 7*191 }}{% for z in range(3) %}KZ{% endfor %}"
PAYLOAD = ATTRIBUTE + SCRIPT + LINK + TEMPLATE
SHORT = "<svg onload=alert(1)>{{7*191}}"  # 30 characters, for the shortest fields
TEMPLATE_RESULTS = ("1337", "KZKZKZ")  # what the template payloads would print if evaluated


def fit(limit: int) -> str:
    """The longest payload that fits a field of `limit` characters."""
    for payload in (PAYLOAD, ATTRIBUTE + SCRIPT + TEMPLATE, ATTRIBUTE + TEMPLATE, SHORT):
        if len(payload) <= limit:
            return payload
    return SHORT[:limit]


class MarkupScan(HTMLParser):
    """Collects what an injected payload would have become: inline scripts, event-handler
    attributes, javascript: URLs, inline styles, frames and plugins."""

    URL_ATTRIBUTES = ("href", "src", "action", "formaction", "xlink:href", "data", "poster")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        named = dict(attrs)
        if tag == "script" and not named.get("src"):
            self.problems.append("inline <script>")
        if tag in ("style", "iframe", "object", "embed", "base", "frame", "frameset"):
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            if name == "style":
                self.problems.append(f"<{tag} style=…>")
            if name in self.URL_ATTRIBUTES and value:
                cleaned = re.sub(r"[\x00-\x20]", "", value).lower()
                if cleaned.startswith(("javascript:", "vbscript:", "data:text/html")):
                    self.problems.append(f"<{tag} {name}={value!r}>")

    handle_startendtag = handle_starttag


def markup_problems(html: str) -> list[str]:
    scan = MarkupScan()
    scan.feed(html)
    scan.close()
    return scan.problems


def assert_inert(html: str, where: str) -> None:
    assert markup_problems(html) == [], where
    for result in TEMPLATE_RESULTS:
        assert result not in html, f"{where}: a template payload was evaluated"
    for raw in ("<script>alert(", "<img src=x onerror", "<svg onload", '<a href="javascript:'):
        assert raw not in html, f"{where}: {raw} came out as markup"


# -- XSS and template injection ----------------------------------------------------------------


def hostile_store(app, make_store, monkeypatch, pack: str):
    """A store whose every text setting, theme setting and product text is a payload."""
    from app.pricing.services import save_listing

    store = make_store(name="Hostile")
    with app.app_context(), tenant_context(store):
        store_settings.update_settings(
            store.id,
            tagline=fit(store_settings.MAX_TAGLINE),
            announcement=PAYLOAD,
            show_stock_counts=True,
            profile=store_settings.StoreProfile(
                name=fit(store_settings.MAX_STORE_NAME),
                seo_title=fit(70),
                seo_description=fit(200),
            ),
        )
        # Contacts are checked strictly: a payload is refused, not stored.
        for field in ("support_qq", "support_wechat", "support_telegram", "support_email"):
            with pytest.raises(store_settings.SettingsError):
                store_settings.update_settings(
                    store.id, tagline="", announcement="",
                    profile=store_settings.StoreProfile(**{field: SHORT}),
                )  # fmt: skip
        privacy.update_settings(
            policy_html=PAYLOAD, unpaid_contact_days=30, inactive_customer_months=36,
            actor=Actor("store", 1, "o@x.test"), tenant_id=store.id,
        )  # fmt: skip
        db.session.commit()

    with app.app_context():
        category = catalog.save_category(None, name=fit(60), parent_id=None)
        product = catalog.save_product(
            None, name=fit(120), category_id=category.id, delivery_type="card_key",
            description_md=PAYLOAD + "\n\n[kx4](javascript:alert('kx4')) <b onclick=x>b</b>",
        )  # fmt: skip
        catalog.save_sku(
            None, product_id=product.id, code=unique_code(), name=fit(120),
            face_value_cents=1000, wholesale_cents=1000, cost_cents=900,
        )  # fmt: skip
        product = db.session.get(Product, product.id)
        catalog.set_published(product, True)
        product_id, category_id = product.id, category.id
        sku_id = product.skus[0].id
    add_keys(app, sku_id, [f"XSS-{uuid.uuid4().hex}"])
    with app.app_context(), tenant_context(store):
        save_listing(store, product_id, is_hidden=False, title=fit(120), description=PAYLOAD)
        db.session.commit()

    with premium_allowed(monkeypatch):
        from app.web.themes import themes

        with app.app_context():
            schema = themes()[pack].schema
            values = {
                setting.id: fit(setting.max_length or 5000)
                for setting in schema.settings.values()
                if setting.type in ("text", "richtext")
            }
        values["sections"] = ["banner", "announcement", "search", "categories", "hot",
                              "products", "notice"]  # fmt: skip
        publish_look(app, store, pack, **values)
    return store, product_id, category_id, sku_id


@pytest.mark.parametrize("pack", ("_base", *PACKS))
def test_payloads_in_every_setting_and_product_text_stay_inert_in_every_pack(
    app, make_store, site, monkeypatch, platform_admin, pack
):
    store, product_id, category_id, sku_id = hostile_store(app, make_store, monkeypatch, pack)
    visitor = site(f"{store.slug}.{APEX}")
    pages = {
        "/": 200,
        f"/c/{category_id}": 200,
        f"/p/{product_id}": 200,
        f"/search?q={quote(PAYLOAD)}": 200,
        f"/checkout?sku={sku_id}&quantity=1": 200,
        "/lookup": 200,
        "/privacy": 200,
        "/account/login": 200,
        "/account/register": 200,
        "/no-such-page": 404,
        f"/{quote(SCRIPT)}": 404,
    }
    seen_escaped = 0
    for path, status in pages.items():
        page = visitor.get(path)
        assert page.status_code == status, path
        html = page.get_data(as_text=True)
        assert f"pack-{pack}" in html or status == 404, path
        assert_inert(html, path)
        seen_escaped += "&lt;script&gt;alert(" in html or "&lt;svg onload" in html
    assert seen_escaped >= 5  # the payloads were shown, as text
    home = visitor.get("/").get_data(as_text=True)
    assert "{{ 7*191 }}" in home or "{{7*191}}" in home  # template syntax shown as it was typed

    # Reflected input: the lookup and checkout forms give back what was typed, as text.
    looked_up = visitor.submit("/lookup", {"needle": PAYLOAD, "query_password": "x"})
    assert_inert(looked_up.get_data(as_text=True), "lookup")
    checkout = f"/checkout?sku={sku_id}&quantity=1"
    refused = visitor.submit(checkout, {"contact_email": PAYLOAD, "provider": "sandbox"})
    assert refused.status_code == 400
    assert_inert(refused.get_data(as_text=True), "checkout")

    # A real order: the gateway's page (on the platform) and the order page show the store's
    # name and the product's texts, escaped.
    placed = visitor.submit(
        checkout,
        {"contact_email": "buyer@example.com", "query_password": "lookup-1",
         "provider": "sandbox"},
    )  # fmt: skip
    assert placed.status_code == 302
    gateway = urlsplit(placed.headers["Location"])
    assert gateway.hostname == APEX
    sandbox = site(APEX).get(f"{gateway.path}?{gateway.query}")
    assert sandbox.status_code == 200
    assert_inert(sandbox.get_data(as_text=True), "sandbox gateway page")
    with app.app_context(), tenant_context(store):
        order_no = db.session.scalar(select(Order.order_no).order_by(Order.id.desc()).limit(1))
    with app.test_request_context():
        from app.storefront.access import order_token

        order_page = f"/order/{order_no}?t={order_token(store, order_no)}"
    page = visitor.get(order_page)
    assert page.status_code == 200
    assert_inert(page.get_data(as_text=True), "order page")

    # The back-office shows the same texts escaped too.
    owner = site(f"{store.slug}.{APEX}")
    owner.login_store(f"owner@{store.slug}.example.com", OWNER_PASSWORD)
    for path in ("/admin/", "/admin/settings", "/admin/catalog", "/admin/privacy"):
        page = owner.get(path)
        assert page.status_code == 200, path
        assert_inert(page.get_data(as_text=True), path)
    console = site(APEX)
    console.login_platform(*platform_admin)
    for path in ("/platform/stores", f"/platform/stores/{store.slug}", "/platform/orders"):
        page = console.get(path)
        assert page.status_code == 200, path
        assert_inert(page.get_data(as_text=True), path)


def test_buyer_input_is_escaped_on_the_staff_pages(app, make_store, site):
    """What a buyer types (contact, ticket message) reaches staff as text."""
    from app.tickets import services as tickets
    from app.tickets.services import Note

    store = make_store()
    order_no, _ = paid_order(app, store, card_sku(app))
    with app.app_context(), tenant_context(store):
        order = db.session.scalar(select(Order).where(Order.order_no == order_no))
        order.contact_phone = SHORT
        tickets.open_ticket(
            store, order, fit(200), Note(PAYLOAD), contact=order.contact_email,
            actor=Actor("customer", None, order.contact_email),
        )  # fmt: skip
        ticket_no = tickets.find_open(order_no).ticket_no
        db.session.commit()
    owner = site(f"{store.slug}.{APEX}")
    owner.login_store(f"owner@{store.slug}.example.com", OWNER_PASSWORD)
    for path in (
        "/admin/orders",
        f"/admin/orders/{order_no}",
        "/admin/tickets",
        f"/admin/tickets/{ticket_no}",
        "/admin/audit",
    ):
        page = owner.get(path)
        assert page.status_code == 200, path
        assert_inert(page.get_data(as_text=True), path)


def test_no_template_has_inline_script_style_or_event_handlers():
    """The Content-Security-Policy allows scripts and styles from files only."""
    inline = re.compile(
        r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+\s*=|javascript:", re.I
    )
    found = []
    folders = [PROJECT_ROOT / "app" / "templates", PROJECT_ROOT / "themes"]
    for folder in folders:
        for path in folder.rglob("*.html"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if inline.search(line):
                    found.append(f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()}")
    assert found == []


# -- CSRF ------------------------------------------------------------------------------------------

# Views that take no session and prove themselves otherwise: gateway and Stripe notifications
# (signatures), supplier callbacks (their signature). A new one must be added here on purpose.
CSRF_EXEMPT = {
    "payments.callback",
    "billing.stripe_webhook",
    "suppliers.callback",
    "storefront.unsubscribe",  # RFC 8058 one-click unsubscribe: the signed token is the proof
}
# Blueprints without sessions whose every request is signed: the open API (HMAC per request)
# and the acg-faka-compatible docking endpoints (the key's MD5 signature).
CSRF_EXEMPT_BLUEPRINTS = {"api", "docking"}


def _post_paths(app):
    """(site kind, path) of every route that takes POST, with dummy values for its arguments."""
    paths = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        values = {}
        for name in rule.arguments:
            if name == "site_kind":
                continue
            converter = rule._converters.get(name)
            kind = type(converter).__name__
            if kind == "AnyConverter":  # one of a fixed set of words
                values[name] = sorted(converter.items)[0]
            else:
                values[name] = 1 if kind == "IntegerConverter" else "x1"
        path = rule.rule
        for name, value in values.items():
            path = re.sub(rf"<(?:[^>:]+:)?{name}>", str(value), path)
        kinds = ("platform", "store") if "site_kind" in rule.arguments else (rule.host,)
        for kind in kinds:
            paths.append((kind, path, rule.endpoint))
    return paths


def test_every_form_refuses_a_post_without_its_csrf_token(app, make_store, site, monkeypatch):
    from app.extensions import csrf

    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)  # as in production
    assert app.config.get("WTF_CSRF_CHECK_DEFAULT", True)
    store = make_store()
    hosts = {"platform": APEX, "store": f"{store.slug}.{APEX}"}
    exempt_endpoints = {
        endpoint
        for endpoint, view in app.view_functions.items()
        if f"{view.__module__}.{view.__name__}" in csrf._exempt_views
    }
    assert exempt_endpoints == CSRF_EXEMPT
    assert {bp.name for bp in csrf._exempt_blueprints} == CSRF_EXEMPT_BLUEPRINTS
    owner = signed_in(site, store, add_staff(app, store, "owner"))
    refused = {}
    for kind, path, endpoint in _post_paths(app):
        if endpoint in CSRF_EXEMPT or endpoint.split(".")[0] in CSRF_EXEMPT_BLUEPRINTS:
            continue
        client = owner if kind == "store" else site(hosts[kind])
        answer = client.post(path, data={"name": "changed", "email": "a@b.test"})
        refused[f"{kind} {path}"] = answer.status_code
    wrong = {path: status for path, status in refused.items() if status != 400}
    assert wrong == {}
    assert len(refused) > 60

    # And the change was not made: the settings form, posted whole but without the token.
    page = owner.post("/admin/settings", data={"name": "Hijacked", "tagline": "x"})
    assert page.status_code == 400
    with app.app_context():
        from tenants.models import Tenant

        assert db.session.get(Tenant, store.id).name != "Hijacked"
    # A token from another session (another visitor's page) is no better.
    stranger = site(f"{store.slug}.{APEX}")
    token = stranger.csrf_token("/account/login")
    assert owner.post("/admin/settings", data={"csrf_token": token, "name": "X"}).status_code == 400


# -- open redirects ------------------------------------------------------------------------------

OFF_SITE = (
    "//evil.example",
    "https://evil.example",
    "http://evil.example/admin",
    "/\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/%09/evil.example",
    "///evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "evil.example",
)


def assert_same_site(location: str, host: str) -> None:
    """Where a browser would really go: backslashes read as slashes, tabs and newlines dropped."""
    browser_view = re.sub(r"[\t\r\n]", "", location).replace("\\", "/")
    parts = urlsplit(browser_view)
    assert parts.scheme in ("", "http", "https"), location
    assert parts.netloc in ("", host), location
    assert not browser_view.startswith("//"), location


@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_in_sign_up_and_language_switch_refuse_open_redirects(
    app, make_store, site, platform_admin, target
):
    store = make_store()
    store_host = f"{store.slug}.{APEX}"
    nxt = quote(target, safe="")

    # The language switch, on both kinds of site.
    for host in (APEX, store_host):
        moved = site(host).get(f"/lang/en?next={nxt}")
        assert moved.status_code == 302
        assert_same_site(moved.headers["Location"], host)

    # Store staff, platform staff and customers signing in.
    staff = site(store_host)
    token = staff.csrf_token("/admin/login")
    answer = staff.post(
        f"/admin/login?next={nxt}",
        data={"csrf_token": token, "email": f"owner@{store.slug}.example.com",
              "password": OWNER_PASSWORD},
    )  # fmt: skip
    assert answer.status_code == 302
    assert_same_site(answer.headers["Location"], store_host)

    console = site(APEX)
    email, password = platform_admin
    token = console.csrf_token("/platform/login")
    answer = console.post(
        f"/platform/login?next={nxt}",
        data={"csrf_token": token, "email": email, "password": password},
    )
    assert answer.status_code == 302
    assert_same_site(answer.headers["Location"], APEX)

    customer_id = new_customer(app, store)
    buyer = site(store_host)
    token = buyer.csrf_token("/account/login")
    answer = buyer.post(
        f"/account/login?next={nxt}",
        data={"csrf_token": token, "email": customer_email(app, store, customer_id),
              "password": CUSTOMER_PASSWORD},
    )  # fmt: skip
    assert answer.status_code == 302
    assert_same_site(answer.headers["Location"], store_host)

    newcomer = site(store_host)
    token = newcomer.csrf_token("/account/register")
    address = f"new-{uuid.uuid4().hex[:8]}@example.com"
    answer = newcomer.post(
        f"/account/register?next={nxt}",
        data={"csrf_token": token, "email": address, "password": CUSTOMER_PASSWORD,
              "confirm": CUSTOMER_PASSWORD},
    )  # fmt: skip
    assert answer.status_code == 302
    assert_same_site(answer.headers["Location"], store_host)


def test_a_supplier_sign_in_refuses_open_redirects(app, apex, site):
    from tests.test_supplier_portal import PASSWORD, apply

    email, _ = apply(site(APEX))
    for target in OFF_SITE:
        supplier = site(APEX)
        token = supplier.csrf_token("/supplier/login")
        answer = supplier.post(
            f"/supplier/login?next={quote(target, safe='')}",
            data={"csrf_token": token, "email": email, "password": PASSWORD},
        )
        assert answer.status_code == 302, target
        assert_same_site(answer.headers["Location"], APEX)


def test_a_same_site_next_is_still_followed(make_store, site):
    store = make_store()
    staff = site(f"{store.slug}.{APEX}")
    token = staff.csrf_token("/admin/login")
    answer = staff.post(
        "/admin/login?next=/admin/orders%3Fstatus%3Dpaid",
        data={"csrf_token": token, "email": f"owner@{store.slug}.example.com",
              "password": OWNER_PASSWORD},
    )  # fmt: skip
    assert answer.headers["Location"] == "/admin/orders?status=paid"


# -- another customer's or store's orders, tickets and keys: 404 -------------------------------


def test_orders_tickets_and_keys_of_another_store_or_customer_are_not_found(app, make_store, site):
    from app.storefront.access import order_token
    from app.tickets import services as tickets
    from app.tickets.links import ticket_token
    from app.tickets.services import Note

    store_a, store_b = make_store(), make_store()
    order_no, _ = paid_order(app, store_a, card_sku(app))
    with app.app_context(), tenant_context(store_a):
        order = db.session.scalar(select(Order).where(Order.order_no == order_no))
        ticket = tickets.open_ticket(
            store_a, order, "无效", Note("用不了"), contact=order.contact_email,
            actor=Actor("customer", None, order.contact_email),
        )  # fmt: skip
        db.session.commit()
        ticket_no = ticket.ticket_no
    with app.test_request_context():
        token_a = order_token(store_a, order_no)
        token_b = order_token(store_b, order_no)  # the same number, signed for store B
        ticket_token_a = ticket_token(store_a, ticket_no)
    host_a, host_b = f"{store_a.slug}.{APEX}", f"{store_b.slug}.{APEX}"
    buyer_a = site(host_a)
    page = buyer_a.get(f"/order/{order_no}?t={token_a}")
    assert page.status_code == 200 and "key-list" in page.get_data(as_text=True)

    not_found = {
        # Store A's order on store B's host, with A's link or a link signed for B.
        (host_b, f"/order/{order_no}?t={token_a}"),
        (host_b, f"/order/{order_no}?t={token_b}"),
        (host_b, f"/order/{order_no}/status?t={token_a}"),
        (host_b, f"/order/{order_no}/ticket?t={token_a}"),
        (host_b, f"/ticket/{ticket_no}?t={ticket_token_a}"),
        (host_b, f"/ticket/{ticket_no}/picture/x.webp?t={ticket_token_a}"),
        # On its own store without the link (or with a forged one): nobody else's keys.
        (host_a, f"/order/{order_no}"),
        (host_a, f"/order/{order_no}?t=forged"),
        (host_a, f"/order/{order_no}?t={token_b}"),
        (host_a, f"/order/{order_no}/status"),
        (host_a, f"/ticket/{ticket_no}"),
        (host_a, f"/ticket/{ticket_no}?t={token_a}"),  # an order's token is not a ticket's
    }
    for host, path in sorted(not_found):
        assert site(host).get(path).status_code == 404, (host, path)

    # Store B's staff, even its owner, find nothing of store A's.
    owner_b = signed_in(site, store_b, add_staff(app, store_b, "owner"))
    for path in (
        f"/admin/orders/{order_no}",
        f"/admin/tickets/{ticket_no}",
        f"/admin/tickets/{ticket_no}/picture/x.webp",
        f"/admin/exports/{uuid.uuid4().hex}",
    ):
        assert owner_b.get(path).status_code == 404, path

    # A customer's top-up payment page is theirs alone.
    first, second = new_customer(app, store_a), new_customer(app, store_a)
    topup_no, _ = start_topup(app, store_a, first, 500)
    other = site(host_a)
    other.submit(
        "/account/login",
        {"email": customer_email(app, store_a, second), "password": CUSTOMER_PASSWORD},
    )
    assert other.get(f"/account/balance/topup/{topup_no}").status_code == 404
    assert other.get("/account").status_code == 200  # signed in: it is not a sign-in wall


# -- hosts --------------------------------------------------------------------------------------


def test_unknown_hosts_are_not_found_and_forwarded_hosts_are_ignored(app, make_store, site):
    store_a, store_b = make_store(name="Store A"), make_store(name="Store B")
    for host in ("evil.example", f"{store_a.slug}.{APEX}.evil.example", f"x{APEX}", "localhost"):
        answer = site(host).get("/")
        assert answer.status_code == 404, host
        assert "Store A" not in answer.get_data(as_text=True)
    # Without a trusted proxy, X-Forwarded-Host changes nothing: store A's host shows store A.
    spoofed = site(f"{store_a.slug}.{APEX}").get(
        "/", headers={"X-Forwarded-Host": f"{store_b.slug}.{APEX}"}
    )
    assert spoofed.status_code == 200 and "Store A" in spoofed.get_data(as_text=True)
    assert "Store B" not in spoofed.get_data(as_text=True)
    evil = site(f"{store_a.slug}.{APEX}").get("/", headers={"X-Forwarded-Host": "evil.example"})
    assert evil.status_code == 200 and "evil.example" not in evil.get_data(as_text=True)


def test_links_in_e_mails_use_the_stores_own_host_not_the_requests(app, backend, make_store, site):
    from tests.test_jobs import outbox_messages, wait_for_jobs

    store = make_store()
    customer_id = new_customer(app, store)
    email = customer_email(app, store, customer_id)
    visitor = site(f"{store.slug}.{APEX}")
    token = visitor.csrf_token("/account/reset")
    visitor.post(
        "/account/reset",
        data={"csrf_token": token, "email": email},
        headers={"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"},
    )
    with app.app_context():
        wait_for_jobs(app, backend)
    messages = outbox_messages(app, email)
    assert len(messages) == 1
    assert f"http://{store.slug}.{APEX}/account/reset/" in messages[0]
    assert "evil.example" not in messages[0]


# -- headers and cookies --------------------------------------------------------------------------


DIRECTIVES = (
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
    "base-uri 'self'", "frame-ancestors 'none'",
)  # fmt: skip


def test_security_headers_allow_only_own_assets_and_no_framing(app, make_store, site, apex):
    store = make_store()
    visitor = site(f"{store.slug}.{APEX}")
    for client, path in ((visitor, "/"), (visitor, "/privacy"), (apex, "/"), (apex, "/open")):
        headers = client.get(path).headers
        policy = headers["Content-Security-Policy"]
        for directive in DIRECTIVES:
            assert directive in policy, (path, directive)
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy and "*" not in policy
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    # Page-cache hits (answered before Flask) carry the same headers.
    again = site(f"{store.slug}.{APEX}").get("/")
    assert "frame-ancestors 'none'" in again.headers["Content-Security-Policy"]


def test_only_the_theme_preview_may_be_framed_and_only_by_the_store_itself(app, make_store, site):
    store = make_store()
    owner = site(f"{store.slug}.{APEX}")
    owner.login_store(f"owner@{store.slug}.example.com", OWNER_PASSWORD)
    editor = owner.get("/admin/theme")
    assert "frame-ancestors 'none'" in editor.headers["Content-Security-Policy"]
    turned_on = owner.get("/admin/theme/preview")
    assert "frame-ancestors 'self'" in turned_on.headers["Content-Security-Policy"]
    previewed = owner.get("/")
    assert "frame-ancestors 'self'" in previewed.headers["Content-Security-Policy"]
    assert previewed.headers["X-Frame-Options"] == "SAMEORIGIN"
    # Customers never get a frameable page.
    customer = site(f"{store.slug}.{APEX}").get("/")
    assert "frame-ancestors 'none'" in customer.headers["Content-Security-Policy"]


def test_session_cookies_are_http_only_same_site_and_secure_under_https(
    app, make_store, site, backend, tmp_path, monkeypatch
):
    store = make_store()
    visitor = site(f"{store.slug}.{APEX}")
    visitor.login_store(f"owner@{store.slug}.example.com", OWNER_PASSWORD)
    cookie = visitor.cookie()
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert cookie.domain in (f"{store.slug}.{APEX}", None) or not cookie.domain.startswith(".")

    from app.config import load_config

    keys = {"SECRET_KEY": "k", "DATA_ENCRYPTION_KEYS": "k1:x", "DATA_HMAC_KEY": "h"}

    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    monkeypatch.delenv("PREFERRED_URL_SCHEME", raising=False)
    embedded = load_config(tmp_path, keys)
    assert embedded["SESSION_COOKIE_SECURE"] is False  # the embedded http default still works
    monkeypatch.setenv("PREFERRED_URL_SCHEME", "https")
    production = load_config(tmp_path, keys)
    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["REMEMBER_COOKIE_SECURE"] is True
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "false")  # an explicit choice wins
    assert load_config(tmp_path, keys)["SESSION_COOKIE_SECURE"] is False

    monkeypatch.delenv("SESSION_COOKIE_SECURE")
    monkeypatch.delenv("PREFERRED_URL_SCHEME")
    from app import create_app

    secure_app = create_app(backend.config(PREFERRED_URL_SCHEME="https"))
    with secure_app.test_client() as client:
        client.get("/lang/en", base_url=f"https://{APEX}")
        cookie = client.get_cookie("session", domain=APEX)
        assert cookie is not None and cookie.secure and cookie.http_only


# -- passwords -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "refused"),
    [
        ("short1", True),
        ("12345678", True),
        ("abcdefgh", True),
        ("password1", True),
        ("P@ssw0rd", True),
        ("woaini1314", True),
        ("Qwerty123", True),
        ("alice.w@example.com", True),  # the address itself
        ("alice.w", True),  # the name before the @ (and letters only anyway)
        ("alice.w1", False),
        ("correct-horse-7", False),
    ],
)
def test_the_password_policy(password, refused):
    from app.auth.passwords import password_problem

    assert (password_problem(password, email="alice.w@example.com") is not None) is refused


def test_every_kind_of_account_gets_the_policy(app, make_store, site, apex):
    from app.auth.passwords import password_problem

    store = make_store()
    # A customer signing up.
    visitor = site(f"{store.slug}.{APEX}")
    address = f"pw-{uuid.uuid4().hex[:6]}@example.com"
    signup = visitor.submit(
        "/account/register", {"email": address, "password": "password1", "confirm": "password1"}
    )
    assert signup.status_code == 400 and "密码太常见" in signup.get_data(as_text=True)
    same = visitor.submit(
        "/account/register", {"email": address, "password": address, "confirm": address}
    )
    assert same.status_code == 400 and "不能是您的邮箱" in same.get_data(as_text=True)
    # A store owner opening a store, a staff member changing their password.
    opened = apex.submit(
        "/open",
        {"slug": f"pw{uuid.uuid4().hex[:6]}", "name": "PW", "owner_email": address,
         "owner_password": "qwerty123"},
    )  # fmt: skip
    assert opened.status_code == 400 and "密码太常见" in opened.get_data(as_text=True)
    staff = signed_in(site, store, add_staff(app, store, "admin"))
    changed = staff.submit(
        "/admin/account",
        {"current_password": "staff-pass-1", "new_password": "admin1234",
         "confirm": "admin1234"},
        action="/admin/account/password",
    )  # fmt: skip
    assert changed.status_code == 400 and "密码太常见" in changed.get_data(as_text=True)
    # Platform accounts and suppliers go through the same function.
    from app.platform.services import PlatformAccountError, ensure_platform_admin

    with app.app_context(), pytest.raises(PlatformAccountError):
        ensure_platform_admin(f"root-{uuid.uuid4().hex[:4]}@example.com", "password123")
    from app.supplier_portal import services as portal

    with app.app_context(), pytest.raises(portal.PortalRefused):
        details = portal.Details(
            "优卡供货有限公司", "王五", "13800138000", "Steam 点卡，每月五万张"
        )
        portal.register(f"s-{uuid.uuid4().hex[:4]}@example.com", "abc12345", details)
    assert password_problem("a-fine-pass-9") is None


# -- secrets in logs ------------------------------------------------------------------------------


def test_secrets_never_reach_a_log_line(app, caplog):
    from app.observability.logs import JsonFormatter, RedactionFilter, configured_secrets

    secrets_of_app = configured_secrets(app.config)
    assert app.config["SECRET_KEY"] in secrets_of_app
    assert app.config["DATA_ENCRYPTION_KEYS"].split(":", 1)[1] in secrets_of_app
    redaction = RedactionFilter(secrets_of_app)
    lines = [
        ("signing with %s", (app.config["SECRET_KEY"],)),
        ("key ring %s", (app.config["DATA_ENCRYPTION_KEYS"],)),
        ("POST /login password=hunter2-secret&email=a@b.test", ()),
        ('{"api_key": "sk_live_abcdefgh12345678", "amount": 100}', ()),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", ()),
        ("connecting to postgresql://kameng:db-pass-123@db/kameng", ()),
        ("GET /admin/welcome?token=abcdefghijklmnop HTTP/1.1", ()),
        ("epay notify sign=0123456789abcdef&trade_status=OK", ()),
        ("webhook secret whsec_abcdefghijklmnop", ()),
    ]
    leaked = ("hunter2-secret", "sk_live_abcdefgh12345678", "eyJhbGciOiJIUzI1NiJ9", "db-pass-123",
              "abcdefghijklmnop", "0123456789abcdef", "whsec_abc", app.config["SECRET_KEY"],
              app.config["DATA_ENCRYPTION_KEYS"].split(":", 1)[1])  # fmt: skip
    formatter = JsonFormatter()
    for message, args in lines:
        record = logging.LogRecord("kameng.test", logging.INFO, __file__, 1, message, args, None)
        record.kameng_password = "hunter2-secret"
        assert redaction.filter(record)
        text = formatter.format(record) + logging.Formatter("%(message)s").format(record)
        for secret in leaked:
            assert secret not in text, (message, secret)
        assert "[redacted]" in text
    ordinary = logging.LogRecord("kameng.test", logging.INFO, __file__, 1, "order %s paid",
                                 ("K123",), None)  # fmt: skip
    redaction.filter(ordinary)
    assert json.loads(formatter.format(ordinary))["message"] == "order K123 paid"

    # A traceback carrying a secret is scrubbed too.
    try:
        raise RuntimeError(f"cannot connect with password={app.config['SECRET_KEY']}")
    except RuntimeError:
        import sys

        failed = logging.LogRecord("kameng.test", logging.ERROR, __file__, 1, "boom", (),
                                   sys.exc_info())  # fmt: skip
    redaction.filter(failed)
    assert app.config["SECRET_KEY"] not in json.loads(formatter.format(failed))["exception"]

    # The filter sits on the application's log handlers.
    root = logging.getLogger()
    assert any(isinstance(f, RedactionFilter) for handler in root.handlers for f in handler.filters)


def test_the_sign_in_page_logs_no_password(app, make_store, site, caplog):
    store = make_store()
    caplog.set_level(logging.DEBUG)
    site(f"{store.slug}.{APEX}").login_store(f"owner@{store.slug}.example.com", "wrong-pass-99")
    assert "wrong-pass-99" not in caplog.text and OWNER_PASSWORD not in caplog.text


def test_the_log_configuration_reaches_handlers_added_before_create_app(backend):
    """LOG_FORMAT=json replaces the handlers; each gets the redaction filter."""
    from app import create_app
    from app.observability.logs import RedactionFilter

    root = logging.getLogger()
    saved = root.handlers[:]
    try:
        create_app(backend.config(LOG_FORMAT="json"))
        assert root.handlers and all(
            any(isinstance(f, RedactionFilter) for f in h.filters) for h in root.handlers
        )
    finally:
        root.handlers = saved
