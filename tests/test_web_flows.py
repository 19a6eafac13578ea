"""What people do in the browser: open a store, sign in, manage stores; what attackers try."""

import re

import pytest

from tests.conftest import unique_slug

APEX = "kameng.test"


def test_a_visitor_opens_a_store_and_lands_signed_in_on_its_back_office(app, apex, site):
    slug = unique_slug("open")
    opened = apex.submit(
        "/open",
        {
            "slug": slug,
            "name": "我的卡盟",
            "owner_email": f"me@{slug}.example.com",
            "owner_password": "pass-word1",
        },
    )
    assert opened.status_code == 302
    target = opened.headers["Location"]
    assert target.startswith(f"http://{slug}.{APEX}/admin/welcome?token=")

    store = site(f"{slug}.{APEX}")
    landed = store.get(target.split(APEX, 1)[1])
    assert landed.status_code == 302 and landed.headers["Location"] == "/admin/"
    dashboard = store.get("/admin/")
    assert dashboard.status_code == 200
    assert "我的卡盟" in dashboard.get_data(as_text=True)
    assert f"me@{slug}.example.com" in dashboard.get_data(as_text=True)

    # The hand-off token works once only.
    stranger = site(f"{slug}.{APEX}")
    assert stranger.get(target.split(APEX, 1)[1]).status_code == 404
    # And the storefront shows the new store's own name.
    assert "我的卡盟" in site(f"{slug}.{APEX}").get("/").get_data(as_text=True)


def test_the_open_form_explains_what_is_wrong_and_creates_nothing(app, apex, make_store):
    taken = make_store()
    page = apex.submit(
        "/open",
        {
            "slug": taken.slug,
            "name": "x",
            "owner_email": "a@example.com",
            "owner_password": "pass-word1",
        },
    )
    assert page.status_code == 400
    assert "already taken" in page.get_data(as_text=True) or "已被占用" in page.get_data(
        as_text=True
    )

    page = apex.submit(
        "/open",
        {
            "slug": "admin",
            "name": "x",
            "owner_email": "a@example.com",
            "owner_password": "pass-word1",
        },
    )
    assert page.status_code == 400


def test_live_slug_check(apex, make_store):
    taken = make_store()
    assert apex.get(f"/open/check?slug={taken.slug}").json["available"] is False
    assert apex.get("/open/check?slug=www").json["available"] is False
    assert apex.get(f"/open/check?slug={unique_slug('free')}").json["available"] is True


def test_store_staff_sign_in_and_out(make_store, site):
    store = make_store(password="owner-pass-1")
    client = site(f"{store.slug}.{APEX}")
    assert client.get("/admin/").headers["Location"].startswith("/admin/login")
    wrong = client.login_store(f"owner@{store.slug}.example.com", "wrong-pass-1")
    assert wrong.status_code == 401
    ok = client.login_store(f"owner@{store.slug}.example.com", "owner-pass-1")
    assert ok.status_code == 302
    assert client.get("/admin/").status_code == 200
    token = client.csrf_token("/admin/")
    client.post("/admin/logout", data={"csrf_token": token})
    assert client.get("/admin/").status_code == 302


def test_a_session_cookie_from_store_a_is_refused_on_store_b(app, make_store, site):
    store_a = make_store(password="owner-pass-1")
    store_b = make_store(password="owner-pass-1")
    a = site(f"{store_a.slug}.{APEX}")
    a.login_store(f"owner@{store_a.slug}.example.com", "owner-pass-1")
    assert a.get("/admin/").status_code == 200
    stolen = a.cookie("session")
    assert stolen is not None and stolen.domain in (f"{store_a.slug}.{APEX}", None, "")

    b = site(f"{store_b.slug}.{APEX}")
    b.client.set_cookie("session", stolen.value, domain=f"{store_b.slug}.{APEX}")
    page = b.get("/admin/")
    assert page.status_code == 302 and "/admin/login" in page.headers["Location"]


def test_store_owner_cannot_sign_in_on_another_store(make_store, site):
    store_a = make_store(password="owner-pass-1")
    store_b = make_store()
    b = site(f"{store_b.slug}.{APEX}")
    assert b.login_store(f"owner@{store_a.slug}.example.com", "owner-pass-1").status_code == 401


def test_platform_admin_manages_stores_in_the_console(app, apex, platform_admin, site):
    email, password = platform_admin
    assert apex.get("/platform/stores").status_code == 302
    assert apex.login_platform(email, password).status_code == 302

    slug = unique_slug("con")
    created = apex.submit(
        "/platform/stores",
        {
            "slug": slug,
            "name": "Console Store",
            "owner_email": f"o@{slug}.example.com",
            "owner_password": "pass-word1",
        },
    )
    assert created.status_code == 302
    listing = apex.get("/platform/stores").get_data(as_text=True)
    assert slug in listing and "Console Store" in listing

    token = apex.csrf_token("/platform/stores")
    suspended = apex.post(
        f"/platform/stores/{slug}/suspend", data={"csrf_token": token, "reason": "KYC"}
    )
    assert suspended.status_code == 302
    assert site(f"{slug}.{APEX}").get("/").status_code == 503
    apex.post(f"/platform/stores/{slug}/resume", data={"csrf_token": token})
    assert site(f"{slug}.{APEX}").get("/").status_code == 200


