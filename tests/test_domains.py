"""Custom domains: added with checks, verified by a real DNS TXT record, only then served;
primary choice, removal, the TLS ask endpoint, and no store touches another's domains."""

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.billing import services as billing
from app.db import utcnow
from app.extensions import db
from tenants.models import TenantDomain
from tests.support.dns_server import TxtServer

APEX = "kameng.test"
OWNER_PASSWORD = "owner-pass-1"


@pytest.fixture
def dns_server(app):
    server = TxtServer().start()
    saved = app.config.get("DNS_NAMESERVERS"), app.config.get("DNS_TIMEOUT_SECONDS")
    app.config["DNS_NAMESERVERS"] = server.address
    app.config["DNS_TIMEOUT_SECONDS"] = 2.0
    yield server
    app.config["DNS_NAMESERVERS"], app.config["DNS_TIMEOUT_SECONDS"] = saved
    server.stop()


def owner_of(app, make_store, site, plan="pro"):
    store = make_store(password=OWNER_PASSWORD)
    if plan != "free":
        with app.app_context():
            billing.assign_plan(store.id, plan, actor="test")
    admin = site(f"{store.slug}.{APEX}")
    assert admin.login_store(f"owner@{store.slug}.example.com", OWNER_PASSWORD).status_code == 302
    return store, admin


def new_host() -> str:
    return f"shop-{uuid.uuid4().hex[:8]}.example.com"


def domain_row(app, host) -> TenantDomain | None:
    with app.app_context():
        row = db.session.scalar(select(TenantDomain).where(TenantDomain.host == host))
        db.session.expunge_all()
        return row


def add(admin, host):
    return admin.submit("/admin/domains", {"host": host}, action="/admin/domains")


def txt_of(admin, host) -> tuple[str, str]:
    page = admin.get("/admin/domains").get_data(as_text=True)
    row = re.search(rf'<tr id="domain-\d+" data-host="{re.escape(host)}".*?</tr>', page, re.S)
    assert row is not None, page[:3000]
    name = re.search(r'<code class="txt-name">([^<]+)</code>', row.group(0)).group(1)
    value = re.search(r'<code class="txt-value">([^<]+)</code>', row.group(0)).group(1)
    return name, value


def test_a_domain_serves_the_store_only_after_its_txt_record_is_found(
    app, make_store, site, apex, dns_server
):
    store, admin = owner_of(app, make_store, site)
    host = new_host()
    assert add(admin, host).status_code == 303
    row = domain_row(app, host)
    assert row.tenant_id == store.id and row.verified_at is None and not row.is_primary
    name, value = txt_of(admin, host)
    assert name == f"_kameng.{host}" and value == f"kameng-verify={row.verification_token}"

    # Unverified: never served, whatever the Host header looks like; no certificate either.
    for header in (host, host.upper(), f"{host}.", f"{host}:443", f"www.{host}"):
        assert site(header).get("/").status_code == 404, header
    assert apex.get(f"/internal/tls-ask?domain={host}").status_code == 404

    # A wrong record, then none: still unverified, the reason is kept.
    dns_server.records[name] = ["kameng-verify=not-the-token"]
    admin.submit("/admin/domains", {}, action=f"/admin/domains/{row.id}/verify")
    after = domain_row(app, host)
    assert after.verified_at is None and after.check_error and after.checked_at is not None
    assert site(host).get("/").status_code == 404

    dns_server.records[name] = ["v=spf1 -all", value]
    assert (
        admin.submit("/admin/domains", {}, action=f"/admin/domains/{row.id}/verify").status_code
        == 303
    )
    assert name in dns_server.queries
    assert domain_row(app, host).verified_at is not None

    # Verified, not primary: the domain redirects to the store's primary host.
    answer = site(host).get("/")
    assert answer.status_code in (301, 302, 308)
    assert f"{store.slug}.{APEX}" in answer.headers["Location"]
    assert apex.get(f"/internal/tls-ask?domain={host}").status_code == 200
    assert apex.get(f"/internal/tls-ask?domain=www.{host}").status_code == 200

    # Made primary: the store is served on it, the subdomain redirects to it.
    made = admin.submit("/admin/domains", {}, action=f"/admin/domains/{row.id}/primary")
    assert made.status_code == 303 and made.headers["Location"].startswith(f"http://{host}")
    served = site(host).get("/")
    assert served.status_code == 200 and store.name in served.get_data(as_text=True)
    moved = site(f"{store.slug}.{APEX}").get("/")
    assert moved.status_code in (301, 302, 308) and host in moved.headers["Location"]

    # Removed (from the new primary host): the subdomain is primary again, the domain is gone.
    on_domain = site(host)
    on_domain.login_store(f"owner@{store.slug}.example.com", OWNER_PASSWORD)
    removed = on_domain.submit("/admin/domains", {}, action=f"/admin/domains/{row.id}/remove")
    assert removed.status_code == 303
    assert domain_row(app, host) is None
    assert site(host).get("/").status_code == 404
    assert site(f"{store.slug}.{APEX}").get("/").status_code == 200
    assert apex.get(f"/internal/tls-ask?domain={host}").status_code == 404


