"""Which site a Host header reaches: the host matrix of the foundation issue."""

import pytest

from app.db import utcnow
from app.extensions import db
from tenants.models import TenantDomain
from tenants.resolver import normalize_host, resolver

APEX = "kameng.test"


def add_domain(app, store, host, *, verified=True, primary=False):
    with app.app_context():
        if primary:
            db.session.query(TenantDomain).filter_by(tenant_id=store.id).update(
                {"is_primary": False}
            )
        db.session.add(
            TenantDomain(
                tenant_id=store.id,
                host=host,
                kind="custom",
                verified_at=utcnow() if verified else None,
                is_primary=primary,
            )
        )
        db.session.commit()
        resolver().invalidate()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Shop.Kameng.Test", "shop.kameng.test"),
        ("shop.kameng.test:5000", "shop.kameng.test"),
        ("shop.kameng.test.", "shop.kameng.test"),
        ("SHOP.KAMENG.TEST.:443", "shop.kameng.test"),
        ("商店.example", "xn--czrs0t.example"),
        ("[::1]:80", None),
        ("", None),
        ("bad host", None),
        ("a" * 300, None),
    ],
)
def test_hosts_are_normalised_before_lookup(raw, expected):
    assert normalize_host(raw) == expected


def test_the_apex_is_the_platform(apex):
    page = apex.get("/")
    assert page.status_code == 200
    assert "/open" in page.get_data(as_text=True)


def test_a_store_subdomain_shows_that_store(make_store, site):
    store = make_store(name="Acme Cards")
    page = site(f"{store.slug}.{APEX}").get("/")
    assert page.status_code == 200
    assert "Acme Cards" in page.get_data(as_text=True)


@pytest.mark.parametrize("variant", ["upper", "port", "trailing_dot"])
def test_host_variants_reach_the_same_store(make_store, site, variant):
    store = make_store(name="Variant Store")
    host = f"{store.slug}.{APEX}"
    host = {"upper": host.upper(), "port": host + ":8443", "trailing_dot": host + "."}[variant]
    page = site(host).get("/")
    assert page.status_code == 200
    assert "Variant Store" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "host",
    ["evil.example", "nosuchstore.kameng.test", "a.b.kameng.test", "kameng.test.evil.example"],
)
def test_unknown_hosts_get_a_plain_404_that_reveals_nothing(site, host):
    page = site(host).get("/")
    assert page.status_code == 404
    body = page.get_data(as_text=True)
    assert "Kameng" not in body and "kameng" not in body
    assert site(host).get("/platform/login").status_code == 404
    assert site(host).get("/admin/login").status_code == 404


def test_store_routes_do_not_exist_on_the_apex_and_platform_routes_not_on_stores(
    make_store, site, apex
):
    store = make_store()
    assert apex.get("/admin/login").status_code == 404
    assert site(f"{store.slug}.{APEX}").get("/platform/login").status_code == 404
    assert site(f"{store.slug}.{APEX}").get("/open").status_code == 404


def test_a_verified_custom_domain_serves_its_store(app, make_store, site):
    store = make_store(name="Custom Shop")
    add_domain(app, store, f"shop-{store.slug}.example.com", verified=True, primary=True)
    page = site(f"shop-{store.slug}.example.com").get("/")
    assert page.status_code == 200
    assert "Custom Shop" in page.get_data(as_text=True)
    # The subdomain is no longer primary: it redirects to the custom domain, path kept.
    moved = site(f"{store.slug}.{APEX}").get("/admin/login?x=1")
    assert moved.status_code == 308
    assert moved.headers["Location"] == f"http://shop-{store.slug}.example.com/admin/login?x=1"


def test_a_non_primary_verified_domain_redirects_to_the_primary(app, make_store, site):
    store = make_store()
    add_domain(app, store, f"alias-{store.slug}.example.com", verified=True, primary=False)
    moved = site(f"alias-{store.slug}.example.com").get("/")
    assert moved.status_code == 308
    assert moved.headers["Location"] == f"http://{store.slug}.{APEX}/"


def test_an_unverified_custom_domain_is_unknown(app, make_store, site):
    store = make_store()
    add_domain(app, store, f"pending-{store.slug}.example.com", verified=False)
    assert site(f"pending-{store.slug}.example.com").get("/").status_code == 404


def test_www_of_a_store_host_and_of_the_apex_redirect(make_store, site):
    store = make_store()
    moved = site(f"www.{store.slug}.{APEX}").get("/")
    assert moved.status_code == 308
    assert moved.headers["Location"] == f"http://{store.slug}.{APEX}/"
    moved = site(f"www.{APEX}").get("/open")
    assert moved.headers["Location"] == f"http://{APEX}/open"


def test_an_idna_custom_domain_is_reached_by_its_unicode_and_ascii_forms(app, make_store, site):
    store = make_store(name="IDNA Store")
    ascii_host = normalize_host(f"商店{store.id}.example")
    add_domain(app, store, ascii_host, verified=True, primary=True)
    assert "IDNA Store" in site(ascii_host).get("/").get_data(as_text=True)


def test_forwarded_host_is_ignored_without_a_trusted_proxy(make_store, apex):
    store = make_store(name="Should Not Show")
    page = apex.get("/", headers={"X-Forwarded-Host": f"{store.slug}.{APEX}"})
    assert page.status_code == 200
    assert "Should Not Show" not in page.get_data(as_text=True)


def test_forwarded_host_is_used_behind_a_trusted_proxy(backend, make_store):
    from app import create_app
    from tests.support.web import SiteClient

    store = make_store(name="Behind Proxy")
    proxied = create_app(backend.config(TRUSTED_PROXIES=1))
    page = SiteClient(proxied, "10.0.0.5:8000").get(
        "/", headers={"X-Forwarded-Host": f"{store.slug}.{APEX}"}
    )
    assert "Behind Proxy" in page.get_data(as_text=True)


def test_external_links_use_the_primary_domain_not_the_request_host(app, make_store):
    from app.web.urls import tenant_url

    store = make_store()
    with app.test_request_context("/", base_url="http://evil.example"):
        assert tenant_url(store, "/admin") == f"http://{store.slug}.{APEX}/admin"


def test_a_change_made_by_one_process_reaches_every_process_at_once(backend, app, make_store):
    """Two application instances stand in for two web processes sharing Redis."""
    if not backend.redis_url:
        pytest.skip("one process only in the embedded default")
    import time

    from app import create_app
    from tenants.provisioning import set_status
    from tests.support.web import SiteClient

    store = make_store(name="Two Processes")
    other = create_app(backend.config())
    other_client = SiteClient(other, f"{store.slug}.{APEX}")
    assert other_client.get("/").status_code == 200  # cached in the other process now
    with app.app_context():
        set_status(store.slug, "suspended")
    deadline = time.monotonic() + 2
    while other_client.get("/").status_code != 503:
        assert time.monotonic() < deadline, "the other process still serves a suspended store"
        time.sleep(0.01)