def test_a_platform_session_is_not_a_store_session(app, apex, platform_admin, make_store, site):
    email, password = platform_admin
    apex.login_platform(email, password)
    store = make_store()
    store_client = site(f"{store.slug}.{APEX}")
    store_client.client.set_cookie(
        "session", apex.cookie("session").value, domain=f"{store.slug}.{APEX}"
    )
    assert store_client.get("/admin/").status_code == 302


def test_forms_without_a_csrf_token_are_rejected(apex, make_store, site):
    store = make_store(password="owner-pass-1")
    client = site(f"{store.slug}.{APEX}")
    page = client.post(
        "/admin/login",
        data={"email": f"owner@{store.slug}.example.com", "password": "owner-pass-1"},
    )
    assert page.status_code == 400
    assert client.get("/admin/").status_code == 302
    assert apex.post("/open", data={"slug": unique_slug()}).status_code == 400


@pytest.mark.parametrize("target", ["//evil.example/x", "http://evil.example/", "/\\evil.example"])
def test_sign_in_never_redirects_off_site(make_store, site, target):
    store = make_store(password="owner-pass-1")
    client = site(f"{store.slug}.{APEX}")
    token = client.csrf_token("/admin/login")
    page = client.post(
        f"/admin/login?next={target}",
        data={
            "csrf_token": token,
            "email": f"owner@{store.slug}.example.com",
            "password": "owner-pass-1",
        },
    )
    assert page.headers["Location"] == "/admin/"


def test_login_is_rate_limited(backend, make_store):
    from app import create_app
    from tests.support.web import SiteClient

    limited = create_app(
        backend.config(
            RATELIMIT_ENABLED=True,
            LOGIN_RATE_LIMIT="3 per minute",
            RATELIMIT_STORAGE_URI="memory://",
        )
    )
    store = make_store()
    client = SiteClient(limited, f"{store.slug}.{APEX}")
    statuses = [
        client.login_store(f"owner@{store.slug}.example.com", "bad-pass-1").status_code
        for _ in range(5)
    ]
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3] == 429


def test_pages_carry_security_headers(apex, app, monkeypatch):
    page = apex.get("/")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in page.headers  # HSTS_SECONDS=0 by default
    monkeypatch.setitem(app.config, "HSTS_SECONDS", 31536000)
    assert "Strict-Transport-Security" not in apex.get("/").headers  # plain HTTP
    secure = apex.get("/", base_url=f"https://{apex.host}")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_the_language_switch_refuses_off_site_redirects(apex):
    moved = apex.get("/lang/en?next=//evil.example")
    assert moved.headers["Location"] == "/"


def test_theme_assets_are_served_and_traversal_is_refused(make_store, site):
    store = make_store()
    client = site(f"{store.slug}.{APEX}")
    home = client.get("/").get_data(as_text=True)
    css = re.search(r'href="([^"]+base\.css[^"]*)"', home).group(1)
    assert client.get(css).status_code == 200
    assert client.get("/theme/_base/../../app/config.py").status_code == 404
    assert client.get("/theme/nosuch/base.css").status_code == 404


def test_the_owner_edits_settings_and_customers_see_them_escaped(make_store, site):
    store = make_store(password="owner-pass-1")
    other = make_store()
    admin = site(f"{store.slug}.{APEX}")
    admin.login_store(f"owner@{store.slug}.example.com", "owner-pass-1")
    saved = admin.submit(
        "/admin/settings",
        {"tagline": "最低价点卡", "announcement": "<script>alert(1)</script>春节照常发货"},
    )
    assert saved.status_code == 302
    home = site(f"{store.slug}.{APEX}").get("/").get_data(as_text=True)
    assert "最低价点卡" in home
    assert "&lt;script&gt;alert(1)&lt;/script&gt;春节照常发货" in home
    assert "<script>alert(1)" not in home
    assert "最低价点卡" not in site(f"{other.slug}.{APEX}").get("/").get_data(as_text=True)


def test_settings_that_are_too_long_are_refused_and_nothing_changes(make_store, site):
    store = make_store(password="owner-pass-1")
    admin = site(f"{store.slug}.{APEX}")
    admin.login_store(f"owner@{store.slug}.example.com", "owner-pass-1")
    refused = admin.submit("/admin/settings", {"tagline": "x" * 201, "announcement": ""})
    assert refused.status_code == 400
    assert "x" * 201 not in site(f"{store.slug}.{APEX}").get("/").get_data(as_text=True)