def test_unusable_domains_are_refused_and_nothing_is_added(app, make_store, site):
    store, admin = owner_of(app, make_store, site)
    for bad in (
        APEX, f"www.{APEX}", f"other.{APEX}", "10.0.0.1", "localhost", "bad host.com",
        "http://", "-x-.example..com", "a" * 64 + ".example.com",
    ):  # fmt: skip
        refused = add(admin, bad)
        assert refused.status_code == 400, bad
        assert 'id="host-error"' in refused.get_data(as_text=True)
    with app.app_context():
        hosts = db.session.scalars(
            select(TenantDomain.host).where(TenantDomain.tenant_id == store.id)
        ).all()
    assert hosts == [f"{store.slug}.{APEX}"]
    # A URL pasted whole is reduced to its host name.
    host = new_host()
    add(admin, f"https://{host.upper()}/path")
    assert domain_row(app, host) is not None
    add(admin, host)  # twice: one row
    with app.app_context():
        assert (
            len(db.session.scalars(select(TenantDomain).where(TenantDomain.host == host)).all())
            == 1
        )


def test_without_the_plan_a_store_cannot_add_or_verify_domains(app, make_store, site):
    store, admin = owner_of(app, make_store, site, plan="free")
    page = admin.get("/admin/domains")
    assert page.status_code == 200 and 'id="domains-upgrade"' in page.get_data(as_text=True)
    host = new_host()
    token = admin.csrf_token("/admin/domains")
    assert admin.post("/admin/domains", data={"host": host, "csrf_token": token}).status_code == 403
    assert domain_row(app, host) is None


def test_stores_cannot_touch_or_take_each_others_domains(app, make_store, site, apex, dns_server):
    store_a, admin_a = owner_of(app, make_store, site)
    store_b, admin_b = owner_of(app, make_store, site)
    host = new_host()
    add(admin_a, host)
    row = domain_row(app, host)
    # B cannot add the same host, nor act on A's domain by id.
    add(admin_b, host)
    assert domain_row(app, host).tenant_id == store_a.id
    for action in ("verify", "primary", "remove"):
        answer = admin_b.submit("/admin/domains", {}, action=f"/admin/domains/{row.id}/{action}")
        assert answer.status_code == 404, action
    assert domain_row(app, host) is not None
    # An unverified claim older than a week no longer blocks the owner of a domain.
    stale = new_host()
    add(admin_a, stale)
    with app.app_context():
        db.session.execute(
            update(TenantDomain)
            .where(TenantDomain.host == stale)
            .values(created_at=utcnow() - timedelta(days=8))
        )
        db.session.commit()
    add(admin_b, stale)
    assert domain_row(app, stale).tenant_id == store_b.id
    # B publishing A's token in DNS does not help B: the domain is verified for A only.
    name, value = txt_of(admin_a, host)
    dns_server.records[name] = [value]
    admin_a.submit("/admin/domains", {}, action=f"/admin/domains/{row.id}/verify")
    admin_a.submit("/admin/domains", {}, action=f"/admin/domains/{row.id}/primary")
    served = site(host).get("/").get_data(as_text=True)
    assert store_a.slug in served or store_a.name in served
    # B's staff session is refused on A's host.
    assert site(host).get("/admin/").status_code in (302, 303)


def test_the_tls_ask_endpoint_answers_only_for_hosts_we_serve(app, make_store, apex, site):
    store = make_store()
    assert apex.get(f"/internal/tls-ask?domain={store.slug}.{APEX}").status_code == 200
    assert apex.get(f"/internal/tls-ask?domain={store.slug.upper()}.{APEX}.").status_code == 200
    for unknown in ("", "nosuch.example.com", f"nosuch.{APEX}", "..", "[::1]"):
        assert apex.get(f"/internal/tls-ask?domain={unknown}").status_code == 404, unknown
    # Only on the apex: a store host has no such route.
    assert (
        site(f"{store.slug}.{APEX}")
        .get(f"/internal/tls-ask?domain={store.slug}.{APEX}")
        .status_code
        == 404
    )


def test_an_unanswering_name_server_leaves_the_domain_unverified(app, make_store, site, dns_server):
    store, admin = owner_of(app, make_store, site)
    host = new_host()
    add(admin, host)
    row = domain_row(app, host)
    dns_server.stop()
    app.config["DNS_TIMEOUT_SECONDS"] = 0.5
    admin.submit("/admin/domains", {}, action=f"/admin/domains/{row.id}/verify")
    after = domain_row(app, host)
    assert after.verified_at is None and after.check_error


@pytest.mark.postgres
def test_concurrent_domain_changes_keep_one_primary_and_one_owner(app, make_store, site):
    """Two "make primary" clicks at once leave exactly one primary; two stores adding the same
    host at once leave exactly one owner, and the other store a clear refusal."""
    import threading

    from app.audit.services import Actor
    from app.domains import services
    from tenants.context import tenant_context
    from tenants.resolver import tenant_by_id

    store, _ = owner_of(app, make_store, site)
    rival, _ = owner_of(app, make_store, site)
    hosts = [new_host(), new_host()]
    with app.app_context():
        for host in hosts:
            db.session.add(
                TenantDomain(
                    tenant_id=store.id, host=host, kind="custom", verification_token="t" * 32,
                    verified_at=utcnow(), is_primary=False,
                )
            )  # fmt: skip
        db.session.commit()
        ids = [domain_row(app, h).id for h in hosts]
    actor = Actor("store", 1, "owner@example.com")
    barrier, errors = threading.Barrier(2), []

    def make_primary(domain_id):
        with app.app_context():
            ref = tenant_by_id(store.id)
            with tenant_context(ref):
                domain = services.store_domain(store.id, domain_id)
                barrier.wait()
                try:
                    services.make_primary(store.id, domain, actor=actor)
                except Exception as error:  # noqa: BLE001  (any failure fails the test)
                    errors.append(error)
                finally:
                    db.session.remove()

    threads = [threading.Thread(target=make_primary, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with app.app_context():
        primaries = db.session.scalars(
            select(TenantDomain.host).where(
                TenantDomain.tenant_id == store.id, TenantDomain.is_primary
            )
        ).all()
    assert len(primaries) == 1 and primaries[0] in hosts

    contested, outcomes = new_host(), []
    barrier = threading.Barrier(2)

    def add(tenant_id):
        with app.app_context(), tenant_context(tenant_by_id(tenant_id)):
            barrier.wait()
            try:
                services.add_domain(tenant_id, contested, actor=actor)
                outcomes.append(("added", tenant_id))
            except services.DomainError:
                outcomes.append(("refused", tenant_id))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=add, args=(t,)) for t in (store.id, rival.id)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(kind for kind, _ in outcomes) == ["added", "refused"]
    winner = next(tenant for kind, tenant in outcomes if kind == "added")
    with app.app_context():
        rows = db.session.scalars(select(TenantDomain).where(TenantDomain.host == contested)).all()
    assert [r.tenant_id for r in rows] == [winner]
